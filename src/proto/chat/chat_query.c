/* chat_query.c - answering queries: WHO (and WHOX), WHOIS, WHOWAS, NAMES,
 * LIST, ISON, USERHOST, LUSERS, TIME, ADMIN, INFO. Each reads the tables
 * under mu and replies only to the asking client (which chat_int.h
 * allows under mu: it only appends to that client's own queue).
 *
 * Every reply is bounded (docs/chat-protocol.md, "Queries"): a WHO by
 * mask stops at WHO_MAX matches, LIST at LIST_MAX channels, NAMES
 * without a channel at NAMES_ALL channels, WHOIS and USERHOST take at
 * most 5 nicks, WHOWAS shows what its bounded history holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/muxd.h"
#include "proto/chat/chat_int.h"
#include "proto/chat/chat_query.h"

#define WHO_MAX 200         /* users in one WHO by mask */
#define LIST_MAX 1000       /* channels in one LIST */
#define NAMES_MAX 16        /* channels in one NAMES #a,#b */
#define NAMES_ALL 20        /* channels in one NAMES without a channel */

const char *query_server(const struct chat_client *cl)
{
    return cl_set(cl)->o.server_name;
}

bool query_is_oper(const struct chat_client *cl)
{
    return cl->umodes & UM_OPER;
}

/* Under mu: may cl see ch's members (it is not secret, or cl is in)? */
bool query_chan_visible(const struct chat_client *cl, const struct chat_channel *ch)
{
    return !(ch->modes & CM_S) || cl_on(cl, ch);
}

/* Under mu: may cl see who in a listing? +i hides it from those who
 * share no channel with it (Modern IRC, "Invisible User Mode"). */
static bool user_visible(const struct chat_client *cl, const struct chat_client *who)
{
    if (who == cl || !(who->umodes & UM_INVISIBLE))
        return true;
    for (unsigned i = 0; i < who->nchans; i++)
        if (cl_on(cl, who->chans[i]))
            return true;
    return false;
}

uint64_t query_idle_secs(const struct chat_client *who, time_t now)
{
    uint64_t last = chat_counter_get(&who->last_msg);
    return (uint64_t)now > last ? (uint64_t)now - last : 0;
}

/* ---- WHO ------------------------------------------------------------------ */

struct who_q {
    struct chat_client *cl;
    const char *mask;
    struct irc_who_opts o;
    unsigned sent;
    time_t now;
};

/* "H", "G*@": away, operator, the member's prefix (Modern IRC 352). */
static void who_flags(const struct chat_client *viewer, const struct chat_client *who,
                      unsigned modes, char *out, size_t cap)
{
    char pfx[4];
    snprintf(out, cap, "%c%s%s", who->away ? 'G' : 'H', query_is_oper(who) ? "*" : "",
             chat_prefixes(viewer, modes, pfx));
}

/* One WHOX field of who (IRC_WHOX_ORDER's letter f); idle is its text. */
static const char *whox_field(const struct who_q *q, char f, const char *chan,
                              const struct chat_client *who, const char *flags,
                              const char *idle)
{
    /* The address only to itself and operators, or when it is no secret. */
    bool addr = who == q->cl || query_is_oper(q->cl) || strcmp(who->host, who->vhost) == 0;
    switch (f) {
    case 't': return q->o.token;
    case 'c': return chan;
    case 'u': return who->user;
    case 'i': return addr ? who->host : "255.255.255.255";
    case 'h': return who->vhost;
    case 's': return query_server(q->cl);
    case 'n': return who->nick;
    case 'f': return flags;
    case 'd': return "0";
    case 'l': return idle;
    case 'a': return "0";           /* no accounts: logged out */
    case 'o': return "n/a";
    default: return who->real;
    }
}

/* The 354 fields asked for, in IRC_WHOX_ORDER (the spec's order); the
 * real name, last when asked for, is the trailing parameter. */
static void whox_line(struct who_q *q, const char *chan, const struct chat_client *who,
                      const char *flags)
{
    char idle[24], buf[IRC_LINE_MAX];
    snprintf(idle, sizeof idle, "%llu", (unsigned long long)query_idle_secs(who, q->now));
    size_t len = 0;
    for (const char *f = IRC_WHOX_ORDER; *f; f++) {
        if (!irc_whox_has(&q->o, *f))
            continue;
        int n = snprintf(buf + len, sizeof buf - len, "%s%s%s", len ? " " : "",
                         *f == 'r' ? ":" : "", whox_field(q, *f, chan, who, flags, idle));
        if (n < 0 || (size_t)n >= sizeof buf - len)
            break;
        len += (size_t)n;
    }
    cl_numeric(q->cl, 354, "%.*s", (int)len, buf);
}

/* Under mu: one reply for who (352, or 354 for WHOX). */
static void who_reply(struct who_q *q, const char *chan, const struct chat_client *who,
                      unsigned modes)
{
    char flags[8];
    who_flags(q->cl, who, modes, flags, sizeof flags);
    if (q->o.whox)
        whox_line(q, chan, who, flags);
    else
        cl_numeric(q->cl, 352, "%s %s %s %s %s %s :0 %s", chan, who->user, who->vhost,
                   query_server(q->cl), who->nick, flags, who->real);
    q->sent++;
}

/* Under mu: a channel's members, all of them for a member, the visible
 * ones of a public channel for others, nobody of a secret one. */
static void who_channel(struct who_q *q, struct chat_channel *ch)
{
    bool member = cl_on(q->cl, ch);
    if (!member && (ch->modes & CM_S))
        return;
    for (unsigned i = 0; i < ch->n; i++) {
        const struct chat_client *who = ch->m[i].cl;
        if ((q->o.opers && !query_is_oper(who)) || (!member && !user_visible(q->cl, who)))
            continue;
        who_reply(q, ch->name, who, ch->m[i].modes);
    }
}

/* Does who match a WHO mask: "*" and "0" everyone, else its nick, user,
 * host, real name or server (Modern IRC allows each)? */
static bool who_match(const struct who_q *q, const struct chat_client *who)
{
    const char *m = q->mask;
    if (strcmp(m, "*") == 0 || strcmp(m, "0") == 0)
        return true;
    return irc_mask_match(m, who->nick) || irc_mask_match(m, who->user) ||
           irc_mask_match(m, who->vhost) || irc_mask_match(m, who->real) ||
           irc_mask_match(m, query_server(q->cl));
}

static void who_node(struct nt_node *n, void *arg)
{
    struct who_q *q = arg;
    const struct chat_client *who =
        (const struct chat_client *)((char *)n - offsetof(struct chat_client, node));
    if (q->sent >= WHO_MAX || !who->registered || (q->o.opers && !query_is_oper(who)))
        return;
    if (user_visible(q->cl, who) && who_match(q, who))
        who_reply(q, "*", who, 0);
}

/* A WHO of a channel waiting for the network's list of its members on
 * other nodes: its mask and options, copied. */
struct who_wait {
    char mask[CHAT_CHANLEN + 1];
    struct irc_who_opts o;
};

/* Under mu: another node's member as WHO shows it ("nick!user@host" and
 * its real name): a client that exists here only for the reply. */
/* A user of another node, as far as WHO may tell (an operator? away?
 * idle since? its node knows: not shown). Not for WHO's opers-only form. */
static void who_elsewhere(struct who_q *q, const char *chan, const struct chat_who *w,
                          unsigned modes)
{
    struct chat_client r = { .signon = 0 };
    snprintf(r.nick, sizeof r.nick, "%s", w->nick);
    snprintf(r.user, sizeof r.user, "%s", w->user);
    snprintf(r.vhost, sizeof r.vhost, "%s", w->host);
    snprintf(r.host, sizeof r.host, "%s", w->host);
    snprintf(r.real, sizeof r.real, "%s", w->real);
    atomic_init(&r.last_msg, (uint64_t)q->now);
    if (!q->o.opers)
        who_reply(q, chan, &r, modes);
}

/* Under mu: a member of ch on another node, with its status there; an
 * invisible one only to members of ch. */
static void who_remote(struct who_q *q, struct chat_channel *ch, const char *who,
                       const char *real, unsigned status)
{
    if ((status & NET_INVISIBLE) && !cl_on(q->cl, ch))
        return;
    const char *bang = strchr(who, '!'), *at = bang ? strchr(bang, '@') : NULL;
    if (!at || bang - who > CHAT_NICKLEN || at - bang - 1 > CHAT_USERLEN)
        return;
    struct chat_who w = { .found = true };
    snprintf(w.nick, sizeof w.nick, "%.*s", (int)(bang - who), who);
    snprintf(w.user, sizeof w.user, "%.*s", (int)(at - bang - 1), bang + 1);
    snprintf(w.host, sizeof w.host, "%s", at + 1);
    snprintf(w.real, sizeof w.real, "%s", real);
    who_elsewhere(q, ch->name, &w, status & (MEM_OP | MEM_VOICE));
}

static void who_of_network(struct chat_client *cl, const char *chan,
                           const struct chat_netchan *nc, void *arg)
{
    struct who_wait *w = arg;
    if (cl) {
        struct who_q q = { .cl = cl, .mask = w->mask, .o = w->o, .now = time(NULL) };
        chat_lock(cl->chat);
        struct chat_channel *ch = chan_find(cl->chat, chan);
        bool seen = ch && (cl_on(cl, ch) || !(ch->modes & CM_S));
        if (ch)
            who_channel(&q, ch);
        for (unsigned i = 0; seen && nc && i < nc->n; i++)
            who_remote(&q, ch, nc->who[i], nc->real[i], nc->status[i]);
        chat_unlock(cl->chat);
        cl_numeric(cl, 315, "%s :End of WHO list", w->mask);
    }
    free(w);
}

/* WHO #chan with other nodes: their members too, once the network says
 * who they are (the client's next lines wait). False: not asked. */
static bool who_ask_network(struct chat_client *cl, const struct who_q *q)
{
    if (!cl->chat->has_bus || q->mask[0] != '#' || strlen(q->mask) > CHAT_CHANLEN)
        return false;
    struct who_wait *w = malloc(sizeof *w);
    if (!w)
        return false;
    snprintf(w->mask, sizeof w->mask, "%s", q->mask);
    w->o = q->o;
    if (chat_cluster_names(cl, q->mask, who_of_network, w) == 0)
        return true;
    free(w);
    return false;
}

/* This node's answer: a channel's members, a nick's user, or the users
 * the mask matches. */
static void who_here(struct who_q *q)
{
    struct mx_chat *chat = q->cl->chat;
    chat_lock(chat);
    struct chat_client *who = NULL;
    if (q->mask[0] == '#') {
        struct chat_channel *ch = chan_find(chat, q->mask);
        if (ch)
            who_channel(q, ch);
    } else if ((who = cl_registered(chat, q->mask))) {
        /* An exact nick: that user, +i or not (Modern IRC). */
        if (!q->o.opers || query_is_oper(who))
            who_reply(q, "*", who, 0);
    } else {
        nt_each(&chat->nicks, who_node, q);
    }
    chat_unlock(chat);
}

/* WHO of a mask that is a nick no client here holds: this node's
 * matches, then that nick's user if another node's client holds it. */
static void who_nick_reply(struct chat_client *cl, struct nick_q *nq, const struct chat_who *who)
{
    struct who_q q = { .cl = cl, .mask = nq->asked, .o = nq->o, .now = time(NULL) };
    who_here(&q);
    if (who && nq->remote[0] >= 0 && who[nq->remote[0]].found)
        who_elsewhere(&q, "*", &who[nq->remote[0]], 0);
    cl_numeric(cl, 315, "%s :End of WHO list", q.mask);
}

/* With other nodes, WHO of a nick not here asks the network (the reply
 * waits); true if it went that way. */
static bool who_nick_elsewhere(struct chat_client *cl, const struct who_q *q)
{
    if (!cl->chat->has_bus || !irc_nick_valid(q->mask, CHAT_NICKLEN))
        return false;
    chat_lock(cl->chat);
    bool here = cl_registered(cl->chat, q->mask) != NULL;
    chat_unlock(cl->chat);
    struct nick_q *nq = here ? NULL : calloc(1, sizeof *nq);
    if (!nq)
        return false;
    *nq = (struct nick_q){ .reply = who_nick_reply, .n = 1, .o = q->o };
    snprintf(nq->nick[0], sizeof nq->nick[0], "%s", q->mask);
    snprintf(nq->asked, sizeof nq->asked, "%s", q->mask);
    nick_q_run(cl, nq);
    return true;
}

void chat_cmd_who(struct chat_client *cl, struct irc_msg *m)
{
    struct who_q q = { .cl = cl, .mask = m->nparams && m->params[0][0] ? m->params[0] : "*",
                       .now = time(NULL) };
    irc_who_opts_parse(m->nparams > 1 ? m->params[1] : NULL, &q.o);
    if (who_ask_network(cl, &q) || who_nick_elsewhere(cl, &q))
        return;
    who_here(&q);
    cl_numeric(cl, 315, "%s :End of WHO list", q.mask);
}

/* ---- NAMES and LIST ------------------------------------------------------- */

struct names_all {
    struct chat_client *cl;
    unsigned sent;
};

static void names_node(struct nt_node *n, void *arg)
{
    struct names_all *na = arg;
    struct chat_channel *ch = chan_of(n);
    if (na->sent < NAMES_ALL && query_chan_visible(na->cl, ch)) {
        chan_names(na->cl, ch, NULL);
        na->sent++;
    }
}

void chat_cmd_names(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    if (m->nparams < 1 || !m->params[0][0]) {
        struct names_all na = { cl, 0 };
        chat_lock(chat);
        nt_each(&chat->chans, names_node, &na);
        chat_unlock(chat);
        cl_numeric(cl, 366, "* :End of NAMES list");
        return;
    }
    char *names[NAMES_MAX];
    unsigned n = chat_split_commas(m->params[0], names, NAMES_MAX);
    /* One channel with other nodes: their members too (chat_chan.c). */
    if (n == 1 && chat->has_bus) {
        chat_lock(chat);
        struct chat_channel *ch = chan_find(chat, names[0]);
        bool visible = ch && query_chan_visible(cl, ch);
        chat_unlock(chat);
        if (visible) {
            chat_names_reply(cl, names[0]);
            return;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        chat_lock(chat);
        struct chat_channel *ch = chan_find(chat, names[i]);
        if (ch && query_chan_visible(cl, ch))
            chan_names(cl, ch, NULL);
        else
            cl_numeric(cl, 366, "%s :End of NAMES list", names[i]);
        chat_unlock(chat);
    }
}

struct list_q {
    struct chat_client *cl;
    struct irc_list_query q;
    unsigned sent;
};

static void list_node(struct nt_node *n, void *arg)
{
    struct list_q *lq = arg;
    struct chat_channel *ch = chan_of(n);
    if (lq->sent >= LIST_MAX || !query_chan_visible(lq->cl, ch) ||
        !irc_list_match(&lq->q, ch->name, ch->n))
        return;
    cl_numeric(lq->cl, 322, "%s %u :%s", ch->name, ch->n, ch->topic ? ch->topic : "");
    lq->sent++;
}

/* LIST's parameters, kept while the network is asked. */
struct list_wait {
    char p[2][IRC_LINE_MAX];
    int n;
};

/* Under mu: the network's channels, the secret ones only to members. */
static void list_network(struct list_q *lq, const struct chat_netlist *c, unsigned n)
{
    for (unsigned i = 0; i < n && lq->sent < LIST_MAX; i++) {
        struct chat_channel *ch = chan_find(lq->cl->chat, c[i].name);
        if ((c[i].secret && !(ch && cl_on(lq->cl, ch))) ||
            !irc_list_match(&lq->q, c[i].name, c[i].users))
            continue;
        cl_numeric(lq->cl, 322, "%s %lu :%s", c[i].name, c[i].users, c[i].topic);
        lq->sent++;
    }
}

/* The reply: the network's channels (c, n), or without them (c NULL)
 * this node's. */
static void list_reply(struct chat_client *cl, const struct chat_netlist *c, unsigned n,
                       void *arg)
{
    struct list_wait *lw = arg;
    if (!cl) {
        free(lw);
        return;
    }
    struct list_q lq = { .cl = cl };
    for (int i = 0; i < lw->n; i++)
        irc_list_parse(lw->p[i], &lq.q);
    cl_numeric(cl, 321, "Channel :Users  Name");
    chat_lock(cl->chat);
    if (c)
        list_network(&lq, c, n);
    else
        nt_each(&cl->chat->chans, list_node, &lq);
    chat_unlock(cl->chat);
    cl_numeric(cl, 323, ":End of LIST");
    free(lw);
}

void chat_cmd_list(struct chat_client *cl, struct irc_msg *m)
{
    struct list_wait *lw = calloc(1, sizeof *lw);
    if (!lw)
        return;
    for (int i = 0; i < m->nparams && i < 2; i++)
        snprintf(lw->p[lw->n++], sizeof lw->p[0], "%s", m->params[i]);
    /* Twice what is shown: secret channels are left out here. */
    if (chat_cluster_channels(cl, 2 * LIST_MAX, list_reply, lw) != 0)
        list_reply(cl, NULL, 0, lw);
}

/* ---- the server's own ----------------------------------------------------- */

bool chat_target_here(struct chat_client *cl, const char *target)
{
    if (!target || !target[0] || irc_mask_match(target, query_server(cl)))
        return true;
    chat_lock(cl->chat);
    bool nick = cl_registered(cl->chat, target) != NULL;
    chat_unlock(cl->chat);
    if (!nick)
        cl_numeric(cl, 402, "%s :No such server", target);
    return nick;
}

void chat_lusers(struct chat_client *cl)
{
    struct mx_chat *chat = cl->chat;
    chat_lock(chat);
    unsigned users = chat->nusers, inv = chat->ninvisible, ops = chat->nopers;
    unsigned unknown = chat->nclients - chat->nusers;
    unsigned chans = (unsigned)chat->chans.n;
    /* Users only grow at a registration, and every registration sends
     * LUSERS in its welcome burst: the peak is always seen here. */
    if (users > chat->maxusers)
        chat->maxusers = users;
    unsigned max = chat->maxusers;
    chat_unlock(chat);
    /* One server, no links: s is 1 in 251 (this one), 0 in 255 (others). */
    cl_numeric(cl, 251, ":There are %u users and %u invisible on 1 servers", users - inv, inv);
    /* 252 to 254 carry positive counts (Modern IRC): left out at 0. */
    if (ops)
        cl_numeric(cl, 252, "%u :operator(s) online", ops);
    if (unknown)
        cl_numeric(cl, 253, "%u :unknown connection(s)", unknown);
    if (chans)
        cl_numeric(cl, 254, "%u :channels formed", chans);
    cl_numeric(cl, 255, ":I have %u clients and 0 servers", users);
    cl_numeric(cl, 265, "%u %u :Current local users %u, max %u", users, max, users, max);
    cl_numeric(cl, 266, "%u %u :Current global users %u, max %u", users, max, users, max);
}

void chat_cmd_lusers(struct chat_client *cl, struct irc_msg *m)
{
    (void)m;
    chat_lusers(cl);
}

void chat_cmd_time(struct chat_client *cl, struct irc_msg *m)
{
    if (!chat_target_here(cl, m->nparams ? m->params[0] : NULL))
        return;
    time_t now = time(NULL);
    struct tm tm;
    char when[64];
    strftime(when, sizeof when, "%A %B %d %Y -- %H:%M:%S +00:00", gmtime_r(&now, &tm));
    cl_numeric(cl, 391, "%s %lld :%s", query_server(cl), (long long)now, when);
}

void chat_cmd_admin(struct chat_client *cl, struct irc_msg *m)
{
    if (!chat_target_here(cl, m->nparams ? m->params[0] : NULL))
        return;
    cl_numeric(cl, 256, "%s :Administrative info", query_server(cl));
    cl_numeric(cl, 257, ":muxd chat server %s", query_server(cl));
    cl_numeric(cl, 258, ":Run by the operators of this host");
    cl_numeric(cl, 259, ":No administrative e-mail is configured");
}

void chat_cmd_info(struct chat_client *cl, struct irc_msg *m)
{
    (void)m;
    cl_numeric(cl, 371, ":muxd-%s, a multi-reactor TCP server, serving IRC", MUXD_VERSION);
    cl_numeric(cl, 371, ":Each worker owns its clients; channels span every worker.");
    cl_numeric(cl, 371, ":Up since %s", cl->chat->created_str);
    cl_numeric(cl, 374, ":End of INFO list");
}
