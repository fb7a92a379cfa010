/* test_admission.c - max_connections and idle_timeout: which peers the
 * daemon keeps and which it lets go. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(admission, .init = mx_init, .fini = mx_fini, .timeout = 60);

#define LISTENER "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n"
#define LIMIT 20

/* A connection past the limit: accepted by the kernel, then closed by the
 * daemon without ever echoing. */
static void expect_rejected(int port)
{
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    /* May fail when the daemon was quicker to close; either is fine. */
    (void)mx_send_all(fd, "hello?", 6);
    size_t extra = 0;
    enum mx_close_kind k = mx_wait_closed(fd, 5000, &extra);
    MX_REQUIRE(k != MX_OPEN, "connection %d not closed within 5 s", LIMIT + 1);
    MX_REQUIRE(extra == 0, "over-limit connection got %zu echo bytes", extra);
    close(fd);
}

/* The daemon frees a slot a moment after a close: retry until a new
 * client is served, and return it (still holding the slot), or -1. */
static int admitted_within(int port, int timeout_ms)
{
    int64_t until = mx_now_ms() + timeout_ms;
    do {
        int fd = mx_connect(port);
        if (fd >= 0 && mx_echo_roundtrip(fd, "again", 5, 1000) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        mx_sleep_ms(100);
    } while (mx_now_ms() < until);
    return -1;
}

Test(admission, max_connections_rejects_the_extra_peer)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n" LISTENER
                                  "[limits]\nmax_connections = 20\n");
    int port = mx_port(d, "echo");
    int fds[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        fds[i] = mx_connect(port);
        MX_REQUIRE(fds[i] >= 0, "connect %d: %s", i, strerror(-fds[i]));
        char msg[32];
        int n = snprintf(msg, sizeof msg, "client %d", i);
        MX_REQUIRE(mx_echo_roundtrip(fds[i], msg, (size_t)n, 5000) == 0,
                   "client %d of %d got no echo", i + 1, LIMIT);
    }
    for (int i = 0; i < 5; i++)
        expect_rejected(port);
    /* One line for the whole burst, not one per refusal (the log reaches
     * the harness a moment after it is written: wait for it first). */
    MX_REQUIRE(daemon_wait_log(d, "reached: refusing new connections", 5000),
               "no line for a burst of 5 refusals");
    MX_REQUIRE(daemon_log_count(d, "reached: refusing new connections") == 1,
               "not one line for a burst of 5 refusals");

    close(fds[0]);
    fds[0] = admitted_within(port, 5000);
    MX_REQUIRE(fds[0] >= 0, "no slot freed 5 s after a close");
    /* 5, or more when a retry above came before the slot was free. */
    MX_REQUIRE(daemon_wait_log(d, "connections refused in that burst; admitting again", 5000),
               "no end-of-burst line");
    char *text = daemon_log(d);
    const char *end = strstr(text, "max_connections: ");
    long burst = end ? atol(end + strlen("max_connections: ")) : -1;
    free(text);
    MX_REQUIRE(burst >= 5, "the end-of-burst line counts %ld refusals, 5 at least were made",
               burst);
    expect_rejected(port);
    /* The acceptor logs just after closing: give the line a moment. */
    for (int64_t until = mx_now_ms() + 5000;
         daemon_log_count(d, "reached: refusing new connections") < 2 && mx_now_ms() < until;)
        mx_sleep_ms(20);
    MX_REQUIRE(daemon_log_count(d, "reached: refusing new connections") == 2,
               "a new burst did not get its line");
    for (int i = 0; i < LIMIT; i++)
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "still ok", 8, 5000) == 0,
                   "admitted client %d lost its echo", i);

    for (int i = 0; i < LIMIT; i++)
        close(fds[i]);
    mx_stop_ok(d, 10000);
    char *log = daemon_log(d);
    const char *hit = strstr(log, "acceptor stopped: accepted=");
    int rejected = -1;
    if (hit) {
        const char *r = strstr(hit, "rejected=");
        rejected = r ? atoi(r + 9) : -1;
    }
    free(log);
    MX_REQUIRE(rejected >= 6, "acceptor reported rejected=%d, expected >= 6", rejected);
}

Test(admission, idle_peer_closed_active_peer_kept)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n" LISTENER
                                  "[limits]\nidle_timeout = 1s\n");
    int port = mx_port(d, "echo");
    int idle = mx_connect(port), busy = mx_connect(port);
    MX_REQUIRE(idle >= 0 && busy >= 0, "connect failed");
    /* A byte every 300 ms for 3 s: never 1 s without traffic. */
    for (int i = 0; i < 10; i++) {
        char c = (char)('a' + i);
        MX_REQUIRE(mx_echo_roundtrip(busy, &c, 1, 3000) == 0,
                   "active client lost its echo at %d ms", i * 300);
        mx_sleep_ms(300);
    }
    size_t extra = 0;
    enum mx_close_kind k = mx_wait_closed(idle, 10000, &extra);
    MX_REQUIRE(k != MX_OPEN, "idle client still open");
    MX_REQUIRE(extra == 0, "idle client received %zu bytes", extra);
    MX_REQUIRE(daemon_wait_log(d, "idle timeout", 5000), "no 'idle timeout' log");
    MX_REQUIRE(mx_echo_roundtrip(busy, "z", 1, 3000) == 0, "active client was closed");
    MX_REQUIRE(daemon_log_count(d, "idle timeout") == 1, "more than one idle close");
    close(idle);
    close(busy);
    mx_stop_ok(d, 10000);
}
