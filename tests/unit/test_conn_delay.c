/* test_conn_delay.c - fanout_delay against a fake backend: output from
 * elsewhere waits for its deadline, replies and closes do not, a
 * segment's worth goes early, a move and a cut disarm the deadline.
 * The test plays the loop: it sets the clock, runs the deadlines due and
 * ends turns. Its clock starts at one of b's flush slots (T0), so that
 * b's first deadline is T0 + DELAY; other connections' slots fall at
 * phases of their own (mx__conn_delay_due). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/backend.h"
#include "muxd/conn.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"

#include "fake_backend.h"

/* "?" asks for a reply ("!"); anything else from a is fanned out to b
 * (the way a chat line to a channel reaches another member). */
static struct mx_conn *a, *b, *opened;
static int proto_open(struct mx_conn *c) { opened = c; return 0; }
static size_t proto_data(struct mx_conn *c, const char *p, size_t n)
{
    if (n && p[0] == '?')
        mx_conn_send(c, "!\n", 2);
    else if (c == a && b)
        mx_conn_send(b, p, n);
    return n;
}
static void proto_close(struct mx_conn *c) { (void)c; fake.closes++; }
static size_t note(struct mx_conn *c, uint64_t dropped, char *buf, size_t cap)
{
    (void)c;
    return (size_t)snprintf(buf, cap, "[%llu]", (unsigned long long)dropped);
}
static const struct mx_proto proto = { .name = "t", .on_open = proto_open,
                                       .on_data = proto_data, .on_close = proto_close,
                                       .overflow_note = note };

static struct mx_server srv;
static struct mx_worker w, w2;
static struct mx_listener ls = { .name = "t", .fd = -1, .proto = &proto };
static int peers[2];

#define DELAY 20
static uint64_t T0;

static struct mx_conn *open_one(struct mx_worker *wk, int *peer)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    *peer = sv[1];
    atomic_fetch_add(&srv.nconns, 1);
    opened = NULL;
    mx__conn_create(wk, sv[0], &ls, 0);
    cr_assert_not_null(opened);
    return opened;
}

static void setup_delay(unsigned delay)
{
    mx_server_opts_default(&srv.opts);
    srv.opts.output_high_water = 1024 * 1024;
    srv.opts.output_max = 4 * 1024 * 1024;
    atomic_store(&ls.fanout_delay_ms, delay);
    cr_assert_eq(mx__worker_init(&w, &srv, 0, &fake_be), 0);
    w.tid = pthread_self();
    a = open_one(&w, &peers[0]);
    b = open_one(&w, &peers[1]);
    T0 = delay ? mx__conn_delay_due(b, 1000, delay) : 1000;
    w.now_ms = T0;
    mx__worker_end_turn(&w);
    fake.flushes = 0;
}

static void teardown(void)
{
    fake_teardown(&w, peers[0]);
    close(peers[1]);
}

TestSuite(delay, .init = NULL, .fini = teardown);

/* One loop turn at time now, as run_loop has it: input first, then the
 * deadlines due, then the turn's flushes. */
static void turn_at(uint64_t now)
{
    w.now_ms = now;
    mx__timers_run(&w.timers, now);
    mx__worker_end_turn(&w);
}

static void written(struct mx_conn *c)
{
    size_t n = c->out.bytes;
    mx__outq_consume(&c->out, n);
    mx__conn_sent(c, n);
}

static struct mx_worker_stats stats(void)
{
    struct mx_worker_stats st;
    mx__stats_read(&w.stats, &st);
    return st;
}

Test(delay, fan_out_waits_for_its_deadline_and_goes_at_it)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "one\n", 4);
    mx__worker_end_turn(&w);
    cr_assert_eq(fake.flushes, 0, "the fan-out went out at once");
    cr_assert(b->flags & MX_C_DELAYED);
    cr_assert_eq(mx__timers_next(&w.timers), T0 + DELAY);
    /* More within the window joins the queue; the deadline stays that of
     * the first byte. */
    w.now_ms = T0 + 5;
    mx__conn_recv(a, "two\n", 4);
    turn_at(T0 + 5);
    turn_at(T0 + DELAY - 1);
    cr_assert_eq(fake.flushes, 0, "sent before the deadline");
    cr_assert_eq(mx__timers_next(&w.timers), T0 + DELAY);
    turn_at(T0 + DELAY);
    cr_assert_eq(fake.flushes, 1, "not sent at the deadline");
    cr_assert_eq(fake.flushed, b);
    cr_assert_str_eq(fake_queued_text(b), "one\ntwo\n");
    cr_assert_not(b->flags & MX_C_DELAYED);
    cr_assert_eq(mx__timers_next(&w.timers), UINT64_MAX, "nothing waits: no wake-up wanted");
    cr_assert_eq(stats().fanout_held_flushes, 1);
    cr_assert_eq(stats().fanout_early_flushes, 0);
    /* The next fan-out waits for b's next slot, a delay after the last. */
    written(b);
    w.now_ms = T0 + DELAY + 3;
    mx__conn_recv(a, "three\n", 6);
    turn_at(T0 + DELAY + 3);
    cr_assert_eq(fake.flushes, 1);
    cr_assert_eq(mx__timers_next(&w.timers), T0 + 2 * DELAY);
}

/* Every member of a channel gets a line in the same turn: their queues
 * leave at slots spread over the delay, none later than the delay. */
Test(delay, held_queues_leave_spread_over_the_delay)
{
    enum { N = 100 };
    setup_delay(DELAY);
    struct mx_conn *m[N];
    int peer[N];
    for (int i = 0; i < N; i++)
        m[i] = open_one(&w, &peer[i]);
    turn_at(T0);
    fake.flushes = 0;
    for (int i = 0; i < N; i++)
        mx_conn_send(m[i], "line\n", 5);
    turn_at(T0);
    int busiest = 0, slots = 0;
    for (uint64_t t = T0 + 1; t <= T0 + DELAY; t++) {
        int before = fake.flushes;
        turn_at(t);
        int n = fake.flushes - before;
        busiest = n > busiest ? n : busiest;
        slots += n > 0;
    }
    cr_log_info("%d queues left in %d of %d ms, at most %d in one", N, slots, DELAY, busiest);
    cr_assert_eq(fake.flushes, N, "%d of %d queues went out within the delay", fake.flushes, N);
    cr_assert_geq(slots, DELAY * 3 / 4, "the queues left in only %d ms of %d", slots, DELAY);
    cr_assert_leq(busiest, 3 * N / DELAY, "%d of %d queues left in one ms", busiest, N);
    for (int i = 0; i < N; i++)
        close(peer[i]);
}

Test(delay, zero_sends_at_the_end_of_the_turn)
{
    setup_delay(0);
    mx__conn_recv(a, "one\n", 4);
    mx__worker_end_turn(&w);
    cr_assert_eq(fake.flushes, 1);
    cr_assert_eq(fake.flushed, b);
    cr_assert_not(b->flags & MX_C_DELAYED);
    cr_assert_eq(mx__timers_next(&w.timers), UINT64_MAX);
}

Test(delay, a_reply_is_never_delayed)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "?\n", 2);
    mx__worker_end_turn(&w);
    cr_assert_eq(fake.flushes, 1, "a reply to its own input waited");
    cr_assert_eq(fake.flushed, a);
    cr_assert_not(a->flags & MX_C_DELAYED);
}

Test(delay, a_reply_takes_what_waited_along_in_order)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "one\n", 4);
    turn_at(T0);
    mx__conn_recv(a, "two\n", 4);
    turn_at(T0 + 1);
    cr_assert_eq(fake.flushes, 0);
    /* b's own input asks for a reply: one send with everything queued. */
    w.now_ms = T0 + 2;
    mx__conn_recv(b, "?\n", 2);
    turn_at(T0 + 2);
    cr_assert_eq(fake.flushes, 1);
    cr_assert_eq(fake.flushed, b);
    cr_assert_str_eq(fake_queued_text(b), "one\ntwo\n!\n");
    cr_assert_not(b->flags & MX_C_DELAYED, "still waiting after its flush");
    cr_assert_eq(stats().fanout_early_flushes, 1);
    /* Its old deadline is gone with it. */
    written(b);
    turn_at(T0 + DELAY);
    cr_assert_eq(fake.flushes, 1);
    cr_assert_eq(stats().fanout_held_flushes, 0);
}

Test(delay, input_without_a_reply_flushes_nothing)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "one\n", 4);
    turn_at(T0);
    /* b sends a line of its own (fanned out nowhere): nothing answers it,
     * so what waits for b keeps waiting. */
    mx__conn_recv(b, "hello\n", 6);
    turn_at(T0 + 1);
    cr_assert_eq(fake.flushes, 0);
    cr_assert(b->flags & MX_C_DELAYED);
}

Test(delay, a_segments_worth_goes_early)
{
    setup_delay(DELAY);
    static char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    mx__conn_recv(a, line, sizeof line);
    turn_at(T0);
    cr_assert_eq(fake.flushes, 0);
    /* 16 lines of 1 KiB: 16 KiB waiting is enough for one send. */
    for (int i = 1; i < 15; i++)
        mx__conn_recv(a, line, sizeof line);
    turn_at(T0 + 1);
    cr_assert_eq(fake.flushes, 0, "flushed under 16 KiB (%zu queued)", b->out.bytes);
    mx__conn_recv(a, line, sizeof line);
    turn_at(T0 + 1);
    cr_assert_eq(fake.flushes, 1, "16 KiB (%zu queued) still waiting", b->out.bytes);
    cr_assert_not(b->flags & MX_C_DELAYED);
    cr_assert_eq(stats().fanout_early_flushes, 1);
}

Test(delay, a_close_sends_what_waited_then_closes)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "last\n", 5);
    turn_at(T0);
    cr_assert_eq(fake.flushes, 0);
    mx_conn_close(b, NULL);
    turn_at(T0 + 1);
    cr_assert_eq(fake.flushes, 1, "a closing connection's queue waited");
    cr_assert_eq(fake.flushed, b);
    cr_assert_str_eq(fake_queued_text(b), "last\n");
    cr_assert_not(b->flags & MX_C_DEAD, "closed before its last lines went out");
    written(b);
    cr_assert(b->flags & MX_C_DEAD, "not closed once its last lines went out");
    turn_at(T0 + DELAY);
    cr_assert_eq(fake.closes, 1);
    cr_assert_eq(mx__timers_next(&w.timers), UINT64_MAX);
}

Test(delay, a_cut_leaves_the_list)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "one\n", 4);
    turn_at(T0);
    cr_assert(b->flags & MX_C_DELAYED);
    mx__conn_abort(b, NULL);
    cr_assert_eq(mx__timers_next(&w.timers), UINT64_MAX, "a cut connection's deadline stays armed");
    turn_at(T0 + DELAY);
    cr_assert_eq(fake.flushes, 0);
}

Test(delay, a_stopping_worker_delays_nothing)
{
    setup_delay(DELAY);
    w.stopping = true;
    mx__conn_recv(a, "one\n", 4);
    turn_at(T0);
    cr_assert_eq(fake.flushes, 1);
}

Test(delay, deadlines_stay_in_order_when_the_delay_changes)
{
    setup_delay(DELAY);
    struct mx_conn *c;
    int peer;
    c = open_one(&w, &peer);
    mx__conn_recv(a, "one\n", 4);
    turn_at(T0);
    /* A reload shortens the delay: c's later output is due first. */
    atomic_store(&ls.fanout_delay_ms, 5);
    mx_conn_send(c, "x\n", 2);
    turn_at(T0 + 1);
    uint64_t due = mx__conn_delay_due(c, T0 + 1, 5);
    cr_assert(due > T0 + 1 && due <= T0 + 6, "c waits for %llu", (unsigned long long)due);
    cr_assert_eq(mx__timers_next(&w.timers), due);
    turn_at(due);
    cr_assert_eq(fake.flushes, 1);
    cr_assert_eq(fake.flushed, c);
    turn_at(T0 + DELAY);
    cr_assert_eq(fake.flushes, 2);
    cr_assert_eq(fake.flushed, b);
    close(peer);
}

Test(delay, held_output_counts_against_output_max_and_drop_oldest)
{
    ls.overflow = MX_OVERFLOW_DROP_OLDEST;
    setup_delay(DELAY);
    srv.opts.output_high_water = 40;
    srv.opts.output_max = 50;
    mx__limits_of(&srv.opts, &w.lim);
    char m[16];
    for (int i = 0; i < 6; i++) {
        snprintf(m, sizeof m, "m%08d;", i);
        mx_conn_send(b, m, 10);
    }
    cr_assert_str_eq(fake_queued_text(b), "[1]m00000001;m00000002;m00000003;m00000004;m00000005;");
    cr_assert_eq(stats().dropped_messages, 1);
    /* Past the high water: it went out rather than wait. */
    turn_at(T0);
    cr_assert_eq(fake.flushes, 1);
}

Test(delay, a_move_flushes_on_arrival)
{
    setup_delay(DELAY);
    mx__conn_recv(a, "one\n", 4);
    turn_at(T0);
    cr_assert(b->flags & MX_C_DELAYED);
    mx__conn_suspend(b);
    cr_assert_not(b->flags & MX_C_DELAYED);
    cr_assert_eq(mx__timers_next(&w.timers), UINT64_MAX,
                 "the old worker keeps the deadline of a connection that left");
    turn_at(T0 + 1);
    cr_assert_eq(fake.flushes, 0, "a moving connection was flushed from its old worker");
    struct mx__move m;
    mx__conn_leave(b, &m);
    cr_assert_eq(mx__worker_init(&w2, &srv, 1, &fake_be), 0);
    w2.tid = pthread_self();
    w2.now_ms = T0 + 1;
    mx__conn_arrive(&w2, &m);
    mx__worker_end_turn(&w2);
    cr_assert_eq(fake.flushes, 1, "what waited did not go out on arrival");
    cr_assert_eq(fake.flushed, b);
    cr_assert_str_eq(fake_queued_text(b), "one\n");
    cr_assert_eq(mx__timers_next(&w2.timers), UINT64_MAX);
    mx__conn_abort(b, NULL);
    mx__worker_end_turn(&w2);
    mx__worker_fini(&w2);
}
