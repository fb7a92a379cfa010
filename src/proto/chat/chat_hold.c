/* chat_hold.c - overflow = pause_producer: a member whose queue passes
 * half its SendQ holds back whoever feeds it until it has taken it all.
 *
 * Every entry into a worker names the client whose doing it carries out
 * (chat_worker.src: the one whose line is being handled, or the sender of
 * a fan-out post). A congested member records that producer once and
 * posts it a hold: the producer stops being read. When the member's queue
 * empties (on_drain) or it goes, each producer gets a release; reading
 * resumes when none holds it and flood control does not either. The
 * other half of the SendQ takes what was already read and is still on its
 * way; a member fed by more than CHAT_HOLD_MAX producers at once, one
 * that still passes its SendQ, or one that holds its producers longer
 * than ping_timeout is cut as under disconnect: memory and a channel's
 * stall stay bounded whatever the clients do.
 *
 * Holds follow conn ids. A move to another worker changes a client's id,
 * so a moving producer drops its holds and reads again (chat_hold_moved),
 * and the stale releases meant for it find no connection.
 */
#include <stdlib.h>

#include "muxd/clock.h"
#include "muxd/log.h"
#include "proto/chat/chat_int.h"

#define CHAT_HOLD_MAX 256

static void hold(struct chat_client *p)
{
    if (p->holds++ == 0)
        mx_conn_pause(p->c);
}

static void hold_run(struct mx_conn *c, void *arg)
{
    (void)arg;
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (!cl)
        return;
    struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
    if (!(cl->flags & CL_GONE))
        hold(cl);
    chat_leave(wk);
}

static void release_run(struct mx_conn *c, void *arg)
{
    (void)arg;
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (!cl)
        return;
    struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
    if (cl->holds > 0 && --cl->holds == 0 && !(cl->flags & CL_FLOOD))
        mx_conn_resume(c);
    chat_leave(wk);
}

static bool holding(const struct chat_client *cl, uint64_t src)
{
    for (unsigned i = 0; i < cl->nheld; i++)
        if (cl->held[i] == src)
            return true;
    return false;
}

static bool room_for_one(struct chat_client *cl)
{
    if (cl->nheld < cl->capheld)
        return true;
    if (cl->capheld == CHAT_HOLD_MAX)
        return false;
    unsigned cap = cl->capheld ? cl->capheld * 2 : 8;
    uint64_t *v = realloc(cl->held, cap * sizeof *v);
    if (!v)
        return false;
    cl->held = v;
    cl->capheld = cap;
    return true;
}

void cl_hold_producer(struct chat_client *cl)
{
    struct chat_worker *wk = &cl->chat->wk[cl->worker];
    uint64_t src = wk->src;
    if (!wk->has_src || src == cl->id || holding(cl, src) || !room_for_one(cl))
        return;
    /* The producer whose lines this worker is handling right now stops
     * after this one (take_lines); any other, when the post reaches it. */
    if (wk->src_cl && wk->src_cl->id == src)
        hold(wk->src_cl);
    else if (mx_server_post(cl->chat->srv, src, hold_run, NULL) < 0)
        return;
    if (cl->nheld == 0)
        cl->held_since_ms = mx_loop_now_ms();
    cl->held[cl->nheld++] = src;
    chat_count(&wk->n.producer_holds);
}

/* A member that does not read would hold its channels forever: past
 * ping_timeout (30 s without pings) it counts as over its SendQ, checked
 * at the next line queued to it (its own PING at the latest). */
bool cl_held_too_long(const struct chat_client *cl)
{
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    uint64_t limit = o->ping_timeout_ms ? o->ping_timeout_ms : 30000;
    return cl->nheld > 0 && mx_loop_now_ms() - cl->held_since_ms >= limit;
}

void cl_release_producers(struct chat_client *cl)
{
    for (unsigned i = 0; i < cl->nheld; i++)
        if (mx_server_post(cl->chat->srv, cl->held[i], release_run, NULL) < 0)
            mx_warn("chat: out of memory: conn %llu stays held by %s",
                    (unsigned long long)cl->held[i], cl->nick);
    cl->nheld = 0;
}

void chat_hold_moved(struct chat_client *cl)
{
    cl_release_producers(cl);
    if (cl->holds > 0) {
        cl->holds = 0;
        if (!(cl->flags & CL_FLOOD))
            mx_conn_resume(cl->c);
    }
}
