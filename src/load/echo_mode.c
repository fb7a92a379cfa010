/* echo_mode.c - echo and work modes: when the echo engine (echo.c) issues
 * messages. Closed loop: every light connection starts with -d messages
 * and issues a new one as each completes. Open loop: the thread's share
 * of --rate is a fixed schedule, message k due at t0 + k / rate, handed to
 * the light connections in turn; its latency counts from that due time
 * (coordinated omission corrected), so a server that stalls cannot hide
 * the stall by slowing the client down. Heavy clients (work mode) run
 * back to back in either case (heavy.c). */
#include <stdlib.h>

#include "clock.h"
#include "echo.h"
#include "heavy.h"
#include "modes.h"

static int echo_init(struct ld_thread *th)
{
    return ld_echo_alloc(th, th->rate > 0 ? LD_OPEN_QCAP : th->o->depth);
}

/* The light connections that came up, for the open loop's round robin. */
static int collect_light(struct ld_thread *th)
{
    th->light = malloc((th->n ? th->n : 1) * sizeof *th->light);
    if (!th->light)
        return ld_fail(th, LD_ERROR, "out of memory");
    for (unsigned i = 0; i < th->n; i++)
        if (th->cs[i].state == LD_C_UP && !th->cs[i].heavy)
            th->light[th->nlight++] = i;
    th->interval_ns = th->rate > 0 ? (double)NS_PER_S / th->rate : 0.0;
    return 0;
}

static int echo_start(struct ld_thread *th, uint64_t now)
{
    if (collect_light(th) < 0)
        return -1;
    for (unsigned i = 0; i < th->n; i++) {
        struct ld_conn *c = &th->cs[i];
        if (c->state != LD_C_UP)
            continue;
        if (c->heavy) {
            if (ld_heavy_start(th, c, now) < 0)
                return -1;
            continue;
        }
        for (unsigned k = 0; th->rate == 0 && k < th->o->depth; k++)
            ld_echo_issue(th, c, now);
        if (ld_echo_pump_out(th, c) < 0)
            return -1;
    }
    return 0;
}

static uint64_t due_at(const struct ld_thread *th, uint64_t k)
{
    return th->tm.t0 + (uint64_t)((double)k * th->interval_ns);
}

/* Open loop: everything due by now, unless the next connection has no
 * room (then the schedule waits for a completion; what it owes goes out
 * late and its latency says so). */
static int echo_tick(struct ld_thread *th, uint64_t now)
{
    if (th->rate == 0 || th->nlight == 0)
        return 0;
    th->stalled = false;
    uint64_t t;
    while ((t = due_at(th, th->sched_k)) <= now && t < th->tm.stop) {
        struct ld_conn *c = &th->cs[th->light[th->robin]];
        if (!ld_echo_room(c)) {
            th->stalled = true;
            return 0;
        }
        ld_echo_issue(th, c, t);
        th->sched_k++;
        th->robin = (th->robin + 1) % th->nlight;
        if (ld_echo_pump_out(th, c) < 0)
            return -1;
    }
    return 0;
}

static uint64_t echo_next_due(const struct ld_thread *th, uint64_t now)
{
    if (th->rate == 0 || th->nlight == 0 || th->stalled)
        return UINT64_MAX;
    uint64_t t = due_at(th, th->sched_k);
    return t < th->tm.stop ? t : UINT64_MAX;
}

static bool echo_done(const struct ld_thread *th, uint64_t now)
{
    bool scheduled = th->rate > 0 && th->nlight > 0 && due_at(th, th->sched_k) < th->tm.stop;
    return now >= th->tm.stop && th->pending == 0 && !scheduled;
}

const struct ld_mode_ops ld_echo_ops = {
    .init = echo_init,
    .fini = ld_echo_free,
    .on_event = ld_echo_event,
    .start = echo_start,
    .tick = echo_tick,
    .next_due = echo_next_due,
    .done = echo_done,
    .give_up = ld_echo_give_up,
};
