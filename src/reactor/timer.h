/* timer.h - a worker's timers: a binary min-heap of deadlines (ms on the
 * monotonic clock). The caller owns each struct mx_timer; the heap only
 * points to it. Owner thread only. */
#ifndef MUXD_REACTOR_TIMER_H
#define MUXD_REACTOR_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "reactor/clock.h"

struct mx_timer;
typedef void mx_timer_fn(struct mx_timer *t, void *arg);

struct mx_timer {
    uint64_t when;
    mx_timer_fn *fn;
    void *arg;
    uint32_t idx;     /* heap position + 1; 0 = not armed */
};

struct mx_timers {
    struct mx_timer **heap;
    uint32_t n, cap;
};

/* Arms (or re-arms) t to fire at when. -ENOMEM. */
int mx__timer_arm(struct mx_timers *ts, struct mx_timer *t, uint64_t when);
void mx__timer_disarm(struct mx_timers *ts, struct mx_timer *t);
static inline bool mx_timer_armed(const struct mx_timer *t) { return t->idx != 0; }

/* Earliest deadline, or UINT64_MAX when nothing is armed. */
uint64_t mx__timers_next(const struct mx_timers *ts);

/* Fires every timer due at now (each is disarmed before its callback, which
 * may re-arm it). Returns how many fired. */
unsigned mx__timers_run(struct mx_timers *ts, uint64_t now);

void mx__timers_fini(struct mx_timers *ts);

#endif
