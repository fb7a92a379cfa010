/* chat_send.c - queueing lines to a client under its SendQ.
 *
 * A client whose queue would pass the SendQ only gets marked here, and
 * nothing more is queued to it; chat_leave cuts it off (QUIT to its
 * channels, ERROR, close) when the entry point is done. The core would
 * let us cut it on the spot (on_close is deferred, so no memory goes away
 * under a fan-out), but the cut itself cannot run here:
 * - this is often called under chat->mu (NAMES, WHO, LIST replies), and
 *   the cut takes mu to leave the channels;
 * - in a fan-out it would remove the client from the local list being
 *   walked, and its QUIT, a fan-out of its own, would restamp the worker's
 *   de-duplication marks under the outer one (duplicate lines);
 * - a QUIT can overflow others in turn: one flat loop beats recursion.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/chat/chat_int.h"

const char *cl_target(const struct chat_client *cl)
{
    return (cl->flags & CL_NICK) ? cl->nick : "*";
}

static void doom(struct chat_client *cl)
{
    struct chat_worker *wk = &cl->chat->wk[cl->worker];
    cl->flags |= CL_DOOMED;
    cl->next_doomed = wk->doomed;
    wk->doomed = cl;
}

/* Past the SendQ a client is cut, except on a drop_oldest listener,
 * where the core drops its oldest lines instead. On a pause_producer
 * one, past half of it the line's producer is held back (chat_hold.c). */
static bool over_sendq(struct chat_client *cl, size_t queued)
{
    size_t sendq = cl_set(cl)->sendq;
    enum mx_overflow policy = mx_conn_overflow(cl->c);
    if (policy == MX_OVERFLOW_DROP_OLDEST)
        return false;
    if (policy == MX_OVERFLOW_PAUSE_PRODUCER && queued > sendq / 2) {
        if (cl_held_too_long(cl))
            return true;
        cl_hold_producer(cl);
    }
    return queued > sendq;
}

/* Counts the line for STATS l when it fits. */
static bool room(struct chat_client *cl, size_t n)
{
    if (cl->flags & (CL_GONE | CL_DOOMED))
        return false;
    size_t queued = mx_conn_pending(cl->c) + n;
    if (over_sendq(cl, queued)) {
        doom(cl);
        return false;
    }
    atomic_store_explicit(&cl->sendq, queued, memory_order_relaxed);
    chat_count(&cl->out_lines);
    chat_count_n(&cl->out_bytes, n);
    return true;
}

void cl_send(struct chat_client *cl, const char *p, size_t n)
{
    if (room(cl, n))
        mx_conn_send(cl->c, p, n);
}

/* Every line about a client's doing (":nick!user@host ...") is a chunk
 * queued here: counting here counts each delivery once. */
void cl_send_chunk(struct chat_client *cl, struct mx_chunk *ch)
{
    if (room(cl, ch->len) && mx_conn_send_chunk(cl->c, ch) == 0)
        chat_count(&cl->chat->wk[cl->worker].n.deliveries);
}

void cl_printf(struct chat_client *cl, const char *fmt, ...)
{
    char line[IRC_LINE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    size_t len = irc_vfmt(line, sizeof line, fmt, ap);
    va_end(ap);
    cl_send(cl, line, len);
}

void cl_numeric(struct chat_client *cl, unsigned num, const char *fmt, ...)
{
    char line[IRC_LINE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    size_t len = irc_vnumeric(line, sizeof line, cl_set(cl)->o.server_name, num,
                              cl_target(cl), fmt, ap);
    va_end(ap);
    cl_send(cl, line, len);
}

struct mx_chunk *chat_vline(const char *fmt, va_list ap)
{
    char line[IRC_LINE_MAX + 1];
    size_t len = irc_vfmt(line, sizeof line, fmt, ap);
    return len ? mx_chunk_copy(line, len) : NULL;
}

struct mx_chunk *chat_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct mx_chunk *line = chat_vline(fmt, ap);
    va_end(ap);
    return line;
}
