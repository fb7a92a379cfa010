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
 *    worker, a timer's line) waits: the first such turn puts the
 *    connection on its worker's delayed list with the deadline now +
 *    fanout_delay; what comes later joins the queue and keeps that
 *    deadline; at the deadline the queue goes out.
 * A move takes the connection off the list and flushes it on arrival;
 * a cut takes it off with its queue. The queue is the one it always was:
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

/* In deadline order. A listener has one delay, so a newcomer almost
 * always goes last; a reload or listeners of other delays walk back. */
static void link_delayed(struct mx_worker *w, struct mx_conn *c, uint64_t until)
{
    struct mx_conn *after = w->delayed_tail;
    while (after && after->delay_until > until)
        after = after->delay_prev;
    c->delay_until = until;
    c->delay_prev = after;
    c->delay_next = after ? after->delay_next : w->delayed;
    if (c->delay_next)
        c->delay_next->delay_prev = c;
    else
        w->delayed_tail = c;
    if (after)
        after->delay_next = c;
    else
        w->delayed = c;
    c->flags |= MX_C_DELAYED;
}

void mx__conn_undelay(struct mx_conn *c)
{
    struct mx_worker *w = c->w;
    if (!(c->flags & MX_C_DELAYED))
        return;
    if (c->delay_prev)
        c->delay_prev->delay_next = c->delay_next;
    else
        w->delayed = c->delay_next;
    if (c->delay_next)
        c->delay_next->delay_prev = c->delay_prev;
    else
        w->delayed_tail = c->delay_prev;
    c->delay_prev = c->delay_next = NULL;
    c->flags &= ~MX_C_DELAYED;
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
    if (!now) {
        if (!(c->flags & MX_C_DELAYED))
            link_delayed(w, c, w->now_ms + ms);
        return true;
    }
    if (c->flags & MX_C_DELAYED) {
        mx__count(&w->stats.fanout_early_flushes, 1);
        mx__conn_undelay(c);
    }
    return false;
}

uint64_t mx__worker_delay_next(const struct mx_worker *w)
{
    return w->delayed ? w->delayed->delay_until : UINT64_MAX;
}

void mx__worker_delay_due(struct mx_worker *w)
{
    struct mx_conn *c;
    while ((c = w->delayed) && c->delay_until <= w->now_ms) {
        mx__conn_undelay(c);
        mx__count(&w->stats.fanout_held_flushes, 1);
        c->flags |= MX_C_PROMPT;
        mx__conn_mark_dirty(c);
    }
}
