/* conn_timer.c - one timer per connection (mx_conn_timer), allocated on
 * first use so an idle connection that never sets one pays a pointer. It
 * lives on the owner worker's heap and is disarmed when the connection
 * closes, so it never fires for a closed connection. */
#include <errno.h>
#include <stdlib.h>

#include "io/fault.h"
#include "muxd/conn.h"
#include "reactor/conn.h"

struct mx_conn_timer {
    struct mx_timer t;
    struct mx_conn *c;
    mx_conn_timer_fn *fn;
    void *arg;
    struct mx_timer delay;      /* fanout_delay's deadline (conn_delay.c) */
};

static void fire(struct mx_timer *t, void *arg)
{
    struct mx_conn_timer *ct = arg;
    (void)t;
    ct->fn(ct->c, ct->arg);
}

static struct mx_conn_timer *timer_of(struct mx_conn *c)
{
    if (!c->timer) {
        if (MX_FAULT(MX_FAULT_ALLOC) || !(c->timer = calloc(1, sizeof *c->timer)))
            return NULL;
        c->timer->t = (struct mx_timer){ .fn = fire, .arg = c->timer };
        c->timer->c = c;
    }
    return c->timer;
}

struct mx_timer *mx__conn_delay_timer(struct mx_conn *c, mx_timer_fn *fn)
{
    struct mx_conn_timer *ct = timer_of(c);
    if (!ct)
        return NULL;
    ct->delay.fn = fn;
    ct->delay.arg = c;
    return &ct->delay;
}

int mx__conn_timer_arm(struct mx_conn *c, unsigned ms, mx_conn_timer_fn *fn, void *arg)
{
    if (c->flags & MX_C_DEAD)
        return -ECONNRESET;
    if (!timer_of(c))
        return -ENOMEM;
    c->timer->fn = fn;
    c->timer->arg = arg;
    /* At least 1 ms: a timer re-armed for "now" from its own callback
     * would otherwise fire again within the same run, forever. */
    return mx__timer_arm(&c->w->timers, &c->timer->t, c->w->now_ms + (ms ? ms : 1));
}

int mx_conn_timer(struct mx_conn *c, unsigned ms, mx_conn_timer_fn *fn, void *arg)
{
    MX_OWNER_ASSERT(c);
    /* A closing connection's timer is its close deadline (conn.c). */
    if (c->flags & MX_C_CLOSING)
        return -ECONNRESET;
    return mx__conn_timer_arm(c, ms, fn, arg);
}

void mx_conn_timer_stop(struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    if (c->timer && !(c->flags & MX_C_CLOSING))
        mx__timer_disarm(&c->w->timers, &c->timer->t);
}

void mx__conn_timer_free(struct mx_conn *c)
{
    if (!c->timer)
        return;
    mx__timer_disarm(&c->w->timers, &c->timer->t);
    mx__timer_disarm(&c->w->timers, &c->timer->delay);
    free(c->timer);
    c->timer = NULL;
}

uint64_t mx__conn_timer_take(struct mx_conn *c)
{
    if (!c->timer || !mx_timer_armed(&c->timer->t))
        return 0;
    mx__timer_disarm(&c->w->timers, &c->timer->t);
    return c->timer->t.when;
}

int mx__conn_timer_put(struct mx_conn *c, uint64_t when)
{
    return mx__timer_arm(&c->w->timers, &c->timer->t, when);
}
