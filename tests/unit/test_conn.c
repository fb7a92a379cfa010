/* test_conn.c - the connection state machine against a fake backend:
 * watermarks, the output_max cut, graceful close, the owner check. No
 * threads and no event loop: the test plays the backend. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/backend.h"
#include "muxd/conn.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"

#include "fake_backend.h"

static struct mx_conn *opened;
static int proto_open(struct mx_conn *c) { opened = c; return 0; }
static size_t proto_data(struct mx_conn *c, const char *p, size_t n) { (void)c; (void)p; return n; }
static void proto_close(struct mx_conn *c) { (void)c; fake.closes++; }
static const struct mx_proto proto = { .name = "t", .on_open = proto_open, .on_data = proto_data, .on_close = proto_close };

static struct mx_server srv;
static struct mx_worker w;
static struct mx_listener ls = { .name = "t", .fd = -1, .proto = &proto };
static int peer_fd;

static struct mx_conn *setup(void)
{
    mx_server_opts_default(&srv.opts);
    srv.opts.output_high_water = 1000;
    srv.opts.output_low_water = 100;
    srv.opts.output_max = 5000;
    cr_assert_eq(mx__worker_init(&w, &srv, 0, &fake_be), 0);
    w.tid = pthread_self();
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    peer_fd = sv[1];
    atomic_store(&srv.nconns, 1);
    mx__conn_create(&w, sv[0], &ls, 0);
    cr_assert_not_null(opened);
    return opened;
}

static void teardown(void)
{
    fake_teardown(&w, peer_fd);
}

TestSuite(conn, .fini = teardown);

/* Plays the backend writing n bytes of the queue. */
static void written(struct mx_conn *c, size_t n)
{
    mx__outq_consume(&c->out, n);
    mx__conn_sent(c, n);
}

Test(conn, high_water_pauses_and_low_water_resumes)
{
    struct mx_conn *c = setup();
    char buf[600] = { 0 };
    cr_assert_eq(mx_conn_send(c, buf, sizeof buf), 0);
    cr_assert(fake.recv_on, "paused below high water");
    cr_assert_eq(mx_conn_send(c, buf, sizeof buf), 0);
    cr_assert_not(fake.recv_on, "still reading at 1200 queued (high water 1000)");
    written(c, 1000);
    cr_assert_not(fake.recv_on, "resumed at 200 queued (low water 100)");
    written(c, 150);
    cr_assert(fake.recv_on, "not resumed at 50 queued");
    cr_assert_eq(mx_conn_pending(c), 50);
    struct mx_worker_stats st;
    mx__stats_read(&w.stats, &st);
    cr_assert_eq(st.conns_opened, 1);
    cr_assert_eq(st.bytes_queued, 1200);
    cr_assert_eq(st.bytes_out, 1150);
    cr_assert_eq(st.sends, 2);
    cr_assert_eq(st.paused_high_water, 1);
}

Test(conn, over_output_max_is_cut_with_enobufs)
{
    struct mx_conn *c = setup();
    char buf[4000] = { 0 };
    cr_assert_eq(mx_conn_send(c, buf, sizeof buf), 0);
    cr_assert_eq(mx_conn_send(c, buf, sizeof buf), -ENOBUFS);
    cr_assert(c->flags & MX_C_DEAD);
    cr_assert_eq(fake.closes, 0, "on_close ran inside mx_conn_send");
    cr_assert_eq(c->out.bytes, 0, "a dead connection keeps no output");
    cr_assert_eq(atomic_load(&srv.nconns), 0);
    cr_assert_eq(mx_conn_send(c, "x", 1), -ECONNRESET);
    cr_assert_null(mx__worker_lookup(&w, mx__conn_tag(c)), "slot still maps to the dead conn");
    mx__worker_end_turn(&w);
    cr_assert_eq(fake.closes, 1, "on_close did not run at the end of the turn");
    struct mx_worker_stats st;
    mx__stats_read(&w.stats, &st);
    cr_assert_eq(st.cut_output_max, 1);
    cr_assert_eq(st.conns_closed, 1);
    cr_assert_eq(st.bytes_queued, 8000);
    cr_assert_eq(st.bytes_dropped, 8000, "what was queued and never written is dropped");
}

/* Sends past output_max from inside on_data, then keeps using its own
 * state: on_close (which frees that state) must wait for the turn's end. */
struct flood_state {
    int sends;
    int freed;
};
static struct flood_state *flood_st;
static int flood_open(struct mx_conn *c)
{
    flood_st = calloc(1, sizeof *flood_st);
    mx_conn_set_data(c, flood_st);
    return 0;
}
static size_t flood_data(struct mx_conn *c, const char *p, size_t n)
{
    static const char big[2048];
    struct flood_state *st = mx_conn_data(c);
    int err;
    while ((err = mx_conn_send(c, big, sizeof big)) == 0)
        st->sends++;
    cr_assert_eq(err, -ENOBUFS);
    cr_assert_eq(st->freed, 0, "on_close ran inside mx_conn_send");
    cr_assert_eq(mx_conn_data(c), st, "the connection lost its data inside the callback");
    st->sends++;
    mx_conn_close(c, NULL); /* closing again is still harmless */
    cr_assert_eq(st->freed, 0, "on_close ran inside mx_conn_close");
    (void)p;
    return n;
}
static void flood_close(struct mx_conn *c)
{
    struct flood_state *st = mx_conn_data(c);
    st->freed++;
    fake.closes++;
}
static const struct mx_proto flood = { .name = "flood", .on_open = flood_open, .on_data = flood_data, .on_close = flood_close };
static struct mx_listener flood_ls = { .name = "f", .fd = -1, .proto = &flood };

Test(conn, on_close_is_deferred_to_the_end_of_the_turn)
{
    struct mx_conn *c = setup();
    c->ls = &flood_ls;
    flood_open(c);
    mx__conn_recv(c, "go", 2);
    cr_assert(c->flags & MX_C_DEAD);
    cr_assert_eq(flood_st->sends, 3, "5000-byte output_max takes two 2 KiB sends, then the cut");
    cr_assert_eq(flood_st->freed, 0);
    mx__worker_end_turn(&w);
    cr_assert_eq(flood_st->freed, 1, "on_close ran %d times", flood_st->freed);
    free(flood_st);
}

Test(conn, graceful_close_waits_for_the_queue)
{
    struct mx_conn *c = setup();
    uint64_t tag = mx__conn_tag(c);
    cr_assert_eq(mx_conn_send(c, "bye\n", 4), 0);
    mx_conn_close(c, NULL);
    cr_assert_not(c->flags & MX_C_DEAD, "closed before flushing");
    cr_assert_not(fake.recv_on, "still reading while closing");
    cr_assert_eq(mx_conn_send(c, "more", 4), -ECONNRESET);
    written(c, 2);
    cr_assert_not(c->flags & MX_C_DEAD);
    written(c, 2);
    cr_assert(c->flags & MX_C_DEAD);
    cr_assert_null(mx__worker_lookup(&w, tag));
}

Test(conn, a_closing_peer_that_never_reads_is_cut_at_shutdown_timeout)
{
    struct mx_conn *c = setup();
    w.lim.shutdown_timeout_ms = 300;
    cr_assert_eq(mx_conn_send(c, "never read", 10), 0);
    mx_conn_close(c, NULL);
    cr_assert_eq(mx_conn_timer(c, 10, NULL, NULL), -ECONNRESET,
                 "a protocol timer would replace the close deadline");
    cr_assert_eq(mx__timers_run(&w.timers, w.now_ms + 299), 0);
    cr_assert_not(c->flags & MX_C_DEAD);
    cr_assert_eq(mx__timers_run(&w.timers, w.now_ms + 300), 1);
    cr_assert(c->flags & MX_C_DEAD, "still open past the deadline");
    mx__worker_end_turn(&w);
    cr_assert_eq(fake.closes, 1);
}

/* A protocol that never consumes: everything stays as unfinished input. */
static size_t hoard_data(struct mx_conn *c, const char *p, size_t n)
{
    (void)c; (void)p; (void)n;
    return 0;
}
static const struct mx_proto hoard = { .name = "hoard", .on_data = hoard_data };
static struct mx_listener hoard_ls = { .name = "h", .fd = -1, .proto = &hoard };

Test(conn, unfinished_input_over_max_line_is_cut)
{
    struct mx_conn *c = setup();
    w.lim.max_line = 16;
    c->ls = &hoard_ls;
    char buf[10] = { 0 };
    mx__conn_recv(c, buf, sizeof buf);
    cr_assert_not(c->flags & MX_C_DEAD);
    cr_assert_eq(c->in.len, 10);
    mx__conn_recv(c, buf, sizeof buf);
    cr_assert(c->flags & MX_C_DEAD, "20 unfinished bytes kept with max_line 16");
}

/* Closes its connection on the first call, then reads every byte it was
 * handed: under ASan this catches kept input freed at close. */
static int closer_sum;
static size_t close_then_read(struct mx_conn *c, const char *p, size_t n)
{
    if (n < 4)
        return 0; /* keep it: the next call is offered the kept input */
    mx_conn_close(c, NULL);
    for (size_t i = 0; i < n; i++)
        closer_sum += p[i];
    return n;
}
static const struct mx_proto closer = { .name = "closer", .on_data = close_then_read };
static struct mx_listener closer_ls = { .name = "c", .fd = -1, .proto = &closer };

Test(conn, kept_input_outlives_a_close_from_on_data)
{
    struct mx_conn *c = setup();
    c->ls = &closer_ls;
    closer_sum = 0;
    mx__conn_recv(c, "ab", 2);
    cr_assert_eq(c->in.len, 2);
    mx__conn_recv(c, "cd", 2);
    cr_assert(c->flags & MX_C_DEAD);
    cr_assert_eq(closer_sum, 'a' + 'b' + 'c' + 'd');
}

Test(conn, a_line_of_max_line_may_wait_for_its_lf)
{
    struct mx_conn *c = setup();
    srv.opts.max_line = 16;
    c->ls = &hoard_ls;
    char buf[17];
    memset(buf, 'x', 16);
    buf[16] = '\r';
    mx__conn_recv(c, buf, sizeof buf);
    cr_assert_not(c->flags & MX_C_DEAD, "a max_line body plus its \\r was cut");
}

static void *other_thread(void *arg)
{
    mx_conn_pending(arg);
    return NULL;
}

Test(conn, call_off_the_owner_thread_aborts, .signal = SIGABRT)
{
    struct mx_conn *c = setup();
    pthread_t t;
    pthread_create(&t, NULL, other_thread, c);
    pthread_join(t, NULL);
}

static int fired;
static void on_timer(struct mx_conn *c, void *arg)
{
    (void)c;
    fired += *(int *)arg;
}

Test(conn, timer_fires_once_and_dies_with_the_connection)
{
    struct mx_conn *c = setup();
    static int one = 1;
    fired = 0;
    cr_assert_eq(mx_conn_timer(c, 50, on_timer, &one), 0);
    cr_assert_eq(mx__timers_run(&w.timers, w.now_ms + 49), 0);
    cr_assert_eq(mx__timers_run(&w.timers, w.now_ms + 50), 1);
    cr_assert_eq(fired, 1);
    cr_assert_eq(mx__timers_run(&w.timers, w.now_ms + 500), 0, "fired twice");
    cr_assert_eq(mx_conn_timer(c, 10, on_timer, &one), 0);
    mx__conn_abort(c, NULL);
    cr_assert_eq(mx__timers_run(&w.timers, w.now_ms + 500), 0, "fired after close");
    cr_assert_eq(fired, 1);
}

/* This turn's flush, as the worker runs it, without freeing the closed. */
static void flush_dirty(void)
{
    struct mx_conn *d;
    while ((d = w.dirty)) {
        w.dirty = d->next_dirty;
        mx__conn_flush(d);
    }
}

/* Consumes one line per call, and pauses after each: a protocol that
 * answers requests one at a time. */
static int lines_seen;
static size_t one_line(struct mx_conn *c, const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    if (!nl)
        return 0;
    lines_seen++;
    mx_conn_pause(c);
    return (size_t)(nl - p + 1);
}
static const struct mx_proto stepper = { .name = "step", .on_data = one_line };
static struct mx_listener stepper_ls = { .name = "s", .fd = -1, .proto = &stepper };

Test(conn, pause_keeps_input_and_resume_offers_it_again)
{
    struct mx_conn *c = setup();
    c->ls = &stepper_ls;
    lines_seen = 0;
    mx__conn_recv(c, "a\nb\nc\n", 6);
    cr_assert_eq(lines_seen, 1);
    cr_assert_eq(c->in.len, 4, "kept %u bytes", c->in.len);
    mx__conn_recv(c, "d\n", 2);
    cr_assert_eq(lines_seen, 1, "on_data called while paused");
    mx_conn_resume(c);
    cr_assert_eq(lines_seen, 1, "re-offered inside resume, not at the flush");
    for (int i = 2; i <= 4; i++) {
        flush_dirty();
        cr_assert_eq(lines_seen, i);
        mx_conn_resume(c);
    }
    flush_dirty();
    cr_assert_eq(lines_seen, 4);
    cr_assert_eq(c->in.len, 0);
}

Test(conn, eof_waits_for_requests_kept_while_paused)
{
    struct mx_conn *c = setup();
    c->ls = &stepper_ls;
    lines_seen = 0;
    mx__conn_recv(c, "a\nb\nc", 5);
    mx__conn_eof(c);
    cr_assert_not(c->flags & MX_C_DEAD, "closed with a complete request still kept");
    mx_conn_resume(c);
    flush_dirty();
    cr_assert_eq(lines_seen, 2);
    cr_assert_not(c->flags & MX_C_DEAD, "closed while the protocol is paused on b");
    mx_conn_resume(c);
    flush_dirty();
    cr_assert(c->flags & MX_C_DEAD, "not closed after the last whole request");
    cr_assert_eq(lines_seen, 2, "the partial 'c' was offered as a request");
}

/* ---- overflow = drop_oldest (conn_overflow.c) ---------------------------- */

static size_t note(struct mx_conn *c, uint64_t dropped, char *buf, size_t cap)
{
    (void)c;
    return (size_t)snprintf(buf, cap, "[%llu]", (unsigned long long)dropped);
}

static const struct mx_proto drop_proto = { .name = "d", .on_open = proto_open,
                                            .on_data = proto_data, .on_close = proto_close,
                                            .overflow_note = note };

/* 10-byte messages "m<8 digits>;" into a 50-byte queue. */
static void send_msgs(struct mx_conn *c, int from, int to)
{
    char m[16];
    for (int i = from; i < to; i++) {
        snprintf(m, sizeof m, "m%08d;", i);
        cr_assert_eq(mx_conn_send(c, m, 10), 0, "message %d", i);
    }
}

/* Each test runs in a process of its own: no state to put back. */
static struct mx_conn *setup_drop(void)
{
    ls.proto = &drop_proto;
    ls.overflow = MX_OVERFLOW_DROP_OLDEST;
    struct mx_conn *c = setup();
    srv.opts.output_high_water = 40;
    srv.opts.output_max = 50;
    mx__limits_of(&srv.opts, &w.lim);
    return c;
}

Test(conn, drop_oldest_keeps_the_newest_whole_with_a_note)
{
    struct mx_conn *c = setup_drop();
    send_msgs(c, 0, 5);
    cr_assert_str_eq(fake_queued_text(c), "m00000000;m00000001;m00000002;m00000003;m00000004;");
    /* 60 > 50: the oldest goes, a note stands there (past output_max by
     * its own size at most: the next send takes that back). */
    send_msgs(c, 5, 6);
    cr_assert_str_eq(fake_queued_text(c), "[1]m00000001;m00000002;m00000003;m00000004;m00000005;");
    /* The same gap grows: one note, its count made again. */
    send_msgs(c, 6, 8);
    cr_assert_str_eq(fake_queued_text(c), "[4]m00000004;m00000005;m00000006;m00000007;");
    cr_assert_not(c->flags & MX_C_DEAD);
    struct mx_worker_stats st;
    mx__stats_read(&w.stats, &st);
    cr_assert_eq(st.dropped_messages, 4);
    cr_assert_eq(st.cut_output_max, 0);
}

Test(conn, drop_oldest_never_touches_what_is_being_written)
{
    struct mx_conn *c = setup_drop();
    send_msgs(c, 0, 5);
    written(c, 4);        /* the head is partly written: it stays */
    send_msgs(c, 5, 6);
    cr_assert_str_eq(fake_queued_text(c), "00000;[1]m00000002;m00000003;m00000004;m00000005;");
    /* The note went out with what was ahead of it: a later drop is a new
     * gap, after what an io_uring send still holds (pinned). */
    written(c, 9);
    c->out.pinned = 2;
    send_msgs(c, 6, 9);
    cr_assert_str_eq(fake_queued_text(c), "m00000002;m00000003;[3]m00000007;m00000008;");
    c->out.pinned = 0;
}

Test(conn, drop_oldest_spares_what_is_in_flight)
{
    struct mx_conn *c = setup_drop();
    char big[40];
    memset(big, 'b', sizeof big);
    cr_assert_eq(mx_conn_send(c, big, 40), 0);
    c->out.pinned = 1;    /* an io_uring send holds it */
    send_msgs(c, 0, 2);   /* 60 > 50: only what came after it may go */
    cr_assert_str_eq(fake_queued_text(c), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb[1]m00000001;");
    cr_assert_not(c->flags & MX_C_DEAD);
    c->out.pinned = 0;
}
