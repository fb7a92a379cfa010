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
#include <stdint.h>
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

static void lr_take(struct chat_client *cl, struct mx_chunk *ch);

void cl_send(struct chat_client *cl, const char *p, size_t n)
{
    if (cl->lr) {
        struct mx_chunk *ch = mx_chunk_copy(p, n);
        if (ch)
            lr_take(cl, ch);
        mx_chunk_unref(ch);
    } else if (room(cl, n)) {
        mx_conn_send(cl->c, p, n);
    }
}

static void queue_chunk(struct chat_client *cl, struct mx_chunk *ch)
{
    if (room(cl, ch->len) && mx_conn_send_chunk(cl->c, ch) == 0)
        chat_count(&cl->chat->wk[cl->worker].n.deliveries);
}

/* Every line about a client's doing (":nick!user@host ...") is a chunk
 * queued here: counting here counts each delivery once. A fan-out hands
 * a server-time client a variant that has its @time already; a line
 * sent straight to one client gets it here, once. */
void cl_send_chunk(struct chat_client *cl, struct mx_chunk *ch)
{
    struct mx_chunk *stamped = NULL;
    if ((cl->caps & CAP_SERVER_TIME) && ch->len && ch->data[0] != '@' &&
        (stamped = chat_time_tagged(ch)))
        ch = stamped;
    if (cl->lr)
        lr_take(cl, ch);
    else
        queue_chunk(cl, ch);
    mx_chunk_unref(stamped);
}

void cl_send_msg(struct chat_client *cl, struct chat_msg *m)
{
    struct mx_chunk *ch = chat_msg_for(m, cl->caps);
    if (ch)
        cl_send_chunk(cl, ch);
}

/* ---- labeled-response ---------------------------------------------------- */

/* ch with "@key=value" put first among its tags, queued. */
static void queue_tagged(struct chat_client *cl, struct mx_chunk *ch, const char *key,
                         const char *value)
{
    bool tagged = ch->len && ch->data[0] == '@';
    size_t nk = strlen(key), nv = strlen(value);
    struct mx_chunk *out = mx_chunk_new(1 + nk + 1 + nv + 1 + ch->len);
    if (!out)
        return;
    char *p = out->data;
    *p++ = '@';
    memcpy(p, key, nk);
    p += nk;
    *p++ = '=';
    memcpy(p, value, nv);
    p += nv;
    *p++ = tagged ? ';' : ' ';
    memcpy(p, ch->data + tagged, ch->len - tagged);
    p += ch->len - tagged;
    out->len = (uint32_t)(p - out->data);
    queue_chunk(cl, out);
    mx_chunk_unref(out);
}


static void lr_take(struct chat_client *cl, struct mx_chunk *ch)
{
    struct chat_lr *lr = cl->lr;
    if (!lr->batch && !lr->first) {
        lr->first = mx_chunk_ref(ch);
        return;
    }
    if (!(cl->caps & CAP_BATCH)) {
        /* Without batch, only a lone reply can carry the label. */
        if (lr->first) {
            queue_chunk(cl, lr->first);
            mx_chunk_unref(lr->first);
            lr->first = NULL;
            lr->batch = true;
        }
        queue_chunk(cl, ch);
        return;
    }
    if (!lr->batch) {
        /* A new reference per batch, unique on the connection. */
        snprintf(lr->id, sizeof lr->id, "lr%u", ++cl->batches);
        char line[IRC_LINE_MAX + 1];
        size_t n = irc_fmt(line, sizeof line, ":%s BATCH +%s labeled-response",
                           cl_set(cl)->o.server_name, lr->id);
        struct mx_chunk *start = mx_chunk_copy(line, n);
        if (start)
            queue_tagged(cl, start, "label", lr->label);
        mx_chunk_unref(start);
        queue_tagged(cl, lr->first, "batch", lr->id);
        mx_chunk_unref(lr->first);
        lr->first = NULL;
        lr->batch = true;
    }
    queue_tagged(cl, ch, "batch", lr->id);
}

void cl_label_begin(struct chat_client *cl, struct chat_lr *lr, const char *label)
{
    *lr = (struct chat_lr){ 0 };
    if (strlen(label) > CHAT_LABEL_MAX ||
        irc_tag_escape(label, strlen(label), lr->label, sizeof lr->label) == SIZE_MAX)
        return;
    cl->lr = lr;
}

void cl_label_end(struct chat_client *cl)
{
    struct chat_lr *lr = cl->lr;
    if (!lr)
        return;
    cl->lr = NULL;
    const char *srv = cl_set(cl)->o.server_name;
    char line[IRC_LINE_MAX + 1];
    if (lr->first) {
        queue_tagged(cl, lr->first, "label", lr->label);
        mx_chunk_unref(lr->first);
    } else if (lr->batch && (cl->caps & CAP_BATCH)) {
        cl_send(cl, line, irc_fmt(line, sizeof line, ":%s BATCH -%s", srv, lr->id));
    } else if (!lr->batch) {
        struct mx_chunk *ack = mx_chunk_copy(line, irc_fmt(line, sizeof line, ":%s ACK", srv));
        if (ack)
            queue_tagged(cl, ack, "label", lr->label);
        mx_chunk_unref(ack);
    }
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

/* multi-prefix: every prefix a member has, highest first; else the
 * highest alone. */
const char *chat_prefixes(const struct chat_client *viewer, unsigned modes, char *buf)
{
    size_t n = 0;
    if (modes & MEM_OP)
        buf[n++] = '@';
    if ((modes & MEM_VOICE) && (n == 0 || (viewer->caps & CAP_MULTI_PREFIX)))
        buf[n++] = '+';
    buf[n] = '\0';
    return buf;
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
