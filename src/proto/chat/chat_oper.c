/* chat_oper.c - IRC operators: OPER, KILL, WALLOPS, REHASH, DIE, and the
 * STATS queries about connections (u, l).
 *
 * The oper table is part of the worker's settings (chat_settings.c), so a
 * reload changes it like the MOTD. Operator status (UM_OPER) and +w live
 * in the client's umodes, written by its owner under mu, so WHOIS, WHO
 * and WALLOPS on any worker can read them. A KILL is carried out by the
 * victim's owner, like a KICK: a post to its connection (chat_kline.c's,
 * which K-lines use too).
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/clock.h"
#include "muxd/log.h"
#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost
/* "Killed (nick (reason))" and room for the rest of the ERROR line. */
#define KILL_REASON_MAX 300

bool chat_is_oper(const struct chat_client *cl)
{
    return cl->umodes & UM_OPER;
}

/* 481 unless cl is an operator (cl's own umodes: no lock needed). */
static bool need_oper(struct chat_client *cl)
{
    if (chat_is_oper(cl))
        return true;
    cl_numeric(cl, 481, ":Permission Denied- You're not an IRC operator");
    return false;
}

/* ---- OPER ---------------------------------------------------------------- */

/* Every byte compared, so the time taken says nothing of where a guess
 * went wrong. */
static bool same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* crypt_r: crypt() shares one buffer between threads, and every worker
 * may check a password at once. Its state is some 32 KiB: on the heap. */
static bool password_ok(const char *hash, const char *password)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return false;
    const char *out = crypt_r(password, hash, cd);
    /* A failing crypt returns NULL or a string starting with '*'. */
    bool ok = out && out[0] != '*' && same_secret(out, hash);
    free(cd);
    return ok;
}

static const struct mx_chat_oper *oper_find(const struct mx_chat_opts *o, const char *name)
{
    for (unsigned i = 0; i < o->nopers; i++)
        if (strcmp(o->opers[i].name, name) == 0)
            return &o->opers[i];
    return NULL;
}

/* 491 for an unknown name and a wrong address alike (it tells nothing of
 * which names exist); the password is hashed only for a matching address,
 * so a client elsewhere cannot make the worker spend its time in crypt. */
void chat_cmd_oper(struct chat_client *cl, struct irc_msg *m)
{
    const struct mx_chat_oper *op = oper_find(&cl_set(cl)->o, m->params[0]);
    char who[CHAT_NICKLEN + CHAT_USERLEN + 64 + 3];
    snprintf(who, sizeof who, "%s!%s@%s", cl->nick, cl->user, cl->host);
    if (!op || !irc_mask_list_match(op->hosts, who)) {
        cl_numeric(cl, 491, ":No O-lines for your host");
        mx_info("chat: %s: OPER %s refused (no such oper, or not from its hosts)", who,
                m->params[0]);
        return;
    }
    if (!password_ok(op->hash, m->params[1])) {
        cl_numeric(cl, 464, ":Password incorrect");
        mx_info("chat: %s: OPER %s refused (wrong password)", who, op->name);
        return;
    }
    bool was = chat_is_oper(cl);
    /* Its block's rights (DIE) are looked up by name when used, so a
     * reload that takes them away holds at once. */
    char *name = strdup(op->name);
    if (!name) {
        cl_numeric(cl, 491, ":No O-lines for your host");
        mx_warn("chat: out of memory: %s: OPER %s refused", who, op->name);
        return;
    }
    free(cl->oper);
    cl->oper = name;
    chat_lock(cl->chat);
    cl_umode_set(cl, UM_OPER, true);
    chat_unlock(cl->chat);
    cl_numeric(cl, 381, ":You are now an IRC operator");
    if (!was)
        cl_printf(cl, ":%s MODE %s :+o", cl->nick, cl->nick);
    mx_info("chat: %s is now an IRC operator (oper %s)", who, op->name);
}

/* ---- KILL ---------------------------------------------------------------- */

void chat_cmd_kill(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    if (!need_oper(cl))
        return;
    char why[KILL_REASON_MAX];
    snprintf(why, sizeof why, "Killed (%s (%.200s))", cl->nick,
             m->nparams > 1 && m->params[1][0] ? m->params[1] : "<No reason given>");
    chat_lock(chat);
    struct chat_client *t = cl_by_nick(chat, m->params[0]);
    bool found = t && t->registered, local = found && t->worker == cl->worker;
    uint64_t id = found ? t->id : 0;
    chat_unlock(chat);
    if (!found) {
        cl_numeric(cl, 401, "%s :No such nick/channel", m->params[0]);
        return;
    }
    mx_info("chat: %s!%s@%s KILLs %s: %s", cl->nick, cl->user, cl->host, m->params[0], why);
    /* Local: cl's worker owns t, and only the owner frees a client. */
    if (local)
        chat_close_link(t, why, true);
    else
        chat_close_post(chat, id, why);
}

/* ---- WALLOPS ------------------------------------------------------------- */

struct wall_to {
    struct chat_client *cl;
    unsigned worker;
    uint64_t id;
};

struct wall_list {
    struct wall_to *v;
    size_t n, cap;
};

static struct chat_client *cl_of(struct nt_node *n)
{
    return (struct chat_client *)((char *)n - offsetof(struct chat_client, node));
}

/* Under mu: every registered +w client, with its worker and id. */
static void wall_collect(struct nt_node *n, void *arg)
{
    struct wall_list *l = arg;
    struct chat_client *cl = cl_of(n);
    if (!cl->registered || !(cl->umodes & UM_WALLOPS))
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct wall_to *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return; /* out of memory: the rest miss it */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct wall_to){ cl, cl->worker, cl->id };
}

/* line (taken) to every +w client, from cl's worker. */
static void wall_send(struct chat_client *cl, struct mx_chunk *line)
{
    struct mx_chat *chat = cl->chat;
    struct wall_list l = { 0 };
    chat_lock(chat);
    nt_each(&chat->nicks, wall_collect, &l);
    chat_unlock(chat);
    for (size_t i = 0; i < l.n; i++)
        chat_send_to(chat, cl->worker, l.v[i].cl, l.v[i].worker, l.v[i].id, line);
    mx_chunk_unref(line);
    free(l.v);
}

void chat_cmd_wallops(struct chat_client *cl, struct irc_msg *m)
{
    if (!need_oper(cl))
        return;
    wall_send(cl, chat_line(":%s!%s@%s WALLOPS :%s", PFX(cl), m->params[0]));
}

/* ---- REHASH -------------------------------------------------------------- */

/* The reload itself waits for every worker (mx_server_run_sync), so it
 * cannot run here, on one: the daemon's hook only asks its main thread,
 * as SIGHUP does. The 382 comes first; the reload's outcome is logged. */
void chat_cmd_rehash(struct chat_client *cl, struct irc_msg *m)
{
    (void)m;
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    if (!need_oper(cl))
        return;
    if (!o->rehash) {
        cl_printf(cl, ":%s NOTICE %s :REHASH is not available on this server",
                  o->server_name, cl->nick);
        return;
    }
    cl_numeric(cl, 382, "%s :Rehashing", o->config_file ? o->config_file : "*");
    mx_info("chat: %s!%s@%s asked for a REHASH", cl->nick, cl->user, cl->host);
    o->rehash();
}

/* ---- DIE ----------------------------------------------------------------- */

/* Why cl may not use DIE, or NULL: the daemon must offer it, and cl's
 * [oper NAME] (as the settings are now, not as they were at OPER) must
 * allow it. */
static const char *die_refusal(const struct chat_client *cl)
{
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    const struct mx_chat_oper *op = cl->oper ? oper_find(o, cl->oper) : NULL;
    if (!o->die)
        return "DIE is not available on this server";
    if (!op || !op->die)
        return "DIE is off for your operator block ([oper NAME] die = on allows it)";
    return NULL;
}

/* DIE <server name>: the name guards against a DIE typed into the wrong
 * window (InspIRCd asks for it too). The stop itself is SIGTERM's: the
 * daemon's hook signals its main thread, which drains and exits 0. */
void chat_cmd_die(struct chat_client *cl, struct irc_msg *m)
{
    const struct mx_chat_opts *o = &cl_set(cl)->o;
    if (!need_oper(cl))
        return;
    const char *no = die_refusal(cl);
    if (no) {
        cl_numeric(cl, 481, ":Permission Denied- %s", no);
        return;
    }
    if (m->nparams < 1 || irc_casecmp(m->params[0], o->server_name) != 0) {
        cl_printf(cl, ":%s NOTICE %s :*** DIE: give this server's name to confirm: DIE %s",
                  o->server_name, cl->nick, o->server_name);
        return;
    }
    mx_warn("chat: %s!%s@%s (oper %s) used DIE: shutting down", cl->nick, cl->user, cl->host,
            cl->oper);
    wall_send(cl, chat_line(":%s WALLOPS :%s (oper %s) used DIE: the server is shutting down",
                            o->server_name, cl->nick, cl->oper));
    o->die();
}

/* ---- STATS u and l ------------------------------------------------------- */

void chat_stats_u(struct chat_client *cl)
{
    time_t now = time(NULL);
    long long up = now > cl->chat->created ? (long long)(now - cl->chat->created) : 0;
    cl_numeric(cl, 242, ":Server Up %lld days %lld:%02lld:%02lld", up / 86400,
               up % 86400 / 3600, up % 3600 / 60, up % 60);
}

struct stats_l {
    struct chat_client *to;
    uint64_t now;
};

/* Under mu: one 211 line. The counters are the owner's, read relaxed;
 * opened_ms never changes after the client's creation. */
static void stats_l_one(struct nt_node *n, void *arg)
{
    struct stats_l *s = arg;
    const struct chat_client *c = cl_of(n);
    uint64_t open_s = s->now > c->opened_ms ? (s->now - c->opened_ms) / 1000 : 0;
    cl_numeric(s->to, 211, "%s[%s@%s] %llu %llu %llu %llu %llu %llu", c->nick, c->user,
               c->host, (unsigned long long)chat_counter_get(&c->sendq),
               (unsigned long long)chat_counter_get(&c->out_lines),
               (unsigned long long)(chat_counter_get(&c->out_bytes) / 1024),
               (unsigned long long)chat_counter_get(&c->in_lines),
               (unsigned long long)(chat_counter_get(&c->in_bytes) / 1024),
               (unsigned long long)open_s);
}

/* Real addresses: for operators only. Each client with a nick (a
 * connection without one yet has nothing to name it by). */
void chat_stats_l(struct chat_client *cl)
{
    if (!need_oper(cl))
        return;
    struct stats_l s = { cl, mx_loop_now_ms() };
    chat_lock(cl->chat);
    nt_each(&cl->chat->nicks, stats_l_one, &s);
    chat_unlock(cl->chat);
}
