/* timer.c - min-heap of timers (see timer.h). */
#include <errno.h>
#include <stdlib.h>

#include "reactor/timer.h"

static void place(struct mx_timers *ts, uint32_t i, struct mx_timer *t)
{
    ts->heap[i] = t;
    t->idx = i + 1;
}

static void sift_up(struct mx_timers *ts, uint32_t i)
{
    struct mx_timer *t = ts->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (ts->heap[parent]->when <= t->when)
            break;
        place(ts, i, ts->heap[parent]);
        i = parent;
    }
    place(ts, i, t);
}

static void sift_down(struct mx_timers *ts, uint32_t i)
{
    struct mx_timer *t = ts->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= ts->n)
            break;
        if (c + 1 < ts->n && ts->heap[c + 1]->when < ts->heap[c]->when)
            c++;
        if (t->when <= ts->heap[c]->when)
            break;
        place(ts, i, ts->heap[c]);
        i = c;
    }
    place(ts, i, t);
}

int mx__timer_arm(struct mx_timers *ts, struct mx_timer *t, uint64_t when)
{
    if (mx_timer_armed(t))
        mx__timer_disarm(ts, t);
    if (ts->n == ts->cap) {
        uint32_t cap = ts->cap ? ts->cap * 2 : 16;
        struct mx_timer **h = realloc(ts->heap, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        ts->heap = h;
        ts->cap = cap;
    }
    t->when = when;
    ts->heap[ts->n] = t;
    sift_up(ts, ts->n++);
    return 0;
}

void mx__timer_disarm(struct mx_timers *ts, struct mx_timer *t)
{
    if (!mx_timer_armed(t))
        return;
    uint32_t i = t->idx - 1;
    t->idx = 0;
    if (i == --ts->n)
        return;
    ts->heap[i] = ts->heap[ts->n];
    sift_up(ts, i);
    sift_down(ts, i);
}

uint64_t mx__timers_next(const struct mx_timers *ts)
{
    return ts->n ? ts->heap[0]->when : UINT64_MAX;
}

unsigned mx__timers_run(struct mx_timers *ts, uint64_t now)
{
    unsigned fired = 0;
    while (ts->n && ts->heap[0]->when <= now) {
        struct mx_timer *t = ts->heap[0];
        mx__timer_disarm(ts, t);
        t->fn(t, t->arg);
        fired++;
    }
    return fired;
}

void mx__timers_fini(struct mx_timers *ts)
{
    for (uint32_t i = 0; i < ts->n; i++)
        ts->heap[i]->idx = 0;
    free(ts->heap);
    *ts = (struct mx_timers){ 0 };
}
