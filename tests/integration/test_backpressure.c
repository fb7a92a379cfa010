/* test_backpressure.c - peers that do not read: blocked by TCP below
 * output_max, cut off above it, and peers that vanish with a RST. Memory
 * must stay bounded in every case. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(backpressure, .init = mx_init, .fini = mx_fini, .timeout = 90);

/* Growth over the idle daemon; generous because sanitizer builds keep
 * freed memory in quarantine for a while. */
#define RSS_GROWTH_LIMIT_KB (64 * 1024)

/* Rounds of fresh echo clients until told to stop, so that well-behaved
 * peers are being served for the whole life of the slow one. */
struct bg_load {
    struct mx_load_opts o;
    struct mx_load_result r;
    volatile bool stop;
    int rc, rounds;
    pthread_t thread;
};

static void *bg_load_run(void *arg)
{
    struct bg_load *b = arg;
    do {
        b->rc = mx_load_run(&b->o, &b->r);
        b->rounds++;
        b->o.seed_base += (uint32_t)b->o.clients;
    } while (b->rc == 0 && !b->stop);
    return NULL;
}

Test(backpressure, slow_consumer_cut_off_at_output_max)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n"
        "[limits]\noutput_high_water = 1m\noutput_low_water = 256k\n"
        "output_max = 1m\n");
    int port = mx_port(d, "echo");
    long base_kb = daemon_rss_kb(d);
    struct mx_rss_watch w;
    MX_REQUIRE(mx_rss_watch_start(&w, d->pid) == 0);

    struct bg_load bg = { .o = { .port = port, .clients = 20, .messages = 100,
                                 .min_msg = 64, .max_msg = 512, .pipeline = 4,
                                 .threads = 1, .timeout_ms = 20000, .seed_base = 500 } };
    MX_REQUIRE(pthread_create(&bg.thread, NULL, bg_load_run, &bg) == 0);

    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    uint64_t sent = 0;
    int err = mx_flood(fd, 64ull << 20, 10000, &sent);
    enum mx_close_kind k = MX_RESET;
    if (err == 0)  /* no send error yet: the cut may only show on reading */
        k = mx_wait_closed(fd, 5000, NULL);
    cr_log_info("slow consumer: sent %llu bytes, send error '%s'",
                (unsigned long long)sent, err ? strerror(err) : "none");
    MX_REQUIRE(err == EPIPE || err == ECONNRESET || (err == 0 && k != MX_OPEN),
               "slow consumer not disconnected after %llu bytes (send error %d)",
               (unsigned long long)sent, err);
    close(fd);
    MX_REQUIRE(daemon_wait_log(d, "output_max", 5000), "no 'output_max' in the log");

    bg.stop = true;
    pthread_join(bg.thread, NULL);
    long max_kb = mx_rss_watch_stop(&w);
    cr_log_info("%d rounds of 20 echo clients meanwhile; VmRSS: idle %ld kB, max %ld kB "
                "over %d samples", bg.rounds, base_kb, max_kb, w.samples);
    MX_REQUIRE(bg.rc == 0, "other clients in round %d: %d done, %d failed: %s",
               bg.rounds, bg.r.done, bg.r.failed, bg.r.first_error);
    MX_REQUIRE(base_kb > 0 && max_kb - base_kb < RSS_GROWTH_LIMIT_KB,
               "VmRSS grew from %ld to %ld kB", base_kb, max_kb);
    mx_stop_ok(d, 10000);
}

Test(backpressure, blocked_writer_is_throttled_not_dropped)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n");
    long base_kb = daemon_rss_kb(d);
    struct mx_rss_watch w;
    MX_REQUIRE(mx_rss_watch_start(&w, d->pid) == 0);
    struct mx_writer wr = { .seed = 4, .size = 16u << 20 };
    wr.fd = mx_connect_bufs(mx_port(d, "echo"), 65536, 65536);
    MX_REQUIRE(wr.fd >= 0, "connect: %s", strerror(-wr.fd));
    MX_REQUIRE(mx_writer_start(&wr) == 0);

    mx_sleep_ms(1000);
    uint64_t sent_at_1s = wr.sent;
    long blocked_kb = daemon_rss_kb(d);
    /* Input left unread in the daemon's socket shows it stopped reading. */
    long unread = mx_peer_rx_queue(wr.fd);
    cr_log_info("after 1 s without reading: %llu of %llu bytes written, %ld unread by "
                "muxd, VmRSS %ld kB (idle %ld kB)", (unsigned long long)sent_at_1s,
                (unsigned long long)wr.size, unread, blocked_kb, base_kb);
    MX_REQUIRE(unread > 0, "muxd kept reading from a peer that reads nothing "
               "(server receive queue %ld)", unread);

    char err[160];
    int rc = mx_recv_pattern(wr.fd, 4, wr.size, 60000, err, sizeof err);
    mx_writer_join(&wr);
    long max_kb = mx_rss_watch_stop(&w);
    MX_REQUIRE(rc == 0, "echo of 16 MB: %s", err);
    MX_REQUIRE(wr.rc == 0, "writer failed: %s", strerror(-wr.rc));
    MX_REQUIRE(!mx_readable_within(wr.fd, 100), "connection closed or extra bytes");
    MX_REQUIRE(daemon_log_count(d, "output_max") == 0, "a throttled peer was cut off");
    cr_log_info("VmRSS max %ld kB over %d samples", max_kb, w.samples);
    MX_REQUIRE(blocked_kb - base_kb < RSS_GROWTH_LIMIT_KB && max_kb - base_kb <
               RSS_GROWTH_LIMIT_KB, "VmRSS grew from %ld to %ld kB (%ld while blocked)",
               base_kb, max_kb, blocked_kb);
    close(wr.fd);
    mx_stop_ok(d, 10000);
}

/* output_low_water = 0 means "resume once the queue is empty": a blocked
 * writer must still get its whole stream back, and be read again after. */
Test(backpressure, low_water_zero_still_resumes)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 1\n"
        "[listener echo]\nlisten = 127.0.0.1:0\n"
        "[limits]\noutput_high_water = 64k\noutput_low_water = 0\n");
    struct mx_writer wr = { .seed = 4, .size = 8u << 20 };
    wr.fd = mx_connect_bufs(mx_port(d, "echo"), 65536, 65536);
    MX_REQUIRE(wr.fd >= 0, "connect: %s", strerror(-wr.fd));
    MX_REQUIRE(mx_writer_start(&wr) == 0);
    mx_sleep_ms(300);
    char err[160];
    int rc = mx_recv_pattern(wr.fd, 4, wr.size, 30000, err, sizeof err);
    mx_writer_join(&wr);
    MX_REQUIRE(rc == 0, "echo of 8 MB with low water 0: %s", err);
    MX_REQUIRE(mx_echo_roundtrip(wr.fd, "again", 5, 5000) == 0, "not read after draining");
    close(wr.fd);
    mx_stop_ok(d, 10000);
}

/* Loads the server with echoes a tiny receive buffer cannot take, then
 * vanishes with a RST while they are still queued. */
static void reset_mid_stream(int port)
{
    int fd = mx_connect_bufs(port, 4096, 0);
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    uint64_t sent = 0;
    int err = mx_flood(fd, 384 * 1024, 100, &sent);
    MX_REQUIRE(err == 0, "flood failed early: %s", strerror(err));
    mx_close_rst(fd);
}

Test(backpressure, client_reset_with_queued_echoes)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n");
    int port = mx_port(d, "echo");
    int control = mx_connect(port);
    MX_REQUIRE(control >= 0, "connect: %s", strerror(-control));
    for (int i = 0; i < 50; i++) {
        reset_mid_stream(port);
        char msg[32];
        int n = snprintf(msg, sizeof msg, "control %d", i);
        MX_REQUIRE(mx_echo_roundtrip(control, msg, (size_t)n, 5000) == 0,
                   "control client lost its echo after reset %d", i);
    }
    MX_REQUIRE(daemon_alive(d), "muxd died after client resets");
    int fresh = mx_connect(port);
    MX_REQUIRE(fresh >= 0, "connect after resets: %s", strerror(-fresh));
    MX_REQUIRE(mx_echo_roundtrip(fresh, "fresh", 5, 5000) == 0);
    close(fresh);
    close(control);
    mx_stop_ok(d, 10000);
}
