/* chat_fanout.c - one formatted line to many members on many workers,
 * and the clients that cannot take it.
 *
 * The line is one shared chunk. The calling worker queues it to its own
 * members directly; every other worker with members gets one post and
 * queues it to its own. Posts from one worker to another run in order,
 * so every member sees one sender's lines in the order sent.
 *
 * A member over its SendQ is only marked meanwhile (chat_send.c); every
 * entry point, these posts included, leaves through chat_leave, which
 * cuts the marked ones off with a QUIT: a fan-out of its own. That loop
 * is why QUIT and closing a link live here (chat_int.h: the layering).
 */
#include <stdarg.h>
#include <stdlib.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost

static void wset_add(struct chat_wset *s, unsigned w)
{
    s->w[w / 64] |= 1ull << (w % 64);
}

static bool wset_has(const struct chat_wset *s, unsigned w)
{
    return s->w[w / 64] >> (w % 64) & 1;
}

/* On worker w: m to each of w's members of chans, once each. The local
 * lists are w's own, so no lock; so is each member's caps (its owner is
 * w). A member without capabilities, on a line everyone gets, takes
 * the plain line as before. */
static void deliver_local(struct mx_chat *chat, unsigned w, struct chat_channel **chans,
                          unsigned nchans, struct chat_msg *m, const struct chat_client *skip)
{
    uint64_t stamp = ++chat->wk[w].stamp;
    struct mx_chunk *plain = atomic_load_explicit(&m->v[0], memory_order_relaxed);
    for (unsigned i = 0; i < nchans; i++) {
        const struct chat_local *l = &chans[i]->local[w];
        for (unsigned j = 0; j < l->n; j++) {
            struct chat_client *cl = l->v[j];
            if (cl == skip || cl->mark == stamp)
                continue;
            cl->mark = stamp;
            if ((cl->caps | m->need) == 0)
                cl_send_chunk(cl, plain);
            else
                cl_send_msg(cl, m);
        }
    }
}

struct fan_post {
    struct mx_chat *chat;
    unsigned worker;
    bool has_src;                   /* the sender's conn id (chat_hold.c) */
    uint64_t src;
    unsigned nchans;
    struct chat_msg *msg;
    struct chat_channel *chans[];
};

static bool has_local(const struct fan_post *fp)
{
    for (unsigned i = 0; i < fp->nchans; i++)
        if (fp->chans[i]->local[fp->worker].n)
            return true;
    return false;
}

static void fan_free(struct fan_post *fp)
{
    chat_msg_unref(fp->msg);
    for (unsigned i = 0; i < fp->nchans; i++)
        chan_unref(fp->chans[i]);
    free(fp);
}

static void fan_run(void *arg)
{
    struct fan_post *fp = arg;
    /* A post left over at server free finds no members (every client
     * has closed) and must not claim the worker's state from that thread. */
    if (has_local(fp)) {
        struct chat_worker *wk = chat_enter(fp->chat, fp->worker);
        wk->has_src = fp->has_src;
        wk->src = fp->src;
        deliver_local(fp->chat, fp->worker, fp->chans, fp->nchans, fp->msg, NULL);
        chat_leave(wk);
    }
    fan_free(fp);
}

/* has_src and src: the sender whose doing this is, if any (chat_hold.c). */
static void post_to(struct mx_chat *chat, bool has_src, uint64_t src, unsigned w,
                    struct chat_channel **chans, unsigned nchans, struct chat_msg *m)
{
    struct fan_post *fp = malloc(sizeof *fp + nchans * sizeof *fp->chans);
    if (!fp) {
        mx_warn("chat: out of memory: a line to worker %u is lost", w);
        return;
    }
    *fp = (struct fan_post){ .chat = chat, .worker = w, .has_src = has_src, .src = src,
                             .nchans = nchans, .msg = chat_msg_ref(m) };
    for (unsigned i = 0; i < nchans; i++) {
        fp->chans[i] = chans[i];
        chan_ref(chans[i]);
    }
    if (mx_server_run(chat->srv, w, fan_run, fp) < 0) {
        /* Not run here: w's lists are w's alone. */
        mx_warn("chat: out of memory: a line to worker %u is lost", w);
        fan_free(fp);
    }
}

static void fanout(struct chat_aud *a, struct chat_msg *m, const struct chat_client *skip)
{
    for (unsigned w = 0; w < a->chat->nworkers; w++)
        if (w != a->self && wset_has(&a->ws, w))
            post_to(a->chat, a->chat->wk[a->self].has_src, a->chat->wk[a->self].src, w,
                    a->v, a->n, m);
    deliver_local(a->chat, a->self, a->v, a->n, m, skip);
}

void chan_fanout_posted(struct mx_chat *chat, const char *const *names, unsigned n,
                        struct chat_msg *m)
{
    struct chat_wset ws = { 0 };
    struct chat_channel *chans[CHAT_POSTED_MAX];
    unsigned k = 0;
    chat_lock(chat);
    unsigned nworkers = chat->nworkers;
    for (unsigned i = 0; i < n && k < CHAT_POSTED_MAX; i++) {
        struct chat_channel *ch = chan_find(chat, names[i]);
        if (!ch)
            continue;
        chan_ref(ch);
        chans[k++] = ch;
        for (unsigned w = 0; w < nworkers; w++)
            if (ch->per_worker[w])
                wset_add(&ws, w);
    }
    chat_unlock(chat);
    /* One post per worker with all the channels: a member of several
     * gets the line once (deliver_local's stamp). */
    for (unsigned w = 0; k && m && w < nworkers; w++)
        if (wset_has(&ws, w))
            post_to(chat, false, 0, w, chans, k, m);
    for (unsigned i = 0; i < k; i++)
        chan_unref(chans[i]);
    chat_msg_unref(m);
}

/* ---- audiences ----------------------------------------------------------- */

void aud_init(struct chat_aud *a, const struct chat_client *cl, unsigned want)
{
    *a = (struct chat_aud){ .chat = cl->chat, .self = cl->worker, .cap = CHAT_AUD_INLINE };
    a->v = a->inl;
    if (want > CHAT_AUD_INLINE) {
        struct chat_channel **v = malloc(want * sizeof *v);
        if (v) {
            a->v = v;
            a->cap = want;
        }
    }
}

bool aud_add(struct chat_aud *a, struct chat_channel *ch)
{
    if (a->n == a->cap)
        return false;
    a->v[a->n++] = ch;
    chan_ref(ch);
    for (unsigned w = 0; w < a->chat->nworkers; w++)
        if (ch->per_worker[w])
            wset_add(&a->ws, w);
    return true;
}

/* Lets the audience's channels go. */
static void aud_release(struct chat_aud *a)
{
    for (unsigned i = 0; i < a->n; i++)
        chan_unref(a->v[i]);
    if (a->v != a->inl)
        free(a->v);
    a->v = a->inl;
    a->n = 0;
    a->cap = CHAT_AUD_INLINE;
}

void aud_msg(struct chat_aud *a, struct chat_msg *m, const struct chat_client *skip)
{
    if (m && a->n)
        fanout(a, m, skip);
    chat_msg_unref(m);
    aud_release(a);
}

void aud_line(struct chat_aud *a, struct mx_chunk *line, const struct chat_client *skip)
{
    aud_msg(a, line && a->n ? chat_msg_new(mx_chunk_ref(line), NULL, NULL, 0) : NULL, skip);
}

struct chat_msg *chat_join_msg(const struct chat_client *cl, const char *chan)
{
    return chat_msg_new(chat_line(":%s!%s@%s JOIN :%s", PFX(cl), chan),
                        chat_line(":%s!%s@%s JOIN %s * :%s", PFX(cl), chan, cl->real), NULL, 0);
}

void aud_join(struct chat_aud *a, struct chat_client *cl, const char *chan)
{
    if (!a->n) {
        aud_release(a);
        return;
    }
    struct chat_msg *join = chat_join_msg(cl, chan);
    if (join)
        fanout(a, join, NULL);
    chat_msg_unref(join);
    /* away-notify: members learn at once that the newcomer is away. */
    struct chat_msg *away = cl->away
        ? chat_msg_new(chat_line(":%s!%s@%s AWAY :%s", PFX(cl), cl->away), NULL, NULL,
                       CAP_AWAY_NOTIFY) : NULL;
    if (away)
        fanout(a, away, cl);
    chat_msg_unref(away);
    aud_release(a);
}

void chat_tell_peers(struct chat_client *cl, struct chat_msg *m, bool self_too)
{
    struct mx_chat *chat = cl->chat;
    struct chat_aud a;
    aud_init(&a, cl, cl->nchans);
    chat_lock(chat);
    for (unsigned i = 0; i < cl->nchans && aud_add(&a, cl->chans[i]); i++)
        ;
    chat_unlock(chat);
    /* In no channel, or its own copy: straight to it. */
    if (self_too && m)
        cl_send_msg(cl, m);
    aud_msg(&a, m, cl);
}

void aud_send(struct chat_aud *a, const struct chat_client *skip, const char *fmt, ...)
{
    struct mx_chunk *line = NULL;
    if (a->n) {
        va_list ap;
        va_start(ap, fmt);
        line = chat_vline(fmt, ap);
        va_end(ap);
    }
    aud_line(a, line, skip);
    mx_chunk_unref(line);
}

/* ---- to one client ------------------------------------------------------- */

struct send_post {
    struct chat_msg *msg;
    bool has_src;                   /* the sender's conn id (chat_hold.c) */
    uint64_t src;
};

static void send_run(struct mx_conn *c, void *arg)
{
    struct send_post *sp = arg;
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (cl) {
        struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
        wk->has_src = sp->has_src;
        wk->src = sp->src;
        cl_send_msg(cl, sp->msg);
        chat_leave(wk);
    }
    chat_msg_unref(sp->msg);
    free(sp);
}

static void post_msg(struct mx_chat *chat, uint64_t to_id, struct chat_msg *m, bool has_src,
                     uint64_t src)
{
    struct send_post *sp = malloc(sizeof *sp);
    if (sp)
        *sp = (struct send_post){ chat_msg_ref(m), has_src, src };
    if (!sp || mx_server_post(chat->srv, to_id, send_run, sp) < 0) {
        mx_warn("chat: out of memory: a line to conn %llu is lost", (unsigned long long)to_id);
        if (sp)
            chat_msg_unref(sp->msg);
        free(sp);
    }
}

void chat_send_msg_to(struct mx_chat *chat, unsigned self, struct chat_client *to,
                      unsigned to_worker, uint64_t to_id, struct chat_msg *m)
{
    if (!m)
        return;
    if (to_worker == self) {
        cl_send_msg(to, m);
        return;
    }
    post_msg(chat, to_id, m, chat->wk[self].has_src, chat->wk[self].src);
}

void chat_post_msg(struct mx_chat *chat, uint64_t to_id, struct chat_msg *m)
{
    if (m)
        post_msg(chat, to_id, m, false, 0);
}

void chat_send_to(struct mx_chat *chat, unsigned self, struct chat_client *to,
                  unsigned to_worker, uint64_t to_id, struct mx_chunk *line)
{
    if (!line)
        return;
    if (to_worker == self) {
        cl_send_chunk(to, line);
        return;
    }
    struct chat_msg *m = chat_msg_new(mx_chunk_ref(line), NULL, NULL, 0);
    chat_send_msg_to(chat, self, to, to_worker, to_id, m);
    chat_msg_unref(m);
}

/* ---- invite-notify -------------------------------------------------------- */

struct peer {
    struct chat_client *cl;
    unsigned worker;
    uint64_t id;
};

void chat_invite_notify(struct chat_client *cl, struct chat_channel *ch, uint64_t target,
                        struct mx_chunk *line)
{
    struct mx_chat *chat = cl->chat;
    unsigned n = 0;
    chat_lock(chat);
    /* Who is told: the operators (those who may invite) that asked. */
    struct peer *v = malloc(ch->n * sizeof *v);
    for (unsigned i = 0; v && i < ch->n; i++) {
        struct chat_client *m = ch->m[i].cl;
        if ((ch->m[i].modes & MEM_OP) && (m->caps & CAP_INVITE_NOTIFY) && m != cl &&
            m->id != target)
            v[n++] = (struct peer){ m, m->worker, m->id };
    }
    chat_unlock(chat);
    struct chat_msg *msg = n ? chat_msg_new(mx_chunk_ref(line), NULL, NULL, 0) : NULL;
    for (unsigned i = 0; msg && i < n; i++)
        chat_send_msg_to(chat, cl->worker, v[i].cl, v[i].worker, v[i].id, msg);
    chat_msg_unref(msg);
    free(v);
}

/* ---- quitting and cutting off -------------------------------------------- */

void chat_quit(struct chat_client *cl, const char *reason)
{
    struct mx_chat *chat = cl->chat;
    if (cl->flags & CL_GONE)
        return;
    struct mx_chunk *line = chat_line(":%s!%s@%s QUIT :%s", PFX(cl), reason);
    /* Without memory for an audience of every channel, a few at a time:
     * a peer on several may then see the QUIT more than once. */
    while (!(cl->flags & CL_GONE)) {
        struct chat_aud a;
        aud_init(&a, cl, cl->nchans);
        chat_lock(chat);
        while (cl->nchans && aud_add(&a, cl->chans[0]))
            member_del(chat, cl->chans[0], cl);
        if (cl->nchans == 0)
            cl_forget(cl);
        chat_unlock(chat);
        wire_user_line(chat, a.v, a.n, line);
        aud_line(&a, line, cl);
    }
    mx_chunk_unref(line);
}

void chat_close_link(struct chat_client *cl, const char *why, bool log)
{
    char line[IRC_LINE_MAX + 1];
    chat_quit(cl, why);
    /* Past the SendQ check on purpose: the queue keeps room for this. */
    size_t n = irc_fmt(line, sizeof line, "ERROR :Closing Link: %s (%s)",
                       (cl->flags & CL_NICK) ? cl->nick : cl->host, why);
    mx_conn_send(cl->c, line, n);
    mx_conn_close(cl->c, log ? why : NULL);
}

/* ---- entering and leaving ------------------------------------------------ */

struct chat_worker *chat_enter(struct mx_chat *chat, unsigned worker)
{
    struct chat_worker *wk = &chat->wk[worker];
#ifdef MX_ASSERT_OWNER
    if (!wk->tid_set) {
        wk->tid = pthread_self();
        wk->tid_set = true;
    } else if (!pthread_equal(wk->tid, pthread_self())) {
        mx_error("chat: worker %u's state touched from another thread", worker);
        abort();
    }
    /* chat_leave cuts clients off: inside another entry, that would be in
     * the middle of its fan-out. muxd never nests callbacks; check it. */
    if (wk->inside) {
        mx_error("chat: worker %u entered twice", worker);
        abort();
    }
    wk->inside = true;
#endif
    return wk;
}

/* Cuts off the clients that overflowed their SendQ during this entry:
 * their QUIT may overflow others, who join the list. */
void chat_leave(struct chat_worker *wk)
{
    struct chat_client *cl;
    while ((cl = wk->doomed)) {
        wk->doomed = cl->next_doomed;
        cl->flags &= ~CL_DOOMED;
        if (cl->flags & CL_GONE)
            continue;
        chat_count(&wk->n.sendq_kills);
        chat_close_link(cl, "SendQ exceeded", true);
    }
    wk->has_src = false;
    wk->src_cl = NULL;
    wk->inside = false;
}

