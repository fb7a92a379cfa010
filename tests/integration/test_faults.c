/* test_faults.c - injected faults (MUXD_FAULTS, src/io/fault.h), each on
 * every backend it applies to: while a site fails (up to a cap) the
 * clients it hits get a clear end (a close, a log line) or a retry, and
 * once the cap is spent every client of a fresh load is served byte for
 * byte; the faults are counted on /metrics, the daemon never spins while
 * idle, and it stops cleanly (the sanitizer builds check for leaks). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(faults, .init = mx_init, .fini = mx_fini, .timeout = 180);

static const char *backend(void)
{
    const char *b = getenv("MUXD_TEST_BACKEND");
    return b ? b : "epoll";
}

/* Boots a daemon with MUXD_FAULTS=spec (and extra config), spends the
 * faults (capped at cap) under echo load while every client not hit
 * finishes, then requires a clean load. lossless: no client may fail even
 * while faults land (the site only slows I/O down). */
static struct mx_daemon *run_site(const char *spec, const char *site, long cap, bool lossless,
                                  const char *extra)
{
    char conf[1024];
    snprintf(conf, sizeof conf, "[server]\nworkers = 2\n%s"
             "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n"
             "[admin]\nlisten = 127.0.0.1:0\n", extra);
    MX_REQUIRE(setenv("MUXD_FAULTS", spec, 1) == 0);
    struct mx_daemon *d = mx_boot(conf);
    unsetenv("MUXD_FAULTS");
    int port = mx_port(d, "echo"), admin = mx_port(d, "admin");
    struct mx_load_opts o = { .port = port, .clients = 100, .messages = 20, .min_msg = 1,
                              .max_msg = 8192, .pipeline = 2, .threads = 2,
                              .timeout_ms = 30000, .seed_base = 11 };
    struct mx_load_result r;
    long hits = 0;
    for (int round = 0; round < 40 && (cap == 0 ? round < 3 : hits < cap); round++) {
        o.seed_base += 1000;
        int rc = mx_load_run(&o, &r);
        MX_REQUIRE(!lossless || rc == 0, "%s: %d clients failed while only slowed: %s", spec,
                   r.failed, r.first_error);
        MX_REQUIRE(r.unfinished == 0, "%s: %d clients hung", spec, r.unfinished);
        hits = mx_metric_sum(admin, "muxd_faults_injected_total");
    }
    MX_REQUIRE(hits > 0, "%s: no fault was injected", spec);
    MX_REQUIRE(cap == 0 || hits == cap, "%s: %ld faults, cap %ld", spec, hits, cap);
    fprintf(stderr, "faults: %s on %s: %ld injected\n", site, backend(), hits);
    if (cap) {
        /* Spent: everyone is served again. */
        o.seed_base += 1000;
        MX_REQUIRE(mx_load_run(&o, &r) == 0, "%s: after the faults: %s", spec, r.first_error);
    }
    /* Nothing spins: idle means idle. */
    long t0 = mx_cpu_ticks(d->pid);
    mx_sleep_ms(1000);
    long idle = mx_cpu_ticks(d->pid) - t0;
    MX_REQUIRE(idle <= 5, "%s: %ld CPU ticks in an idle second", spec, idle);
    return d;
}

Test(faults, allocation_failures)
{
    struct mx_daemon *d = run_site("alloc=0.02:30", "alloc", 30, false, "");
    MX_REQUIRE(daemon_wait_log(d, "out of memory", 1000), "no log line names the failure");
    mx_stop_ok(d, 10000);
}

Test(faults, descriptor_ceiling_on_accept)
{
    struct mx_daemon *d = run_site("emfile=0.05:20", "emfile", 20, false, "");
    MX_REQUIRE(daemon_wait_log(d, "Too many open files", 1000));
    MX_REQUIRE(mx_metric_sum(mx_port(d, "admin"), "muxd_connections_rejected_total") > 0);
    mx_stop_ok(d, 10000);
}

Test(faults, resets_with_output_queued)
{
    struct mx_daemon *d = run_site("reset=0.01:25", "reset", 25, false, "");
    mx_stop_ok(d, 10000);
}

Test(faults, offload_pool_saturated)
{
    /* The work service refuses, with its reply, what the pool will not
     * take; echo has no offload, so this drives the work listener. */
    MX_REQUIRE(setenv("MUXD_FAULTS", "offload=0.5:20", 1) == 0);
    struct mx_daemon *d = mx_boot("[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                                  "[admin]\nlisten = 127.0.0.1:0\n");
    unsetenv("MUXD_FAULTS");
    int fd = mx_connect(mx_port(d, "work"));
    char line[128];
    int busy = 0, done = 0;
    for (int i = 0; i < 100; i++) {
        MX_REQUIRE(mx_send_all(fd, "SLEEP 1\n", 8) == 0);
        size_t n = 0;
        while (n < sizeof line - 1 && mx_recv_exact(fd, line + n, 1, 5000) == 1 &&
               line[n] != '\n')
            n++;
        line[n] = '\0';
        busy += strcmp(line, "ERR busy") == 0;
        done += strncmp(line, "DONE", 4) == 0;
    }
    close(fd);
    fprintf(stderr, "faults: offload: %d refused, %d done\n", busy, done);
    MX_REQUIRE(busy == 20 && done == 80, "%d refused, %d done (want 20 and 80)", busy, done);
    MX_REQUIRE(mx_metric_sum(mx_port(d, "admin"), "muxd_offload_rejected_total") == 20);
    mx_stop_ok(d, 10000);
}

Test(faults, short_reads_and_writes)
{
    if (strcmp(backend(), "io_uring") == 0)
        cr_skip_test("short_io is a readiness backends' site");
    struct mx_daemon *d = run_site("short_io=0.3", "short_io", 0, true, "");
    mx_stop_ok(d, 10000);
}

Test(faults, receive_buffers_run_dry)
{
    if (strcmp(backend(), "io_uring") != 0)
        cr_skip_test("an io_uring site");
    struct mx_daemon *d = run_site("enobufs=0.5", "enobufs", 0, true,
                                   "uring_buffers = 8\n");
    MX_REQUIRE(mx_metric_sum(mx_port(d, "admin"), "muxd_uring_enobufs_total") > 0,
               "the ring never ran dry");
    mx_stop_ok(d, 10000);
}

Test(faults, a_tiny_completion_queue)
{
    if (strcmp(backend(), "io_uring") != 0)
        cr_skip_test("an io_uring site");
    struct mx_daemon *d = run_site("cq_tiny=1", "cq_tiny", 0, true, "");
    MX_REQUIRE(mx_metric_sum(mx_port(d, "admin"), "muxd_uring_cq_overflow_turns_total") > 0,
               "the completion queue never overflowed");
    mx_stop_ok(d, 10000);
}

Test(faults, file_table_refuses_sockets)
{
    const char *keys = getenv("MUXD_TEST_SERVER_KEYS");
    if (strcmp(backend(), "io_uring") != 0)
        cr_skip_test("an io_uring site");
    if (keys && strstr(keys, "uring_fixed_files = off"))
        cr_skip_test("fixed files forced off");
    /* Each refused socket's first receive is cancelled and armed again by
     * its descriptor; every client is served, none lost. */
    struct mx_daemon *d = run_site("file_in=0.5", "file_in", 0, true, "");
    MX_REQUIRE(daemon_log_count(d, "; fixed files on") == 1);
    mx_stop_ok(d, 10000);
}
