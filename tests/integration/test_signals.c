/* test_signals.c - every signal an operator or a tool may send has the
 * meaning docs/operations.md#signals gives it: HUP reloads, USR1 logs a
 * stats line, USR2 is logged and ignored, PIPE is ignored (the daemon
 * keeps serving after each, shown by an echo round trip), and INT, TERM
 * and QUIT stop gracefully with exit status 0. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(signals, .init = mx_init, .fini = mx_fini, .timeout = 60);

#define CONF "[server]\nworkers = 2\n[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n" \
             "mode = raw\n"
#define T 5000

/* fd is an open client: it must still get its echo, and a new client
 * must be served too (the daemon neither died nor stopped accepting). */
static void still_serving(struct mx_daemon *d, int port, int fd)
{
    MX_REQUIRE(daemon_alive(d), "muxd died");
    MX_REQUIRE(mx_echo_roundtrip(fd, "ping\n", 5, T) == 0, "old connection not served");
    int fd2 = mx_connect(port);
    MX_REQUIRE(fd2 >= 0, "new connection refused");
    MX_REQUIRE(mx_echo_roundtrip(fd2, "pong\n", 5, T) == 0, "new connection not served");
    close(fd2);
}

/* Sends sig and requires its log line after what the log held before. */
static void send_and_see(struct mx_daemon *d, int sig, const char *needle)
{
    size_t from = daemon_log_len(d);
    MX_REQUIRE(daemon_signal(d, sig) == 0);
    MX_REQUIRE(daemon_wait_log_from(d, from, needle, T), "no '%s' after signal %d", needle, sig);
}

static void survives(int sig, const char *needle)
{
    struct mx_daemon *d = mx_boot(CONF);
    int port = mx_port(d, "echo");
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0);
    send_and_see(d, sig, needle);
    still_serving(d, port, fd);
    /* Twice: a one-shot disposition (SA_RESETHAND) would kill the second. */
    send_and_see(d, sig, needle);
    still_serving(d, port, fd);
    close(fd);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

Test(signals, sighup_reloads)
{
    survives(SIGHUP, "(Hangup): reloading");
}

Test(signals, sigusr1_logs_stats)
{
    survives(SIGUSR1, "stats: connections=");
}

Test(signals, sigusr1_counts_connections_workers_and_rss)
{
    struct mx_daemon *d = mx_boot(CONF);
    send_and_see(d, SIGUSR1, "stats: connections=0 workers=2 per_worker=[0:0 1:0] rss_kb=");
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0);
    /* Once it echoed, a worker has counted it. */
    MX_REQUIRE(mx_echo_roundtrip(fd, "x", 1, T) == 0);
    send_and_see(d, SIGUSR1, "stats: connections=1 workers=2 per_worker=[");
    MX_REQUIRE(daemon_log_count(d, "rss_kb=-1") == 0, "RSS not read");
    close(fd);
    mx_stop_ok(d, 10000);
}

Test(signals, sigusr2_is_ignored)
{
    survives(SIGUSR2, "ignored (muxd gives it no meaning)");
}

Test(signals, sigpipe_is_ignored)
{
    struct mx_daemon *d = mx_boot(CONF);
    int port = mx_port(d, "echo");
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0);
    MX_REQUIRE(daemon_signal(d, SIGPIPE) == 0);
    mx_sleep_ms(200);
    still_serving(d, port, fd);
    close(fd);
    mx_stop_ok(d, 10000);
}

/* sig stops the daemon gracefully: its log line, the goodbye, exit 0. */
static void stops(int sig, const char *name)
{
    struct mx_daemon *d = mx_boot(CONF);
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0);
    char needle[64];
    snprintf(needle, sizeof needle, "(%s): stopping", name);
    send_and_see(d, sig, needle);
    MX_REQUIRE(mx_wait_closed(fd, T, NULL) == MX_EOF, "client not closed cleanly");
    close(fd);
    int st = daemon_wait_exit(d, 10000);
    MX_REQUIRE(st != -1, "still running 10 s after signal %d", sig);
    MX_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x after signal %d", st, sig);
    MX_REQUIRE(daemon_log_count(d, "muxd stopped") == 1, "no 'muxd stopped'");
    mx_require_clean_log(d);
}

Test(signals, sigterm_stops)
{
    stops(SIGTERM, "Terminated");
}

Test(signals, sigint_stops)
{
    stops(SIGINT, "Interrupt");
}

Test(signals, sigquit_stops)
{
    stops(SIGQUIT, "Quit");
}
