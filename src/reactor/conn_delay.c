/* conn_delay.c - fanout_delay: output that reaches a connection from
 * elsewhere waits a little, so that lines arriving close together leave
 * in one send (fewer sends and less CPU per delivery, for up to that much
 * latency).
 *
 * The rule, applied when a turn ends and flushes a queue (mx__conn_flush):
 *  - output queued while the worker ran the connection's own event (its
 *    input, its opening, an offload result of its: w->self) is a reply:
 *    the whole queue goes out now, in order, whatever waited before it;
 *  - so does the queue of a closing connection, of a stopping worker, on
 *    a listener whose fanout_delay is 0, or past DELAY_MAX bytes;
 *  - anything else (another connection's fan-out, a post from another
 *    worker, a timer's line) waits: the first such turn arms the
 *    connection's deadline at its next flush slot; what comes later
 *    joins the queue and keeps that deadline; at the deadline the queue
 *    goes out.
 * A connection's slots come every fanout_delay ms, at a phase of its own
 * (mx__conn_delay_due). A deadline of now + fanout_delay would put every
 * member of a channel on the deadline its first line armed, so a worker
 * would send to all of them in one burst and their readers would take
 * the whole burst at once: the last of them waits for all the others,
 * and that wait adds to the delay (p99 grew by about 1.7 ms per ms of
 * delay at 1000 members, docs/benchmarks.md). Slots spread the sends
 * evenly over the delay instead. A busy member still gets one send per
 * delay, and a line still waits at most fanout_delay.
 * The deadline is a timer on the worker's heap, kept beside the
 * connection's own timer (conn_timer.c) so that struct mx_conn does not
 * grow: an idle connection's memory and the echo path stay as they were.
 * A move disarms it and flushes the queue on arrival; a cut disarms it
 * with its queue. The queue is the one it always was:
 * output_max, SendQ and drop_oldest see waiting bytes as they see any.
 */
#include "reactor/conn.h"
#include "reactor/server.h"

/* One chunk of the queue's copies (16 KiB): a send that size already
 * pays for its syscall many times over, so waiting for more saves
 * little, and no member holds more than that back. Never above the high
 * water either, or a waiting queue would stop its peer being read. */
#define DELAY_MAX MX_OUTQ_CHUNK

static size_t delay_max(const struct mx_conn *c)
{
    size_t hw = c->w->lim.output_high_water;
    return hw < DELAY_MAX ? hw : DELAY_MAX;
}

static void due(struct mx_timer *t, void *arg)
{
    struct mx_conn *c = arg;
    (void)t;
    c->flags = (c->flags & ~MX_C_DELAYED) | MX_C_PROMPT;
    mx__count(&c->w->stats.fanout_held_flushes, 1);
    mx__conn_mark_dirty(c);
}

void mx__conn_undelay(struct mx_conn *c)
{
    if (!(c->flags & MX_C_DELAYED))
        return;
    mx__timer_disarm(&c->w->timers, mx__conn_delay_timer(c, due));
    c->flags &= ~MX_C_DELAYED;
}

/* Without memory for the deadline the queue goes now: it never waits
 * with nothing to end the wait. */
static bool wait_until(struct mx_conn *c, uint64_t when)
{
    struct mx_timer *t = mx__conn_delay_timer(c, due);
    if (!t || mx__timer_arm(&c->w->timers, t, when) < 0)
        return false;
    c->flags |= MX_C_DELAYED;
    return true;
}

/* A multiplicative hash of the slot index, so that neighbouring slots
 * get phases far apart. */
uint64_t mx__conn_delay_due(const struct mx_conn *c, uint64_t now, unsigned ms)
{
    uint64_t phase = ((uint64_t)(uint32_t)(c->slot * 2654435761u) * ms) >> 32;
    uint64_t due = now - now % ms + phase;
    return due > now ? due : due + ms;
}

static bool goes_now(const struct mx_conn *c, unsigned ms)
{
    return ms == 0 || c->w->stopping || (c->flags & (MX_C_PROMPT | MX_C_CLOSING)) ||
           c->out.bytes >= delay_max(c);
}

bool mx__conn_delay(struct mx_conn *c)
{
    struct mx_worker *w = c->w;
    unsigned ms = atomic_load_explicit(&c->ls->fanout_delay_ms, memory_order_relaxed);
    bool now = goes_now(c, ms);
    c->flags &= ~MX_C_PROMPT;
    if (!now && ((c->flags & MX_C_DELAYED) || wait_until(c, mx__conn_delay_due(c, w->now_ms, ms))))
        return true;
    if (c->flags & MX_C_DELAYED) {
        mx__count(&w->stats.fanout_early_flushes, 1);
        mx__conn_undelay(c);
    }
    return false;
}
