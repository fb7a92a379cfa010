/* chat_kline.c - K-lines: KLINE, UNKLINE, STATS k, the check at
 * registration, and the file that keeps them (docs/chat-protocol.md).
 *
 * The list is global state under mu; a change bumps its generation and is
 * then written whole to the file, off the worker (the offload pool: an
 * fsync may take long), under kfile_mu so that writes never cross and the
 * last one holds the newest list. Matching clients already connected are
 * cut on their own workers, as a KILL is: a post to each connection.
 * Matching is against the real address (behind a PROXY header, the one
 * it carried; never the cloak) and the USER name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muxd/log.h"
#include "muxd/offload.h"
#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->host
/* "K-lined: " and a reason. */
#define CUT_WHY_MAX (KLINE_REASON_MAX + 16)

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

static void notice(struct chat_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(struct chat_client *cl, const char *fmt, ...)
{
    char text[IRC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cl_printf(cl, ":%s NOTICE %s :*** %s", cl_set(cl)->o.server_name, cl->nick, text);
}

/* 481 unless cl is an operator (its own umodes: no lock needed). */
static bool need_oper(struct chat_client *cl)
{
    if (cl->umodes & UM_OPER)
        return true;
    cl_numeric(cl, 481, ":Permission Denied- You're not an IRC operator");
    return false;
}

/* ---- closing a link on its owner ------------------------------------------ */

/* On the owner: the client may have quit or moved meanwhile (then the
 * post finds nothing, or finds it gone). */
static void close_run(struct mx_conn *c, void *arg)
{
    char *why = arg;
    struct chat_client *t = c ? mx_conn_data(c) : NULL;
    if (t) {
        struct chat_worker *wk = chat_enter(t->chat, t->worker);
        if (!(t->flags & CL_GONE))
            chat_close_link(t, why, true);
        chat_leave(wk);
    }
    free(why);
}

void chat_close_post(struct mx_chat *chat, uint64_t id, const char *why)
{
    char *copy = strdup(why);
    if (!copy || mx_server_post(chat->srv, id, close_run, copy) < 0) {
        mx_warn("chat: out of memory: closing conn %llu (%s) is lost", (unsigned long long)id,
                why);
        free(copy);
    }
}

/* ---- cutting those a K-line bans ------------------------------------------ */

struct cut {
    struct mx_chat *chat;
    int64_t now;
    unsigned n;
};

static struct chat_client *cl_of(struct nt_node *n)
{
    return (struct chat_client *)((char *)n - offsetof(struct chat_client, node));
}

/* Under mu: registered clients only; the rest are checked when they
 * register. A post under mu only queues (chat_kick_post does the same). */
static void cut_one(struct nt_node *n, void *arg)
{
    struct cut *c = arg;
    const struct chat_client *cl = cl_of(n);
    if (!cl->registered)
        return;
    const struct kline *k = kline_find(&c->chat->klines, cl->user, cl->host, c->now);
    if (!k)
        return;
    char why[CUT_WHY_MAX];
    snprintf(why, sizeof why, "K-lined: %s", k->reason);
    chat_close_post(c->chat, cl->id, why);
    c->n++;
}

/* Every registered client some K-line bans is cut, on its own worker. */
static unsigned cut_banned(struct mx_chat *chat)
{
    struct cut c = { chat, wall_now(), 0 };
    chat_lock(chat);
    nt_each(&chat->nicks, cut_one, &c);
    chat_unlock(chat);
    return c.n;
}

bool chat_kline_refuse(struct chat_client *cl)
{
    char why[CUT_WHY_MAX];
    chat_lock(cl->chat);
    const struct kline *k = kline_find(&cl->chat->klines, cl->user, cl->host, wall_now());
    if (k)
        snprintf(why, sizeof why, "K-lined: %s", k->reason);
    chat_unlock(cl->chat);
    if (!k)
        return false;
    cl_numeric(cl, 465, ":You are banned from this server (%s)", why + 9);
    chat_close_link(cl, why, true);
    return true;
}

/* ---- the file -------------------------------------------------------------- */

/* Any thread: writes the list if the file does not hold its generation
 * yet. Formatting under kfile_mu as well keeps writes in order. */
static int kline_save(struct mx_chat *chat, char *err, size_t len)
{
    int rc = 0;
    size_t n = 0;
    pthread_mutex_lock(&chat->kfile_mu);
    chat_lock(chat);
    uint64_t gen = chat->kl_gen;
    bool due = chat->kline_file && gen != chat->kl_written;
    char *text = due ? kline_format(&chat->klines, wall_now(), &n) : NULL;
    chat_unlock(chat);
    if (due && !text) {
        snprintf(err, len, "%s: out of memory", chat->kline_file);
        rc = -ENOMEM;
    } else if (due) {
        rc = kline_file_write(chat->kline_file, text, n, err, len);
    }
    if (due && rc == 0)
        chat->kl_written = gen;
    pthread_mutex_unlock(&chat->kfile_mu);
    free(text);
    return rc;
}

struct save_job {
    struct mx_chat *chat;
    bool ran;
    int rc;
    char err[300];
};

static void save_work(void *arg)
{
    struct save_job *j = arg;
    j->rc = kline_save(j->chat, j->err, sizeof j->err);
    j->ran = true;
}

/* On the oper's worker, or (c NULL: it closed, or the server stopped)
 * on any thread: a job the pool dropped is done here. */
static void save_done(struct mx_conn *c, void *arg)
{
    struct save_job *j = arg;
    if (!j->ran)
        save_work(j);
    if (j->rc < 0)
        mx_error("chat: K-lines not saved: %s", j->err);
    struct chat_client *cl = c && j->rc < 0 ? mx_conn_data(c) : NULL;
    if (cl) {
        struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
        if (!(cl->flags & CL_GONE))
            notice(cl, "K-lines not saved: %s", j->err);
        chat_leave(wk);
    }
    free(j);
}

/* After a change: the write goes to the pool; without one (threads = 0,
 * or it is busy) it is done here, on the worker. */
static void save_later(struct chat_client *cl)
{
    struct save_job *j = calloc(1, sizeof *j);
    if (j) {
        j->chat = cl->chat;
        if (mx_offload(cl->c, save_work, save_done, j) == 0)
            return;
        free(j);
    }
    char err[300];
    if (kline_save(cl->chat, err, sizeof err) < 0) {
        mx_error("chat: K-lines not saved: %s", err);
        notice(cl, "K-lines not saved: %s", err);
    }
}

/* ---- KLINE and UNKLINE ----------------------------------------------------- */

/* "3600", "90m", "2h", "7d", "1w" as seconds: false when s is none. */
static bool parse_duration(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    static const char units[] = "smhdw";
    static const int64_t secs[] = { 1, 60, 3600, 86400, 604800 };
    const char *u = s[n] ? strchr(units, s[n]) : NULL;
    if (s[n] && (!u || s[n + 1]))
        return false;
    *out = v * (u ? secs[u - units] : 1);
    return true;
}

/* KLINE [duration] mask [:reason] into k; false after telling cl why. */
static bool kline_args(struct chat_client *cl, struct irc_msg *m, struct kline *k)
{
    int at = 0;
    int64_t secs = 0;
    /* A mask has an '@'; a first word without one, followed by two more,
     * can only have meant a duration. */
    if (m->nparams > 1 && parse_duration(m->params[0], &secs)) {
        at = 1;
    } else if (m->nparams > 2 && !strchr(m->params[0], '@')) {
        notice(cl, "KLINE: '%.40s' is not a duration (seconds, or 90m, 2h, 7d, 1w)",
               m->params[0]);
        return false;
    }
    const char *why = NULL;
    if (kline_mask_norm(m->params[at], k->mask, sizeof k->mask, &why) < 0) {
        notice(cl, "KLINE: bad mask '%.80s': %s", m->params[at], why);
        return false;
    }
    const char *reason = m->nparams > at + 1 && m->params[at + 1][0] ? m->params[at + 1]
                                                                      : "No reason given";
    snprintf(k->reason, sizeof k->reason, "%s", reason);
    snprintf(k->by, sizeof k->by, "%s", cl->nick);
    k->set_at = wall_now();
    k->expires = secs ? k->set_at + secs : 0;
    return true;
}

void chat_cmd_kline(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct kline k = { 0 };
    if (!need_oper(cl) || !kline_args(cl, m, &k))
        return;
    chat_lock(chat);
    int rc = kline_put(&chat->klines, &k, chat->max_klines, k.set_at);
    unsigned max = chat->max_klines;
    if (rc == 0)
        chat->kl_gen++;
    chat_unlock(chat);
    if (rc < 0) {
        notice(cl, "KLINE: %s", rc == -ENOSPC ? "the list is full (max_klines)"
                                              : "out of memory");
        mx_warn("chat: KLINE %s refused: %s (max_klines = %u)", k.mask, strerror(-rc), max);
        return;
    }
    char span[40] = "";
    if (k.expires)
        snprintf(span, sizeof span, " for %lld s", (long long)(k.expires - k.set_at));
    mx_info("chat: %s!%s@%s K-lines %s%s: %s", PFX(cl), k.mask, span, k.reason);
    save_later(cl);
    unsigned n = cut_banned(chat);
    notice(cl, "K-line for %s added%s: %s (%u cut)", k.mask, span, k.reason, n);
}

void chat_cmd_unkline(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    char mask[KLINE_MASK_MAX + 1];
    const char *why = NULL;
    if (!need_oper(cl))
        return;
    if (kline_mask_norm(m->params[0], mask, sizeof mask, &why) < 0) {
        notice(cl, "UNKLINE: bad mask '%.80s': %s", m->params[0], why);
        return;
    }
    chat_lock(chat);
    bool had = kline_remove(&chat->klines, mask);
    if (had)
        chat->kl_gen++;
    chat_unlock(chat);
    if (!had) {
        notice(cl, "UNKLINE: no K-line for %s", mask);
        return;
    }
    mx_info("chat: %s!%s@%s removed the K-line for %s", PFX(cl), mask);
    save_later(cl);
    notice(cl, "K-line for %s removed", mask);
}

/* ---- STATS k --------------------------------------------------------------- */

/* "K host * user :reason", as hybrid and ratbox answer, with the time a
 * temporary one has left. Under mu: replies to cl only queue. */
void chat_stats_k(struct chat_client *cl)
{
    if (!need_oper(cl))
        return;
    int64_t now = wall_now();
    chat_lock(cl->chat);
    const struct kline_list *l = &cl->chat->klines;
    for (unsigned i = 0; i < l->n; i++) {
        const struct kline *k = &l->v[i];
        if (k->expires && k->expires <= now)
            continue;
        const char *at = strchr(k->mask, '@');
        char left[48] = "";
        if (k->expires)
            snprintf(left, sizeof left, " (%lld s left)", (long long)(k->expires - now));
        cl_numeric(cl, 216, "K %s * %.*s :%s%s [%s]", at + 1, (int)(at - k->mask), k->mask,
                   k->reason, left, k->by);
    }
    chat_unlock(cl->chat);
}

/* ---- start, reload, free ----------------------------------------------------- */

int chat_klines_init(struct mx_chat *chat, const struct mx_chat_opts *o)
{
    pthread_mutex_init(&chat->kfile_mu, NULL);
    chat->max_klines = o->max_klines ? o->max_klines : 1;
    if (o->kline_file && !(chat->kline_file = strdup(o->kline_file)))
        return -ENOMEM;
    return o->klines ? kline_list_copy(&chat->klines, o->klines) : 0;
}

/* Why the list read by the reload must not replace the running one: a
 * change not written yet, or a file that changed after it was read (a
 * KLINE's write in between, or an edit). NULL: replace it. */
static const char *keep_running(struct mx_chat *chat, const struct mx_chat_opts *o)
{
    struct kline_stamp now;
    if (chat->kl_gen != chat->kl_written)
        return "K-line changes are not written to the file yet";
    if (!o->kline_stamp)
        return "the reload did not say which version of the file it read";
    kline_file_stamp(o->kline_file, &now);
    if (!kline_stamp_same(o->kline_stamp, &now))
        return "the file changed while the reload read it";
    return NULL;
}

/* The file is read again (an operator may have edited it); a list that
 * cannot be trusted to be newer leaves the running one in place. */
void chat_klines_reload(struct mx_chat *chat, const struct mx_chat_opts *o)
{
    const char *keep = NULL;
    pthread_mutex_lock(&chat->kfile_mu);
    char *path = o->kline_file ? strdup(o->kline_file) : NULL;
    if (path || !o->kline_file) {
        free(chat->kline_file);
        chat->kline_file = path;
    }
    chat_lock(chat);
    chat->max_klines = o->max_klines ? o->max_klines : chat->max_klines;
    struct kline_list fresh = { 0 };
    if (o->klines && o->kline_file && !(keep = keep_running(chat, o)) &&
        kline_list_copy(&fresh, o->klines) < 0)
        keep = "out of memory";
    if (o->klines && o->kline_file && !keep) {
        kline_list_free(&chat->klines);
        chat->klines = fresh;
        chat->kl_written = ++chat->kl_gen;
    }
    unsigned n = chat->klines.n;
    chat_unlock(chat);
    pthread_mutex_unlock(&chat->kfile_mu);
    if (keep)
        mx_warn("chat: K-lines: keeping the running list (%u): %s", n, keep);
    unsigned cut = cut_banned(chat);
    if (cut)
        mx_info("chat: reload: %u K-lined client(s) cut", cut);
}

void chat_klines_free(struct mx_chat *chat)
{
    kline_list_free(&chat->klines);
    free(chat->kline_file);
    pthread_mutex_destroy(&chat->kfile_mu);
}
