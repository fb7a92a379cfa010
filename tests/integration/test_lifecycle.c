/* test_lifecycle.c - graceful stop (no queued byte lost), the shutdown
 * timeout, the second SIGTERM, SIGINT, and the thread layout. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(lifecycle, .init = mx_init, .fini = mx_fini, .timeout = 90);

#define LISTENER "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n"

/* true if the last non-empty log line contains needle. */
static bool last_line_has(struct mx_daemon *d, const char *needle)
{
    char *log = daemon_log(d);
    size_t len = strlen(log);
    while (len > 0 && log[len - 1] == '\n')
        log[--len] = '\0';
    char *last = strrchr(log, '\n');
    bool ok = strstr(last ? last + 1 : log, needle) != NULL;
    free(log);
    return ok;
}

/* A peer that never reads and has echo output queued in the daemon: a
 * tiny receive window, and writes until the daemon stops reading. */
static int stuck_client(int port)
{
    int fd = mx_connect_bufs(port, 4096, 0);
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    uint64_t sent = 0;
    int err = mx_flood(fd, 16u << 20, 500, &sent);
    MX_REQUIRE(err == 0 && sent > 256 * 1024, "flood: %llu bytes, error %s",
               (unsigned long long)sent, strerror(err));
    return fd;
}

Test(lifecycle, sigterm_flushes_every_queued_byte)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\nshutdown_timeout = 30s\n" LISTENER
        "[limits]\noutput_high_water = 8m\noutput_low_water = 1m\noutput_max = 16m\n");
    int port = mx_port(d, "echo");
    enum { SIZE = 4 << 20 };
    /* A small window keeps most of the echo in the daemon's queue. */
    int fd = mx_connect_bufs(port, 65536, 0);
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    MX_REQUIRE(mx_send_pattern(fd, 9, SIZE, NULL) == 0, "send 4 MB");
    MX_REQUIRE(mx_wait_peer_consumed(fd, 10000), "daemon did not read all 4 MB "
               "within 10 s");
    mx_sleep_ms(500);

    MX_REQUIRE(daemon_signal(d, SIGTERM) == 0);
    MX_REQUIRE(mx_wait_not_accepting(port, 5000), "new connections still served "
               "5 s after SIGTERM");
    char err[160];
    MX_REQUIRE(mx_recv_pattern(fd, 9, SIZE, 20000, err, sizeof err) == 0,
               "echo after SIGTERM: %s", err);
    size_t extra = 0;
    MX_REQUIRE(mx_wait_closed(fd, 10000, &extra) == MX_EOF, "no clean EOF after the echo");
    MX_REQUIRE(extra == 0, "%zu bytes more than sent", extra);
    close(fd);
    int st = daemon_wait_exit(d, 10000);
    MX_REQUIRE(st != -1, "muxd still running 10 s after its last peer was flushed");
    MX_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    mx_require_clean_log(d);
    MX_REQUIRE(last_line_has(d, "muxd stopped"), "last log line is not 'muxd stopped'");
    MX_REQUIRE(mx_connect(port) == -ECONNREFUSED, "port still open after exit");
}

Test(lifecycle, shutdown_timeout_bounds_a_stuck_peer)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\nshutdown_timeout = 1s\n" LISTENER);
    int fd = stuck_client(mx_port(d, "echo"));
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(daemon_signal(d, SIGTERM) == 0);
    int st = daemon_wait_exit(d, 10000);
    cr_log_info("exit %lld ms after SIGTERM with a stuck peer", (long long)(mx_now_ms() - t0));
    MX_REQUIRE(st != -1, "muxd still running 10 s after SIGTERM (shutdown_timeout 1s)");
    MX_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    mx_require_clean_log(d);
    MX_REQUIRE(last_line_has(d, "muxd stopped"), "last log line is not 'muxd stopped'");
    close(fd);
}

Test(lifecycle, second_sigterm_exits_at_once)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\nshutdown_timeout = 30s\n" LISTENER);
    int port = mx_port(d, "echo");
    int fd = stuck_client(port);
    MX_REQUIRE(daemon_signal(d, SIGTERM) == 0);
    /* Proof the first SIGTERM was taken; two pending ones would merge. */
    MX_REQUIRE(mx_wait_not_accepting(port, 5000), "still accepting after SIGTERM");
    MX_REQUIRE(daemon_alive(d), "exited before shutdown_timeout with output queued "
               "for a peer");
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(daemon_signal(d, SIGTERM) == 0);
    int st = daemon_wait_exit(d, 5000);
    cr_log_info("exit %lld ms after the second SIGTERM, status 0x%x",
                (long long)(mx_now_ms() - t0), st);
    MX_REQUIRE(st != -1, "muxd still running 5 s after a second SIGTERM");
    close(fd);
}

Test(lifecycle, sigint_stops_gracefully)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n" LISTENER);
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    MX_REQUIRE(mx_echo_roundtrip(fd, "before", 6, 5000) == 0);
    MX_REQUIRE(daemon_signal(d, SIGINT) == 0);
    MX_REQUIRE(mx_wait_closed(fd, 10000, NULL) != MX_OPEN, "peer not closed on SIGINT");
    int st = daemon_wait_exit(d, 10000);
    MX_REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    mx_require_clean_log(d);
    MX_REQUIRE(daemon_wait_log(d, "acceptor stopped: accepted=1 rejected=0", 0),
               "acceptor totals wrong or missing");
    MX_REQUIRE(last_line_has(d, "muxd stopped"), "last log line is not 'muxd stopped'");
    close(fd);
}

static bool has_thread(const char *names, const char *name)
{
    char line[64];
    snprintf(line, sizeof line, "\n%s\n", name);
    return strstr(names, line) != NULL;
}

static bool all_named(const char *names)
{
    static const char *const want[] = { "muxd-accept", "muxd-w0", "muxd-w1", "muxd-w2" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_thread(names, want[i]))
            return false;
    return true;
}

Test(lifecycle, thread_names_match_workers)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 3\n" LISTENER);
    char names[4096] = "\n";
    int n = -1;
    /* Each thread names itself once running, which may trail "started:". */
    for (int64_t until = mx_now_ms() + 5000; mx_now_ms() < until; mx_sleep_ms(20)) {
        n = mx_thread_names(d->pid, names + 1, sizeof names - 1);
        if (n > 0 && all_named(names))
            break;
    }
    MX_REQUIRE(n > 0, "cannot read /proc/%d/task", (int)d->pid);
    cr_log_info("%d threads:%s", n, names);
    MX_REQUIRE(has_thread(names, "muxd-accept"), "no muxd-accept thread");
    MX_REQUIRE(has_thread(names, "muxd-w0"), "no muxd-w0 thread");
    MX_REQUIRE(has_thread(names, "muxd-w1"), "no muxd-w1 thread");
    MX_REQUIRE(has_thread(names, "muxd-w2"), "no muxd-w2 thread");
    MX_REQUIRE(!has_thread(names, "muxd-w3"), "a fourth worker with workers = 3");
    MX_REQUIRE(daemon_wait_log(d, "workers=3", 0), "started line lacks workers=3");
    mx_stop_ok(d, 10000);
}
