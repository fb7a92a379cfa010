/* test_echo_load.c - many concurrent clients, every echoed byte verified,
 * and the work spread over all workers. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(echo_load, .init = mx_init, .fini = mx_fini, .timeout = 150);

#define WORKERS 4
#define CLIENTS 1000

static const char config[] =
    "[server]\n"
    "workers = 4\n"
    "listen_backlog = 4096\n"
    "shutdown_timeout = 5s\n"
    "[listener echo]\n"
    "listen = 127.0.0.1:0\n"
    "protocol = echo\n"
    "mode = raw\n"
    "[limits]\n"
    "max_connections = 100000\n"
    "[log]\n"
    "level = info\n";

/* N from "worker wK stopped: served N connections", or -1. */
static long served_by(const char *log, int worker)
{
    char needle[64];
    snprintf(needle, sizeof needle, "worker w%d stopped: served ", worker);
    const char *hit = strstr(log, needle);
    if (!hit)
        return -1;
    return strtol(hit + strlen(needle), NULL, 10);
}

Test(echo_load, thousand_clients_hundred_messages_each)
{
    struct mx_daemon *d = mx_boot(config);
    struct mx_load_opts o = {
        .port = mx_port(d, "echo"), .clients = CLIENTS, .messages = 100,
        .min_msg = 64, .max_msg = 512, .pipeline = 4, .threads = 2,
        .timeout_ms = 90000, .seed_base = 1000,
    };
    struct mx_load_result r;
    int rc = mx_load_run_logged(&o, &r);
    MX_REQUIRE(rc == 0, "not every client got its echo back: %s", r.first_error);

    mx_stop_ok(d, 15000);
    char *log = daemon_log(d);
    long sum = 0;
    char spread[256] = "";
    for (int w = 0; w < WORKERS; w++) {
        long n = served_by(log, w);
        snprintf(spread + strlen(spread), sizeof spread - strlen(spread), " w%d=%ld", w, n);
        MX_REQUIRE(n > 0, "worker w%d served %ld connections (log line missing "
                   "or zero)", w, n);
        sum += n;
    }
    cr_log_info("connections per worker:%s (sum %ld)", spread, sum);
    MX_REQUIRE(served_by(log, WORKERS) == -1, "a fifth worker reported in");
    MX_REQUIRE(sum >= CLIENTS, "workers served %ld connections in all, "
               "expected at least %d", sum, CLIENTS);
    MX_REQUIRE(strstr(log, "acceptor stopped: accepted=") != NULL);
    MX_REQUIRE(strstr(log, "muxd stopped") != NULL);
    free(log);
}
