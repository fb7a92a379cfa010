/* chat_nicks.c - the queries about nicks: WHOIS, WHOWAS, ISON, USERHOST,
 * and nick_q (chat_query.h), which answers them, and WHO of one nick,
 * for nicks held on other nodes too. Each reads the tables under mu and
 * replies only to the asking client.
 *
 * Bounds: WHOIS and USERHOST take at most NICKS_MAX nicks, ISON
 * CHAT_LOOKUP_MAX (the rest of its line is not looked at), WHOWAS shows
 * what its bounded history holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/muxd.h"
#include "proto/chat/chat_int.h"
#include "proto/chat/chat_query.h"

/* ---- nicks here and on other nodes -------------------------------------- */

static void nick_q_answered(struct chat_client *cl, const struct chat_who *who, unsigned n,
                            void *arg)
{
    (void)n;
    struct nick_q *q = arg;
    if (cl)
        q->reply(cl, q, who);
    free(q);
}

/* The nicks not here (and valid: no other node holds an invalid one) go
 * to the network; true if the reply waits for its answer. */
static bool nick_q_ask(struct chat_client *cl, struct nick_q *q)
{
    const char *ask[CHAT_LOOKUP_MAX];
    unsigned k = 0;
    chat_lock(cl->chat);
    for (unsigned i = 0; i < q->n; i++) {
        bool here = cl_registered(cl->chat, q->nick[i]) != NULL;
        q->remote[i] = !here && irc_nick_valid(q->nick[i], CHAT_NICKLEN) ? (int)k : -1;
        if (q->remote[i] >= 0)
            ask[k++] = q->nick[i];
    }
    chat_unlock(cl->chat);
    return k && chat_cluster_lookup(cl, ask, k, nick_q_answered, q) == 0;
}

void nick_q_run(struct chat_client *cl, struct nick_q *q)
{
    if (cl->chat->has_bus && nick_q_ask(cl, q))
        return;
    q->reply(cl, q, NULL);
    free(q);
}

/* What the network said of q's nick i, or NULL. */
static const struct chat_who *remote_of(const struct nick_q *q, unsigned i,
                                        const struct chat_who *who)
{
    return who && q->remote[i] >= 0 && who[q->remote[i]].found ? &who[q->remote[i]] : NULL;
}

/* A new query for cl's command, or NULL (out of memory: no reply). */
static struct nick_q *nick_q_new(nick_reply_fn *reply)
{
    struct nick_q *q = calloc(1, sizeof *q);
    if (q)
        q->reply = reply;
    return q;
}

/* Adds nick to q; false once q is full. */
static bool nick_q_add(struct nick_q *q, const char *nick)
{
    if (q->n == CHAT_LOOKUP_MAX)
        return false;
    snprintf(q->nick[q->n], sizeof q->nick[0], "%s", nick);
    q->remote[q->n++] = -1;
    return true;
}

/* ---- WHOIS ---------------------------------------------------------------- */

/* Under mu: "@#a +#b" for the channels of who that cl may see, in as many
 * 319s as it takes. */
static void whois_channels(struct chat_client *cl, const struct chat_client *who)
{
    char buf[IRC_LINE_MAX];
    size_t len = 0;
    for (unsigned i = 0; i < who->nchans; i++) {
        struct chat_channel *ch = who->chans[i];
        if (!query_chan_visible(cl, ch))
            continue;
        if (len + CHAT_CHANLEN + 3 > LIST_ROOM) {
            cl_numeric(cl, 319, "%s :%s", who->nick, buf);
            len = 0;
        }
        const struct chat_member *mb = chan_member(ch, who);
        char pfx[4];
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s%s", len ? " " : "",
                                chat_prefixes(cl, mb ? mb->modes : 0, pfx), ch->name);
    }
    if (len)
        cl_numeric(cl, 319, "%s :%s", who->nick, buf);
}

/* Under mu: the WHOIS lines for who, in the order of Modern IRC's example. */
static void whois_one(struct chat_client *cl, const struct chat_client *who)
{
    cl_numeric(cl, 311, "%s %s %s * :%s", who->nick, who->user, who->vhost, who->real);
    whois_channels(cl, who);
    cl_numeric(cl, 312, "%s %s :muxd", who->nick, query_server(cl));
    if (query_is_oper(who))
        cl_numeric(cl, 313, "%s :is an IRC operator", who->nick);
    if (who->away)
        cl_numeric(cl, 301, "%s :%s", who->nick, who->away);
    if (who->tls)
        cl_numeric(cl, 671, "%s :is using a secure connection", who->nick);
    /* The address behind a cloak: for the client itself and opers. */
    if (strcmp(who->host, who->vhost) != 0 && (who == cl || query_is_oper(cl)))
        cl_numeric(cl, 338, "%s %s :actually using host", who->nick, who->host);
    cl_numeric(cl, 317, "%s %llu %lld :seconds idle, signon time", who->nick,
               (unsigned long long)query_idle_secs(who, time(NULL)), (long long)who->signon);
}

static void whois_remote(struct chat_client *cl, const struct chat_who *w)
{
    cl_numeric(cl, 311, "%s %s %s * :%s", w->nick, w->user, w->host, w->real);
    cl_numeric(cl, 312, "%s %s :muxd (another node of this network)", w->nick, w->node);
}

/* Each nick in order: here, on another node, or 401. */
static void whois_reply(struct chat_client *cl, struct nick_q *q, const struct chat_who *who)
{
    struct mx_chat *chat = cl->chat;
    for (unsigned i = 0; i < q->n; i++) {
        chat_lock(chat);
        const struct chat_client *c = cl_registered(chat, q->nick[i]);
        if (c)
            whois_one(cl, c);
        chat_unlock(chat);
        const struct chat_who *r = c ? NULL : remote_of(q, i, who);
        if (r)
            whois_remote(cl, r);
        else if (!c)
            cl_numeric(cl, 401, "%s :No such nick/channel", q->nick[i]);
    }
    /* The list as sent, dropped nicks and all (Modern IRC 318). */
    cl_numeric(cl, 318, "%s :End of WHOIS list", q->asked);
}

void chat_cmd_whois(struct chat_client *cl, struct irc_msg *m)
{
    /* WHOIS [<server>] <nicks>: every nick here is on this server. */
    char *list = m->params[m->nparams - 1];
    if (!list[0]) {
        cl_numeric(cl, 431, ":No nickname given");
        return;
    }
    struct nick_q *q = nick_q_new(whois_reply);
    if (!q)
        return;
    snprintf(q->asked, sizeof q->asked, "%s", list);
    char *nicks[NICKS_MAX];
    unsigned n = chat_split_commas(list, nicks, NICKS_MAX);
    for (unsigned i = 0; i < n; i++)
        nick_q_add(q, nicks[i]);
    nick_q_run(cl, q);
}

/* ---- WHOWAS --------------------------------------------------------------- */

void chat_cmd_whowas(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    if (m->nparams < 1 || !m->params[0][0]) {
        cl_numeric(cl, 431, ":No nickname given");
        return;
    }
    const char *nick = m->params[0];
    long want = m->nparams > 1 ? strtol(m->params[1], NULL, 10) : 0;
    struct whowas_entry e[WHOWAS_PER_NICK];
    unsigned max = want > 0 && want < WHOWAS_PER_NICK ? (unsigned)want : WHOWAS_PER_NICK;
    chat_lock(chat);
    unsigned n = whowas_find(&chat->whowas, nick, e, max);
    chat_unlock(chat);
    for (unsigned i = 0; i < n; i++) {
        char when[64];
        struct tm tm;
        strftime(when, sizeof when, "%a %b %d %H:%M:%S %Y", gmtime_r(&e[i].when, &tm));
        cl_numeric(cl, 314, "%s %s %s * :%s", e[i].nick, e[i].user, e[i].host, e[i].real);
        cl_numeric(cl, 312, "%s %s :%s", e[i].nick, query_server(cl), when);
    }
    if (n == 0)
        cl_numeric(cl, 406, "%s :There was no such nickname", nick);
    cl_numeric(cl, 369, "%s :End of WHOWAS", nick);
}

/* ---- ISON and USERHOST ---------------------------------------------------- */

/* Appends word to buf (len used) with a space before all but the first;
 * false, and nothing added, past LIST_ROOM. */
static bool add_word(char *buf, size_t *len, const char *word)
{
    size_t w = strlen(word);
    if (*len + w + 1 > LIST_ROOM)
        return false;
    *len += (size_t)snprintf(buf + *len, LIST_ROOM + 1 - *len, "%s%s", *len ? " " : "", word);
    return true;
}

/* ISON nick ...: the ones on (as they spell it), in one 303. A client
 * may send the nicks as one trailing parameter: spaces split too. */
static void ison_reply(struct chat_client *cl, struct nick_q *q, const struct chat_who *who)
{
    char buf[LIST_ROOM + 1] = "";
    size_t len = 0;
    bool room = true;
    chat_lock(cl->chat);
    for (unsigned i = 0; i < q->n && room; i++) {
        const struct chat_client *c = cl_registered(cl->chat, q->nick[i]);
        const struct chat_who *r = c ? NULL : remote_of(q, i, who);
        if (c || r)
            room = add_word(buf, &len, c ? c->nick : r->nick);
    }
    chat_unlock(cl->chat);
    cl_numeric(cl, 303, ":%s", buf);
}

/* Each word of m's parameters (space-separated too) into q, as many as
 * fit: up to max. */
static void words_into(struct irc_msg *m, struct nick_q *q, unsigned max)
{
    for (int i = 0; i < m->nparams; i++) {
        char *save = NULL;
        for (char *t = strtok_r(m->params[i], " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            if (strlen(t) > CHAT_NICKLEN)
                continue;  /* nobody's nick; cut short, it could be someone's */
            if (q->n == max || !nick_q_add(q, t))
                return;
        }
    }
}

void chat_cmd_ison(struct chat_client *cl, struct irc_msg *m)
{
    struct nick_q *q = nick_q_new(ison_reply);
    if (!q)
        return;
    words_into(m, q, CHAT_LOOKUP_MAX);
    nick_q_run(cl, q);
}

/* USERHOST nick ... (5 at most): nick[*]=+user@host, '*' for an operator,
 * '-' for away, in one 302. Of a nick on another node: nick=+user@host
 * (whether it is an operator or away is its node's). */
static void userhost_reply(struct chat_client *cl, struct nick_q *q,
                           const struct chat_who *who)
{
    char buf[LIST_ROOM + 1] = "";
    size_t len = 0;
    chat_lock(cl->chat);
    for (unsigned i = 0; i < q->n; i++) {
        const struct chat_client *c = cl_registered(cl->chat, q->nick[i]);
        const struct chat_who *r = c ? NULL : remote_of(q, i, who);
        char one[CHAT_NICKLEN + CHAT_USERLEN + 64 + 5];
        if (c)
            snprintf(one, sizeof one, "%s%s=%c%s@%s", c->nick, query_is_oper(c) ? "*" : "",
                     c->away ? '-' : '+', c->user, c->vhost);
        else if (r)
            snprintf(one, sizeof one, "%s=+%s@%s", r->nick, r->user, r->host);
        if (c || r)
            add_word(buf, &len, one);
    }
    chat_unlock(cl->chat);
    cl_numeric(cl, 302, ":%s", buf);
}

void chat_cmd_userhost(struct chat_client *cl, struct irc_msg *m)
{
    struct nick_q *q = nick_q_new(userhost_reply);
    if (!q)
        return;
    words_into(m, q, NICKS_MAX);
    nick_q_run(cl, q);
}
