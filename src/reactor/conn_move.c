/* conn_move.c - a connection's move to another worker, in three steps on
 * the thread that owns it at the time (resize.c runs them):
 *  - suspend: the backend stops every operation on the socket; bytes it
 *    had already received are still delivered, output keeps queueing;
 *  - leave: out of the old worker's tables (every worker paused);
 *  - arrive: into the new worker's tables and backend (every worker
 *    paused), the protocol told, the queue flushed at the end of the turn.
 */
#include <unistd.h>

#include "io/backend.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/offload.h"
#include "reactor/server.h"

void mx__conn_suspend(struct mx_conn *c)
{
    struct mx_worker *w = c->w;
    MX_OWNER_ASSERT(c);
    if (c->flags & (MX_C_MOVING | MX_C_DEAD))
        return;
    /* The deadline is on the old worker's heap: a queue waiting there goes
     * out as soon as the new one has it. */
    if (c->flags & MX_C_DELAYED) {
        mx__conn_undelay(c);
        mx__count(&w->stats.fanout_early_flushes, 1);
        c->flags |= MX_C_PROMPT;
    }
    c->flags = (c->flags | MX_C_MOVING) & ~MX_C_RECV_ON;
    if (w->be->suspend(w, c) && !(c->flags & MX_C_DEAD)) {
        c->flags |= MX_C_QUIETING;
        w->quieting++;
    }
}

void mx__conn_quiet(struct mx_conn *c)
{
    if (!(c->flags & MX_C_QUIETING))
        return;
    c->flags &= ~MX_C_QUIETING;
    c->w->quieting--;
}

void mx__conn_leave(struct mx_conn *c, struct mx__move *m)
{
    struct mx_worker *w = c->w;
    MX_OWNER_ASSERT(c);
    /* The turn has ended: nothing is owed a flush, no job is out. */
    *m = (struct mx__move){ .c = c, .old_id = mx_conn_id(c),
                            .timer_when = mx__conn_timer_take(c) };
    mx__worker_idle_unlink(w, c);
    mx__worker_slot_release(w, c);
    mx__count(&w->stats.conns_moved_out, 1);
}

/* The new worker could not take it: the socket is all that is left to
 * close (its protocol still hears of it). */
static void lost(struct mx_worker *w, struct mx_conn *c)
{
    mx_warn("conn to %s closed: no memory to move it to worker w%u", mx_conn_peer_str(c), w->idx);
    close(c->fd);
    mx__server_conn_gone(w->srv, c->admit_ticket);
    mx__offload_drop_pending(c);
    if ((c->flags & MX_C_OPENED) && c->ls->proto->on_close)
        c->ls->proto->on_close(c);
    mx__outq_clear(&c->out);
    mx__conn_timer_free(c);
    mx__conn_free(c);
}

void mx__conn_arrive(struct mx_worker *w, const struct mx__move *m)
{
    struct mx_conn *c = m->c;
    c->w = w;
    if (mx__worker_slot_take(w, c) < 0) {
        lost(w, c);
        return;
    }
    mx__count(&w->stats.conns_moved_in, 1);
    /* A move counts as activity: the idle list stays in order. */
    mx__worker_touch(w, c);
    if (m->timer_when && mx__conn_timer_put(c, m->timer_when) < 0)
        mx_warn("conn %s: no memory for its timer after a move", mx_conn_peer_str(c));
    c->flags &= ~MX_C_MOVING;
    if (w->be->attach(w, c) < 0) {
        mx__conn_abort(c, "could not be attached after a move");
        return;
    }
    c->flags |= MX_C_RECV_ON;
    mx__conn_update_recv(c);
    if ((c->flags & MX_C_OPENED) && c->ls->proto->on_move)
        c->ls->proto->on_move(c, m->old_id);
    if ((c->in.len > 0 || (c->flags & MX_C_EOF)) && (c->flags & MX_C_OPENED))
        c->flags |= MX_C_REOFFER;
    mx__conn_mark_dirty(c);
}
