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

#define WHO_MAX 200         /* users in one WHO by mask */
#define LIST_MAX 1000       /* channels in one LIST */
#define NAMES_MAX 16        /* channels in one NAMES #a,#b */
#define NAMES_ALL 20        /* channels in one NAMES without a channel */
#define NICKS_MAX 5         /* nicks in one WHOIS or USERHOST */
/* Room for the list in a 319, 302 or 303: a line is 512 bytes in all. */
#define LIST_ROOM 400

static const char *srv_name(const struct chat_client *cl)
{
    return cl_set(cl)->o.server_name;
}

/* Splits a comma list in place into at most max items. */
static unsigned split_commas(char *s, char **out, unsigned max)
{
    unsigned n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        out[n++] = tok;
    return n;
}

/* Under mu: only registered clients can be asked about. */
static struct chat_client *reg_find(struct mx_chat *chat, const char *nick)
{
    struct chat_client *cl = cl_by_nick(chat, nick);
    return cl && cl->registered ? cl : NULL;
}

static bool is_oper(const struct chat_client *cl)
{
    return cl->umodes & UM_OPER;
}

/* Under mu: may cl see ch's members (it is not secret, or cl is in)? */
static bool chan_visible(const struct chat_client *cl, const struct chat_channel *ch)
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

static uint64_t idle_secs(const struct chat_client *who, time_t now)
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
    snprintf(out, cap, "%c%s%s", who->away ? 'G' : 'H', is_oper(who) ? "*" : "",
             chat_prefixes(viewer, modes, pfx));
}

/* One WHOX field of who (IRC_WHOX_ORDER's letter f); idle is its text. */
static const char *whox_field(const struct who_q *q, char f, const char *chan,
                              const struct chat_client *who, const char *flags,
                              const char *idle)
{
    /* The address only to itself and operators, or when it is no secret. */
    bool addr = who == q->cl || is_oper(q->cl) || strcmp(who->host, who->vhost) == 0;
    switch (f) {
    case 't': return q->o.token;
    case 'c': return chan;
    case 'u': return who->user;
    case 'i': return addr ? who->host : "255.255.255.255";
    case 'h': return who->vhost;
    case 's': return srv_name(q->cl);
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
    snprintf(idle, sizeof idle, "%llu", (unsigned long long)idle_secs(who, q->now));
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
                   srv_name(q->cl), who->nick, flags, who->real);
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
        if ((q->o.opers && !is_oper(who)) || (!member && !user_visible(q->cl, who)))
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
           irc_mask_match(m, srv_name(q->cl));
}

static void who_node(struct nt_node *n, void *arg)
{
    struct who_q *q = arg;
    const struct chat_client *who =
        (const struct chat_client *)((char *)n - offsetof(struct chat_client, node));
    if (q->sent >= WHO_MAX || !who->registered || (q->o.opers && !is_oper(who)))
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
/* Under mu: a member of ch on another node, with its status there; an
 * invisible one only to members of ch. */
static void who_remote(struct who_q *q, struct chat_channel *ch, const char *who,
                       const char *real, unsigned status)
{
    if ((status & NET_INVISIBLE) && !cl_on(q->cl, ch))
        return;
    struct chat_client r = { .signon = 0 };
    const char *bang = strchr(who, '!'), *at = bang ? strchr(bang, '@') : NULL;
    if (!at || bang - who > CHAT_NICKLEN || at - bang - 1 > CHAT_USERLEN)
        return;
    snprintf(r.nick, sizeof r.nick, "%.*s", (int)(bang - who), who);
    snprintf(r.user, sizeof r.user, "%.*s", (int)(at - bang - 1), bang + 1);
    snprintf(r.vhost, sizeof r.vhost, "%s", at + 1);
    snprintf(r.host, sizeof r.host, "%s", at + 1);
    snprintf(r.real, sizeof r.real, "%s", real);
    atomic_init(&r.last_msg, (uint64_t)q->now);  /* its idle time is not known here */
    if (!q->o.opers)
        who_reply(q, ch->name, &r, status & (MEM_OP | MEM_VOICE));
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

void chat_cmd_who(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct who_q q = { .cl = cl, .mask = m->nparams && m->params[0][0] ? m->params[0] : "*",
                       .now = time(NULL) };
    irc_who_opts_parse(m->nparams > 1 ? m->params[1] : NULL, &q.o);
    if (who_ask_network(cl, &q))
        return;
    chat_lock(chat);
    struct chat_client *who = NULL;
    if (q.mask[0] == '#') {
        struct chat_channel *ch = chan_find(chat, q.mask);
        if (ch)
            who_channel(&q, ch);
    } else if ((who = reg_find(chat, q.mask))) {
        /* An exact nick: that user, +i or not (Modern IRC). */
        if (!q.o.opers || is_oper(who))
            who_reply(&q, "*", who, 0);
    } else {
        nt_each(&chat->nicks, who_node, &q);
    }
    chat_unlock(chat);
    cl_numeric(cl, 315, "%s :End of WHO list", q.mask);
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
        if (!chan_visible(cl, ch))
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
    cl_numeric(cl, 312, "%s %s :muxd", who->nick, srv_name(cl));
    if (is_oper(who))
        cl_numeric(cl, 313, "%s :is an IRC operator", who->nick);
    if (who->away)
        cl_numeric(cl, 301, "%s :%s", who->nick, who->away);
    if (who->tls)
        cl_numeric(cl, 671, "%s :is using a secure connection", who->nick);
    /* The address behind a cloak: for the client itself and opers. */
    if (strcmp(who->host, who->vhost) != 0 && (who == cl || is_oper(cl)))
        cl_numeric(cl, 338, "%s %s :actually using host", who->nick, who->host);
    cl_numeric(cl, 317, "%s %llu %lld :seconds idle, signon time", who->nick,
               (unsigned long long)idle_secs(who, time(NULL)), (long long)who->signon);
}

/* A WHOIS in the making: its nicks, and what the network said of those
 * held on other nodes (remote[i]: the index in who, or -1). */
struct whois_q {
    unsigned n;
    char nick[NICKS_MAX][CHAT_NICKLEN + 1];
    int remote[NICKS_MAX];
    char asked[IRC_LINE_MAX];
};

static void whois_remote(struct chat_client *cl, const struct chat_who *w)
{
    cl_numeric(cl, 311, "%s %s %s * :%s", w->nick, w->user, w->host, w->real);
    cl_numeric(cl, 312, "%s %s :muxd (another node of this network)", w->nick, w->node);
}

/* Each nick in order: here, on another node (who, may be NULL), or 401. */
static void whois_reply(struct chat_client *cl, const struct whois_q *q,
                        const struct chat_who *who)
{
    struct mx_chat *chat = cl->chat;
    for (unsigned i = 0; i < q->n; i++) {
        chat_lock(chat);
        const struct chat_client *c = reg_find(chat, q->nick[i]);
        if (c)
            whois_one(cl, c);
        chat_unlock(chat);
        if (c)
            continue;
        if (who && q->remote[i] >= 0 && who[q->remote[i]].found)
            whois_remote(cl, &who[q->remote[i]]);
        else
            cl_numeric(cl, 401, "%s :No such nick/channel", q->nick[i]);
    }
    /* The list as sent, dropped nicks and all (Modern IRC 318). */
    cl_numeric(cl, 318, "%s :End of WHOIS list", q->asked);
}

static void whois_looked_up(struct chat_client *cl, const struct chat_who *who, unsigned n,
                            void *arg)
{
    (void)n;
    if (cl)
        whois_reply(cl, arg, who);
    free(arg);
}

/* With other nodes: the nicks not here are asked of the network (at most
 * CHAT_LOOKUP_MAX); true if the reply waits for its answer. */
static bool whois_ask_network(struct chat_client *cl, struct whois_q *q)
{
    const char *ask[CHAT_LOOKUP_MAX];
    unsigned k = 0;
    chat_lock(cl->chat);
    for (unsigned i = 0; i < q->n; i++) {
        bool here = reg_find(cl->chat, q->nick[i]) != NULL;
        q->remote[i] = !here && k < CHAT_LOOKUP_MAX && irc_nick_valid(q->nick[i], CHAT_NICKLEN)
            ? (int)k : -1;
        if (q->remote[i] >= 0)
            ask[k++] = q->nick[i];
    }
    chat_unlock(cl->chat);
    return k && chat_cluster_lookup(cl, ask, k, whois_looked_up, q) == 0;
}

void chat_cmd_whois(struct chat_client *cl, struct irc_msg *m)
{
    /* WHOIS [<server>] <nicks>: every nick here is on this server. */
    char *list = m->params[m->nparams - 1];
    if (!list[0]) {
        cl_numeric(cl, 431, ":No nickname given");
        return;
    }
    struct whois_q *q = malloc(sizeof *q);
    if (!q)
        return;
    snprintf(q->asked, sizeof q->asked, "%s", list);
    char *nicks[NICKS_MAX];
    q->n = split_commas(list, nicks, NICKS_MAX);
    for (unsigned i = 0; i < q->n; i++) {
        snprintf(q->nick[i], sizeof q->nick[i], "%s", nicks[i]);
        q->remote[i] = -1;
    }
    if (cl->chat->has_bus && whois_ask_network(cl, q))
        return;
    whois_reply(cl, q, NULL);
    free(q);
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
        cl_numeric(cl, 312, "%s %s :%s", e[i].nick, srv_name(cl), when);
    }
    if (n == 0)
        cl_numeric(cl, 406, "%s :There was no such nickname", nick);
    cl_numeric(cl, 369, "%s :End of WHOWAS", nick);
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
    if (na->sent < NAMES_ALL && chan_visible(na->cl, ch)) {
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
    unsigned n = split_commas(m->params[0], names, NAMES_MAX);
    /* One channel with other nodes: their members too (chat_chan.c). */
    if (n == 1 && chat->has_bus) {
        chat_lock(chat);
        struct chat_channel *ch = chan_find(chat, names[0]);
        bool visible = ch && chan_visible(cl, ch);
        chat_unlock(chat);
        if (visible) {
            chat_names_reply(cl, names[0]);
            return;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        chat_lock(chat);
        struct chat_channel *ch = chan_find(chat, names[i]);
        if (ch && chan_visible(cl, ch))
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
    if (lq->sent >= LIST_MAX || !chan_visible(lq->cl, ch) || !irc_list_match(&lq->q, ch->name, ch->n))
        return;
    cl_numeric(lq->cl, 322, "%s %u :%s", ch->name, ch->n, ch->topic ? ch->topic : "");
    lq->sent++;
}

void chat_cmd_list(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct list_q lq = { .cl = cl };
    for (int i = 0; i < m->nparams && i < 2; i++)
        irc_list_parse(m->params[i], &lq.q);
    cl_numeric(cl, 321, "Channel :Users  Name");
    chat_lock(chat);
    nt_each(&chat->chans, list_node, &lq);
    chat_unlock(chat);
    cl_numeric(cl, 323, ":End of LIST");
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
void chat_cmd_ison(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    char buf[LIST_ROOM + 1] = "";
    size_t len = 0;
    bool room = true;
    chat_lock(chat);
    for (int i = 0; i < m->nparams && room; i++) {
        char *save = NULL;
        for (char *t = strtok_r(m->params[i], " ", &save); t && room;
             t = strtok_r(NULL, " ", &save)) {
            const struct chat_client *who = reg_find(chat, t);
            if (who)
                room = add_word(buf, &len, who->nick);
        }
    }
    chat_unlock(chat);
    cl_numeric(cl, 303, ":%s", buf);
}

/* USERHOST nick ... (5 at most): nick[*]=+user@host, '*' for an operator,
 * '-' for away, in one 302. */
void chat_cmd_userhost(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    char buf[LIST_ROOM + 1] = "";
    size_t len = 0;
    unsigned asked = 0;
    chat_lock(chat);
    for (int i = 0; i < m->nparams && asked < NICKS_MAX; i++) {
        char *save = NULL;
        for (char *t = strtok_r(m->params[i], " ", &save); t && asked < NICKS_MAX;
             t = strtok_r(NULL, " ", &save), asked++) {
            const struct chat_client *who = reg_find(chat, t);
            char one[CHAT_NICKLEN + CHAT_USERLEN + 64 + 5];
            if (!who)
                continue;
            snprintf(one, sizeof one, "%s%s=%c%s@%s", who->nick, is_oper(who) ? "*" : "",
                     who->away ? '-' : '+', who->user, who->vhost);
            add_word(buf, &len, one);
        }
    }
    chat_unlock(chat);
    cl_numeric(cl, 302, ":%s", buf);
}

/* ---- the server's own ----------------------------------------------------- */

bool chat_target_here(struct chat_client *cl, const char *target)
{
    if (!target || !target[0] || irc_mask_match(target, srv_name(cl)))
        return true;
    chat_lock(cl->chat);
    bool nick = reg_find(cl->chat, target) != NULL;
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
    cl_numeric(cl, 391, "%s %lld :%s", srv_name(cl), (long long)now, when);
}

void chat_cmd_admin(struct chat_client *cl, struct irc_msg *m)
{
    if (!chat_target_here(cl, m->nparams ? m->params[0] : NULL))
        return;
    cl_numeric(cl, 256, "%s :Administrative info", srv_name(cl));
    cl_numeric(cl, 257, ":muxd chat server %s", srv_name(cl));
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
