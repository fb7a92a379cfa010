/* test_timer.c - unit tests for the timer min-heap (src/reactor/timer.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "reactor/timer.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

struct rec {
    uint64_t log[4096];
    size_t n;
};

static void record(struct mx_timer *t, void *arg)
{
    struct rec *r = arg;
    cr_assert_not(mx_timer_armed(t), "disarmed before its callback");
    r->log[r->n++] = t->when;
}

/* Heap order and back-pointers. */
static void check_heap(const struct mx_timers *ts)
{
    for (uint32_t i = 0; i < ts->n; i++) {
        cr_assert_eq(ts->heap[i]->idx, i + 1, "idx of slot %u", i);
        if (i > 0)
            cr_assert_leq(ts->heap[(i - 1) / 2]->when, ts->heap[i]->when,
                          "heap order at %u", i);
    }
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(timer, empty)
{
    struct mx_timers ts = { 0 };
    cr_assert_eq(mx__timers_next(&ts), UINT64_MAX);
    cr_assert_eq(mx__timers_run(&ts, UINT64_MAX), 0);
    mx__timers_fini(&ts);
}

Test(timer, now_is_monotonic)
{
    uint64_t a = mx__clock_ms();
    uint64_t b = mx__clock_ms();
    cr_assert_geq(b, a);
    cr_assert_gt(a, 0);
}

Test(timer, random_deadlines_fire_in_order)
{
    enum { N = 2000 };
    static struct mx_timer t[N];
    static struct rec r;
    struct mx_timers ts = { 0 };
    uint64_t s = 0x1234567;
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < N; i++) {
        t[i] = (struct mx_timer){ .fn = record, .arg = &r };
        uint64_t when = 1000 + rng(&s) % 100000;
        if (when < min)
            min = when;
        cr_assert_eq(mx__timer_arm(&ts, &t[i], when), 0);
        cr_assert(mx_timer_armed(&t[i]));
    }
    check_heap(&ts);
    cr_assert_eq(ts.n, N);
    cr_assert_eq(mx__timers_next(&ts), min);

    /* Fire in several steps. */
    uint64_t now = 0;
    unsigned total = 0;
    while (ts.n) {
        now += 7919;
        size_t before = r.n;
        unsigned fired = mx__timers_run(&ts, now);
        cr_assert_eq(fired, r.n - before);
        total += fired;
        for (size_t i = before; i < r.n; i++)
            cr_assert_leq(r.log[i], now, "only due timers fire");
        cr_assert_gt(mx__timers_next(&ts), now, "nothing due is left behind");
        check_heap(&ts);
    }
    cr_assert_eq(total, N);
    for (size_t i = 1; i < r.n; i++)
        cr_assert_leq(r.log[i - 1], r.log[i], "fired in deadline order at %zu", i);
    for (int i = 0; i < N; i++)
        cr_assert_not(mx_timer_armed(&t[i]));
    mx__timers_fini(&ts);
}

Test(timer, disarm_from_middle_keeps_order)
{
    enum { N = 500 };
    static struct mx_timer t[N];
    static struct rec r;
    struct mx_timers ts = { 0 };
    uint64_t s = 0xabcdef;
    for (int i = 0; i < N; i++) {
        t[i] = (struct mx_timer){ .fn = record, .arg = &r };
        cr_assert_eq(mx__timer_arm(&ts, &t[i], rng(&s) % 10000), 0);
    }
    /* Disarm a pseudo-random two thirds, including heap interior slots. */
    bool gone[N] = { false };
    unsigned left = N;
    for (int k = 0; k < N * 2; k++) {
        int i = (int)(rng(&s) % N);
        if (gone[i] || left <= N / 3)
            continue;
        mx__timer_disarm(&ts, &t[i]);
        cr_assert_not(mx_timer_armed(&t[i]));
        gone[i] = true;
        left--;
        check_heap(&ts);
        cr_assert_eq(ts.n, left);
        /* Disarming twice is harmless. */
        mx__timer_disarm(&ts, &t[i]);
        cr_assert_eq(ts.n, left);
    }
    cr_assert_eq(mx__timers_run(&ts, UINT64_MAX - 1), left);
    cr_assert_eq(r.n, left);
    for (size_t i = 1; i < r.n; i++)
        cr_assert_leq(r.log[i - 1], r.log[i]);
    for (int i = 0; i < N; i++)
        cr_assert_not(mx_timer_armed(&t[i]));
    mx__timers_fini(&ts);
}

Test(timer, disarmed_timer_does_not_fire)
{
    static struct rec r;
    struct mx_timers ts = { 0 };
    struct mx_timer a = { .fn = record, .arg = &r };
    struct mx_timer b = { .fn = record, .arg = &r };
    struct mx_timer c = { .fn = record, .arg = &r };
    mx__timer_arm(&ts, &a, 10);
    mx__timer_arm(&ts, &b, 20);
    mx__timer_arm(&ts, &c, 30);
    mx__timer_disarm(&ts, &b);
    cr_assert_eq(mx__timers_run(&ts, 100), 2);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.log[0], 10);
    cr_assert_eq(r.log[1], 30);
    mx__timers_fini(&ts);
}

Test(timer, rearm_moves_timer)
{
    static struct rec r;
    struct mx_timers ts = { 0 };
    struct mx_timer a = { .fn = record, .arg = &r };
    struct mx_timer b = { .fn = record, .arg = &r };
    struct mx_timer c = { .fn = record, .arg = &r };
    cr_assert_eq(mx__timer_arm(&ts, &a, 100), 0);
    cr_assert_eq(mx__timer_arm(&ts, &b, 200), 0);
    cr_assert_eq(mx__timer_arm(&ts, &c, 300), 0);
    cr_assert_eq(mx__timers_next(&ts), 100);

    /* Later. */
    cr_assert_eq(mx__timer_arm(&ts, &a, 400), 0);
    cr_assert_eq(ts.n, 3, "re-arming does not duplicate");
    check_heap(&ts);
    cr_assert_eq(mx__timers_next(&ts), 200);
    /* Earlier. */
    cr_assert_eq(mx__timer_arm(&ts, &c, 50), 0);
    cr_assert_eq(ts.n, 3);
    check_heap(&ts);
    cr_assert_eq(mx__timers_next(&ts), 50);

    cr_assert_eq(mx__timers_run(&ts, 250), 2);
    cr_assert_eq(r.log[0], 50);
    cr_assert_eq(r.log[1], 200);
    cr_assert(mx_timer_armed(&a));
    cr_assert_not(mx_timer_armed(&b));
    cr_assert_not(mx_timer_armed(&c));
    cr_assert_eq(mx__timers_next(&ts), 400);
    cr_assert_eq(mx__timers_run(&ts, 399), 0);
    cr_assert_eq(mx__timers_run(&ts, 400), 1);
    cr_assert_eq(r.log[2], 400);
    cr_assert_eq(mx__timers_next(&ts), UINT64_MAX);
    mx__timers_fini(&ts);
}

Test(timer, random_rearm_keeps_heap)
{
    enum { N = 300 };
    static struct mx_timer t[N];
    static struct rec r;
    struct mx_timers ts = { 0 };
    uint64_t s = 42;
    for (int i = 0; i < N; i++) {
        t[i] = (struct mx_timer){ .fn = record, .arg = &r };
        cr_assert_eq(mx__timer_arm(&ts, &t[i], rng(&s) % 5000), 0);
    }
    for (int k = 0; k < 3000; k++) {
        int i = (int)(rng(&s) % N);
        cr_assert_eq(mx__timer_arm(&ts, &t[i], rng(&s) % 5000), 0);
        cr_assert_eq(ts.n, N);
    }
    check_heap(&ts);
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < N; i++)
        if (t[i].when < min)
            min = t[i].when;
    cr_assert_eq(mx__timers_next(&ts), min);
    cr_assert_eq(mx__timers_run(&ts, 5000), N);
    for (size_t i = 1; i < r.n; i++)
        cr_assert_leq(r.log[i - 1], r.log[i]);
    mx__timers_fini(&ts);
}

struct periodic {
    struct mx_timers *ts;
    uint64_t period;
    unsigned fired;
    unsigned limit;
};

static void rearm_self(struct mx_timer *t, void *arg)
{
    struct periodic *p = arg;
    p->fired++;
    if (p->fired < p->limit)
        cr_assert_eq(mx__timer_arm(p->ts, t, t->when + p->period), 0);
}

Test(timer, callback_rearms_itself)
{
    struct mx_timers ts = { 0 };
    struct periodic p = { .ts = &ts, .period = 10, .limit = 5 };
    struct mx_timer t = { .fn = rearm_self, .arg = &p };
    cr_assert_eq(mx__timer_arm(&ts, &t, 100), 0);

    cr_assert_eq(mx__timers_run(&ts, 100), 1);
    cr_assert_eq(p.fired, 1);
    cr_assert(mx_timer_armed(&t));
    cr_assert_eq(mx__timers_next(&ts), 110);
    cr_assert_eq(ts.n, 1);

    /* A run far enough ahead fires each due deadline once. */
    cr_assert_eq(mx__timers_run(&ts, 125), 2);
    cr_assert_eq(p.fired, 3);
    cr_assert_eq(mx__timers_next(&ts), 130);

    cr_assert_eq(mx__timers_run(&ts, 1000), 2);
    cr_assert_eq(p.fired, 5);
    cr_assert_not(mx_timer_armed(&t));
    cr_assert_eq(mx__timers_next(&ts), UINT64_MAX);
    cr_assert_eq(ts.n, 0);
    mx__timers_fini(&ts);
}

Test(timer, run_with_nothing_due)
{
    static struct rec r;
    struct mx_timers ts = { 0 };
    struct mx_timer a = { .fn = record, .arg = &r };
    struct mx_timer b = { .fn = record, .arg = &r };
    mx__timer_arm(&ts, &a, 1000);
    mx__timer_arm(&ts, &b, 2000);
    cr_assert_eq(mx__timers_next(&ts), 1000);
    cr_assert_eq(mx__timers_run(&ts, 0), 0);
    cr_assert_eq(mx__timers_run(&ts, 999), 0);
    cr_assert_eq(r.n, 0);
    cr_assert(mx_timer_armed(&a));
    cr_assert(mx_timer_armed(&b));
    cr_assert_eq(ts.n, 2);
    cr_assert_eq(mx__timers_run(&ts, 1000), 1, "deadline equal to now is due");
    cr_assert_eq(mx__timers_next(&ts), 2000);
    mx__timers_fini(&ts);
    cr_assert_not(mx_timer_armed(&b), "fini disarms");
    cr_assert_null(ts.heap);
    cr_assert_eq(ts.n, 0);
}

Test(timer, next_tracks_minimum)
{
    struct mx_timers ts = { 0 };
    struct mx_timer t[4] = { 0 };
    cr_assert_eq(mx__timer_arm(&ts, &t[0], 500), 0);
    cr_assert_eq(mx__timers_next(&ts), 500);
    cr_assert_eq(mx__timer_arm(&ts, &t[1], 300), 0);
    cr_assert_eq(mx__timers_next(&ts), 300);
    cr_assert_eq(mx__timer_arm(&ts, &t[2], 700), 0);
    cr_assert_eq(mx__timers_next(&ts), 300);
    cr_assert_eq(mx__timer_arm(&ts, &t[3], 0), 0);
    cr_assert_eq(mx__timers_next(&ts), 0);
    mx__timer_disarm(&ts, &t[3]);
    cr_assert_eq(mx__timers_next(&ts), 300);
    mx__timer_disarm(&ts, &t[1]);
    cr_assert_eq(mx__timers_next(&ts), 500);
    mx__timer_disarm(&ts, &t[0]);
    cr_assert_eq(mx__timers_next(&ts), 700);
    mx__timer_disarm(&ts, &t[2]);
    cr_assert_eq(mx__timers_next(&ts), UINT64_MAX);
    mx__timers_fini(&ts);
}
