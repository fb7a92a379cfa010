/* chat.c - the chat service's callbacks: line framing, flood control, the
 * per-client timer (registration, PING, flood), and making and freeing
 * the service (see chat_int.h for who may touch what and which file may
 * call which: this one is on top).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/clock.h"
#include "muxd/log.h"
#include "proto/chat/chat_int.h"

static void client_free(struct chat_client *cl)
{
    free(cl->away);
    free(cl->oper);
    free(cl->chans);
    free(cl->held);
    free(cl);
}

/* ---- the timer ----------------------------------------------------------- */

static uint64_t flood_due(const struct chat_client *cl)
{
    double missing = 1.0 - cl->tokens;
    return cl->tokens_ms + (uint64_t)(missing * 1000.0 / cl_set(cl)->o.flood_rate) + 1;
}

/* The earliest of what the client waits for. */
static uint64_t next_due(const struct chat_client *cl)
{
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    uint64_t due = UINT64_MAX;
    if (cl->flags & CL_FLOOD)
        due = flood_due(cl);
    if (!(cl->flags & CL_REG)) {
        uint64_t r = cl->opened_ms + o->register_timeout_ms;
        due = r < due ? r : due;
    } else if (o->ping_interval_ms) {
        uint64_t p = (cl->flags & CL_PING) ? cl->ping_ms + o->ping_timeout_ms
                                           : cl->last_in_ms + o->ping_interval_ms;
        due = p < due ? p : due;
    }
    return due;
}

static void on_timer(struct mx_conn *c, void *arg);

/* The owner's timer for c: registration, PING, flood, whichever is due. */
static void timer_rearm(struct chat_client *cl)
{
    uint64_t due = next_due(cl), now = mx_loop_now_ms();
    if (due == UINT64_MAX)
        return;
    unsigned ms = due > now ? (unsigned)(due - now) : 1;
    mx_conn_timer(cl->c, ms, on_timer, cl);
}

static void check_ping(struct chat_client *cl, uint64_t now)
{
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    if (!o->ping_interval_ms)
        return;
    if (cl->flags & CL_PING) {
        if (now - cl->ping_ms >= o->ping_timeout_ms)
            chat_close_link(cl, "Ping timeout", true);
    } else if (now - cl->last_in_ms >= o->ping_interval_ms) {
        cl_printf(cl, "PING :%s", cl_set(cl)->o.server_name);
        cl->flags |= CL_PING;
        cl->ping_ms = now;
    }
}

static void on_timer(struct mx_conn *c, void *arg)
{
    struct chat_client *cl = arg;
    struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
    uint64_t now = mx_loop_now_ms();
    if ((cl->flags & CL_FLOOD) && now >= flood_due(cl)) {
        cl->flags &= ~CL_FLOOD;
        if (cl->holds == 0) /* a congested member may hold it too */
            mx_conn_resume(c);
    }
    if (!(cl->flags & CL_REG)) {
        if (now - cl->opened_ms >= cl_set(cl)->o.register_timeout_ms)
            chat_close_link(cl, "Registration timed out", true);
    } else {
        check_ping(cl, now);
    }
    if (!(cl->flags & (CL_GONE | CL_DOOMED)))
        timer_rearm(cl);
    chat_leave(wk);
}

/* ---- input --------------------------------------------------------------- */

static bool take_token(struct chat_client *cl, uint64_t now)
{
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    if (o->flood_rate == 0)
        return true;
    cl->tokens += (double)(now - cl->tokens_ms) * o->flood_rate / 1000.0;
    if (cl->tokens > o->flood_burst)
        cl->tokens = o->flood_burst;
    cl->tokens_ms = now;
    if (cl->tokens < 1.0)
        return false;
    cl->tokens -= 1.0;
    return true;
}

static void reject(struct chat_client *cl, const char *why)
{
    cl_printf(cl, ":%s NOTICE %s :Line rejected: %s", cl_set(cl)->o.server_name,
              cl_target(cl), why);
}

static void too_long(struct chat_client *cl)
{
    cl_numeric(cl, 417, ":Input line was too long");
}

/* Runs m; with labeled-response, its replies carry the label. */
static void run(struct chat_client *cl, struct irc_msg *m)
{
    char label[CHAT_LABEL_MAX + 1];
    struct chat_lr lr;
    bool labeled = m->tags && (cl->caps & CAP_LABELED_RESPONSE) &&
                   irc_tag_get(m->tags, "label", label, sizeof label) && label[0];
    if (labeled)
        cl_label_begin(cl, &lr, label);
    chat_dispatch(cl, m);
    if (labeled)
        cl_label_end(cl);
}

/* One line, p[0..n) without its LF. */
static void handle_line(struct chat_client *cl, const char *p, size_t n)
{
    char buf[IRC_IN_MAX + 1];
    struct irc_msg m;
    switch (irc_line_check(p, n)) {
    case IRC_ENUL:
        reject(cl, "NUL byte");
        return;
    case IRC_EBARECR:
        reject(cl, "CR inside the line");
        return;
    }
    chat_count(&cl->in_lines);
    chat_count_n(&cl->in_bytes, n + 1);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    memcpy(buf, p, n);
    buf[n] = '\0';
    int rc = irc_parse(buf, &m);
    /* WHOIS idle time: what the user says, not what its client pings. */
    if (rc == IRC_OK && (strcmp(m.cmd, "PRIVMSG") == 0 || strcmp(m.cmd, "NOTICE") == 0))
        atomic_store_explicit(&cl->last_msg, (uint64_t)time(NULL), memory_order_relaxed);
    if (rc == IRC_OK && m.tags && strlen(m.tags) > IRC_CLIENT_TAGS_MAX)
        too_long(cl); /* the spec: 417 for more tag data than a client may send */
    else if (rc == IRC_OK)
        run(cl, &m);
    else if (rc == IRC_EBADCMD || rc == IRC_ENOCMD)
        cl_numeric(cl, 421, "%s :Unknown command", m.cmd && *m.cmd ? m.cmd : "*");
}

/* Whether a line of n bytes so far (its LF included when complete)
 * is over the limits: 512 bytes with the terminator, after a leading
 * "@tags " of at most IRC_CLIENT_TAGS_MAX + 2 bytes (message-tags). A
 * partial line also stops at max_line, past which the core would cut. */
static bool over_limit(const struct chat_client *cl, const char *p, size_t n, bool complete)
{
    size_t tags = 0, more = complete ? 0 : 1; /* the LF still to come */
    if (!complete && n >= mx_conn_max_line(cl->c))
        return true;
    if (n && p[0] == '@') {
        const char *sp = memchr(p, ' ', n);
        tags = sp ? (size_t)(sp - p) + 1 : n + more;
        if (tags > IRC_CLIENT_TAGS_MAX + 2)
            return true;
        if (!sp)
            return false;
    }
    return n - tags + more > IRC_LINE_MAX;
}

/* Frames lines, at most IRC_LINE_MAX bytes with their terminator after
 * any tags; a longer one gets 417 and is dropped up to its LF. Returns
 * bytes used. */
static size_t take_lines(struct chat_client *cl, const char *data, size_t len, uint64_t now)
{
    size_t used = 0;
    /* Held by a congested member (chat_hold.c): the rest waits. */
    /* A nick claim out (chat_cluster.c): the rest waits for its answer. */
    while (used < len && !(cl->flags & (CL_GONE | CL_DOOMED | CL_CLAIMING)) && cl->holds == 0) {
        const char *p = data + used;
        size_t n = len - used;
        const char *lf = memchr(p, '\n', n);
        if (cl->flags & CL_SKIP) {
            if (!lf)
                return len;
            used += (size_t)(lf - p) + 1;
            cl->flags &= ~CL_SKIP;
            continue;
        }
        if (!lf) {
            if (over_limit(cl, p, n, false)) {
                too_long(cl);
                cl->flags |= CL_SKIP;
                return len;
            }
            return used;
        }
        size_t ll = (size_t)(lf - p) + 1;
        if (!take_token(cl, now)) {
            chat_count(&cl->chat->wk[cl->worker].n.flood_throttled);
            cl->flags |= CL_FLOOD;
            mx_conn_pause(cl->c);
            timer_rearm(cl);
            return used;
        }
        used += ll;
        if (over_limit(cl, p, ll, true))
            too_long(cl);
        else
            handle_line(cl, p, ll - 1);
    }
    return (cl->flags & (CL_GONE | CL_DOOMED)) ? len : used;
}

static size_t on_data(struct mx_conn *c, const char *data, size_t len)
{
    struct chat_client *cl = mx_conn_data(c);
    struct mx_chat *chat = cl->chat;
    struct chat_worker *wk = chat_enter(chat, cl->worker);
    wk->has_src = true; /* what these lines make, cl made (chat_hold.c) */
    wk->src = cl->id;
    wk->src_cl = cl;
    uint64_t now = mx_loop_now_ms();
    cl->last_in_ms = now;
    cl->flags &= ~CL_PING;
    uint32_t was = cl->flags;
    size_t used = take_lines(cl, data, len, now);
    /* Registered by these lines: from the registration deadline to PING. */
    if ((cl->flags & ~was & CL_REG) && !(cl->flags & CL_DOOMED))
        timer_rearm(cl);
    chat_leave(wk);
    return used;
}

/* ---- open and close ------------------------------------------------------ */

static void peer_host(struct mx_conn *c, char *out, size_t cap)
{
    const struct sockaddr *sa = mx_conn_peer(c, NULL);
    const void *a = sa->sa_family == AF_INET6
        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, a, out, (socklen_t)cap))
        snprintf(out, cap, "unknown");
    /* "::1" would start a parameter with ':' in WHO and WHOIS replies. */
    if (out[0] == ':' && strlen(out) + 1 < cap) {
        memmove(out + 1, out, strlen(out) + 1);
        out[0] = '0';
    }
}

static int on_open(struct mx_conn *c)
{
    struct mx_chat *chat = mx_conn_listener_data(c);
    struct chat_client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return -ENOMEM;
    struct chat_worker *wk = chat_enter(chat, mx_conn_worker(c));
    cl->chat = chat;
    cl->c = c;
    cl->id = mx_conn_id(c);
    cl->uid = cl->id;
    cl->worker = mx_conn_worker(c);
    peer_host(c, cl->host, sizeof cl->host);
    /* Fixed for the connection's life: a reload that turns cloaking on
     * or off, or changes the secret, holds for clients that come later. */
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    if (o->cloak_hosts && o->cloak_secret)
        irc_cloak(o->cloak_secret, cl->host, cl->vhost, sizeof cl->vhost);
    else
        memcpy(cl->vhost, cl->host, sizeof cl->vhost);
    cl->opened_ms = cl->last_in_ms = cl->tokens_ms = mx_loop_now_ms();
    cl->tls = mx_conn_tls(c);
    cl->signon = time(NULL);
    atomic_init(&cl->last_msg, (uint64_t)cl->signon);
    cl->tokens = cl_set(cl)->o.flood_burst;
    cl->node.name = cl->nick;
    mx_conn_set_data(c, cl);
    timer_rearm(cl);
    chat_lock(chat);
    chat->nclients++; /* LUSERS; cl_forget counts it out */
    chat_unlock(chat);
    chat_leave(wk);
    return 0;
}

static void on_close(struct mx_conn *c)
{
    struct chat_client *cl = mx_conn_data(c);
    if (!cl)
        return;
    struct mx_chat *chat = cl->chat;
    struct chat_worker *wk = chat_enter(chat, cl->worker);
    cl_release_producers(cl);
    chat_quit(cl, "Connection closed");
    mx_conn_set_data(c, NULL);
    chat_leave(wk);
    /* Freed at once: on_close is an entry of its own (muxd/proto.h), so
     * no chat call below us on the stack can still hold cl. */
    client_free(cl);
}

/* Only the client's own goodbye: its QUIT to others would be a fan-out
 * to members who are all leaving too (on_close still tells those who
 * remain, if any). */
static void on_stop(struct mx_conn *c)
{
    struct chat_client *cl = mx_conn_data(c);
    if (!cl)
        return;
    struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
    cl_printf(cl, "ERROR :Closing Link: %s (Server shutting down)",
              (cl->flags & CL_NICK) ? cl->nick : cl->host);
    chat_leave(wk);
}

/* Every worker is paused: the client's local places move with it. */
static void on_move(struct mx_conn *c, uint64_t old_id)
{
    struct chat_client *cl = mx_conn_data(c);
    if (!cl)
        return;
    pthread_mutex_lock(&cl->chat->mu);
    cl_moved(cl, mx_conn_worker(c), mx_conn_id(c), old_id);
    pthread_mutex_unlock(&cl->chat->mu);
    chat_hold_moved(cl);
}

/* A congested member took all it had: its producers may go on. */
static void on_drain(struct mx_conn *c)
{
    struct chat_client *cl = mx_conn_data(c);
    if (!cl || cl->nheld == 0)
        return;
    struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
    cl_release_producers(cl);
    chat_leave(wk);
}

/* overflow = drop_oldest: what stands where lines were dropped. */
static size_t overflow_note(struct mx_conn *c, uint64_t dropped, char *buf, size_t cap)
{
    struct chat_client *cl = mx_conn_data(c);
    if (!cl)
        return 0;
    return irc_fmt(buf, cap, ":%s NOTICE %s :*** %llu message%s to you dropped here: "
                   "your client was not reading fast enough", cl_set(cl)->o.server_name,
                   cl_target(cl), (unsigned long long)dropped, dropped == 1 ? " was" : "s were");
}

/* Every worker is paused. New workers start with the current settings
 * and learn their thread at their first entry; a retired worker's slot
 * keeps its (unused) state until it comes back. */
static int on_workers(void *data, unsigned n)
{
    struct mx_chat *chat = data;
    pthread_mutex_lock(&chat->mu);
    int err = chat_chans_grow(chat, n);
    for (unsigned w = chat->nworkers; err == 0 && w < n; w++) {
        struct chat_worker *wk = &chat->wk[w];
        struct chat_settings *cur = chat->wk[0].set;
        atomic_fetch_add(&cur->refs, 1);
        chat_settings_unref(wk->set);
        wk->set = cur;
        wk->tid_set = false; /* a new thread, if it ran before */
    }
    if (err == 0)
        chat->nworkers = n;
    if (n > chat->wseen)
        chat->wseen = n;
    pthread_mutex_unlock(&chat->mu);
    return err;
}

/* On the acceptor thread, before any client exists: the line a refused
 * IRC client shows its user, in the form servers use for K-lines, so it
 * says why instead of looking like a network fault. */
static size_t refuse(void *data, enum mx_refusal why, const char *ip, char *buf, size_t cap)
{
    (void)data;
    const char *reason = why == MX_REFUSE_PER_IP_RATE ? "Connecting too fast from your host"
                                                       : "Too many connections from your host";
    int n = snprintf(buf, cap, "ERROR :Closing Link: %s (%s)\r\n", ip, reason);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

const struct mx_proto mx_chat_proto = {
    .name = "chat",
    .on_open = on_open,
    .on_data = on_data,
    .on_drain = on_drain,
    .on_close = on_close,
    .on_stop = on_stop,
    .on_move = on_move,
    .on_workers = on_workers,
    .metrics = chat_metrics,
    .refuse = refuse,
    .overflow_note = overflow_note,
};

/* ---- the state ----------------------------------------------------------- */

struct mx_chat *mx_chat_new(const struct mx_chat_opts *o, struct mx_server *srv)
{
    unsigned nworkers = mx_server_workers(srv);
    struct mx_chat *chat = calloc(1, sizeof *chat);
    if (!chat)
        return NULL;
    chat->srv = srv;
    chat->nworkers = nworkers;
    chat->wcap = nworkers;
    chat->wseen = nworkers;
    chat->created = time(NULL);
    struct tm tm;
    gmtime_r(&chat->created, &tm);
    strftime(chat->created_str, sizeof chat->created_str, "%Y-%m-%d %H:%M:%S UTC", &tm);
    pthread_mutex_init(&chat->mu, NULL);
    int kl = chat_klines_init(chat, o);
    /* Aligned, and so a multiple of the alignment in size (chat_int.h);
     * room for every worker a reload may add. */
    chat->wk = aligned_alloc(alignof(struct chat_worker), MX_MAX_WORKERS * sizeof *chat->wk);
    if (chat->wk)
        memset(chat->wk, 0, MX_MAX_WORKERS * sizeof *chat->wk);
    struct chat_settings *set = chat->wk && kl == 0 ? chat_settings_new(o, nworkers) : NULL;
    if (!set) {
        mx_chat_free(chat);
        return NULL;
    }
    for (unsigned w = 0; w < nworkers; w++)
        chat->wk[w].set = set;
    return chat;
}

int mx_chat_reload(struct mx_chat *chat, const struct mx_chat_opts *o)
{
    struct chat_settings *set = chat_settings_new(o, chat->nworkers);
    chat_klines_reload(chat, o);
    return set ? chat_settings_publish(chat, set) : -ENOMEM;
}

void mx_chat_free(struct mx_chat *chat)
{
    if (!chat)
        return;
    chat_chans_free(chat);
    nt_fini(&chat->nicks);
    whowas_free(&chat->whowas);
    for (unsigned w = 0; chat->wk && w < MX_MAX_WORKERS; w++)
        chat_settings_unref(chat->wk[w].set);
    free(chat->wk);
    chat_klines_free(chat);
    pthread_mutex_destroy(&chat->mu);
    free(chat->node);
    free(chat->subj);
    free(chat->nsubj);
    free(chat->usubj);
    free(chat);
}
