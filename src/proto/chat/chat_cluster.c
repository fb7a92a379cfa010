/* chat_cluster.c - what a client's command asks of the network
 * (docs/cluster.md), and the answers brought back to the client's owner:
 * nick claims, lines to a nick on another node, lookups of nicks (WHOIS,
 * WHO, ISON, USERHOST), the network's channels (LIST), a channel's
 * members and state. While a question is out the client's input waits,
 * so its commands keep their order. What arrives unasked (other nodes'
 * lines) is chat_remote.c's; joining the network, chat_netjoin.c's; what
 * this node publishes, chat_wire.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

/* A line, its tags and the rest: well under this. */
#define PAYLOAD_MAX 16384
void chat_claim_info(const struct chat_client *cl, const char *nick, char *buf, size_t len)
{
    snprintf(buf, len, "%s\n%s\n%s\n%s\n%s", nick, cl->user, cl->vhost, cl->real,
             cl->chat->node);
}

/* ---- waiting for answers ------------------------------------------------- */

/* While one or more questions of cl's are out, its input waits (paused,
 * CL_CLAIMING), so that its commands keep their order. */
static void ask_begin(struct chat_client *cl)
{
    if (cl->asks++ == 0) {
        cl->flags |= CL_CLAIMING;
        mx_conn_pause(cl->c);
    }
}

static void ask_end(struct chat_client *cl)
{
    if (cl->asks && --cl->asks == 0) {
        cl->flags &= ~CL_CLAIMING;
        if (!(cl->flags & CL_FLOOD) && cl->holds == 0)
            mx_conn_resume(cl->c);
    }
}

/* On the asker's worker, with the answer: its client, if still there, its
 * input no longer waiting for this one, inside an entry (*wk, for
 * answer_end); NULL if it has gone. */
static struct chat_client *answer_begin(struct mx_conn *c, struct mx_chat *chat,
                                        struct chat_worker **wk)
{
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (!cl || (cl->flags & CL_GONE))
        return NULL;
    *wk = chat_enter(chat, cl->worker);
    ask_end(cl);
    return cl;
}

/* ---- nick claims -------------------------------------------------------- */

struct claim {
    struct mx_chat *chat;
    uint64_t id;                    /* the client's conn id when it asked */
    uint64_t uid;                   /* and its uid: the claim's owner */
    chat_claimed_fn *then;
    int r;
    char nick[CHAT_NICKLEN + 1];    /* as asked (its case kept) */
};

static void claim_run(struct mx_conn *c, void *arg)
{
    struct claim *k = arg;
    struct chat_worker *wk;
    struct chat_client *cl = answer_begin(c, k->chat, &wk);
    if (cl) {
        k->then(cl, k->r, k->nick);
        chat_leave(wk);
    } else if (k->r == 1) {  /* nobody else will let it go */
        chat_cluster_let_go(k->chat, k->uid, k->nick);
    }
    free(k);
}

/* The bus's thread: the answer goes to the client's owner. */
static void claim_done(void *ctx, int r)
{
    struct claim *k = ctx;
    k->r = r;
    if (mx_server_post(k->chat->srv, k->id, claim_run, k) < 0)
        claim_run(NULL, k);
}

void chat_cluster_let_go(struct mx_chat *chat, uint64_t id, const char *nick)
{
    char folded[CHAT_NICKLEN + 1];
    irc_casefold(folded, nick, sizeof folded);
    chat->bus.release(chat->bus.arg, id, folded);
}

int chat_cluster_claim(struct chat_client *cl, const char *nick, chat_claimed_fn *then)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus)
        return 1;
    struct claim *k = malloc(sizeof *k);
    if (!k)
        return -1;
    *k = (struct claim){ .chat = chat, .id = cl->id, .uid = cl->uid, .then = then };
    snprintf(k->nick, sizeof k->nick, "%s", nick);
    char folded[CHAT_NICKLEN + 1], info[CHAT_INFO_MAX];
    irc_casefold(folded, nick, sizeof folded);
    chat_claim_info(cl, nick, info, sizeof info);
    if (chat->bus.claim(chat->bus.arg, cl->uid, folded, info, claim_done, k) < 0) {
        free(k);
        return -1;
    }
    ask_begin(cl);
    return 0;
}

/* ---- lines to a nick on another node ------------------------------------ */

struct to_nick {
    struct mx_chat *chat;
    uint64_t from;                  /* the sender's conn id */
    char nick[CHAT_NICKLEN + 1];
    char sender[CHAT_NICKLEN + 1];
    char server[64];                /* the sender's server name, for 401 */
};

static void to_nick_done(void *ctx, int r)
{
    struct to_nick *t = ctx;
    if (r == 0) {
        struct chat_msg *m = chat_msg_new(chat_line(":%s 401 %s %s :No such nick/channel",
                                                    t->server, t->sender, t->nick),
                                          NULL, NULL, 0);
        chat_post_msg(t->chat, t->from, m);
        chat_msg_unref(m);
    }
    free(t);
}

bool chat_cluster_to_nick(struct chat_client *cl, const char *nick, struct chat_msg *m,
                          bool quiet, const char *invite)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus || !m)
        return false;
    const struct mx_chunk *line = atomic_load_explicit(&m->v[0], memory_order_relaxed);
    char folded[CHAT_NICKLEN + 1], *p = malloc(PAYLOAD_MAX);
    struct to_nick *t = quiet ? NULL : malloc(sizeof *t);
    irc_casefold(folded, nick, sizeof folded);
    int head = p ? wire_head(chat, m, p, PAYLOAD_MAX) : -1;
    if (head > 0) {
        int k = snprintf(p + head, PAYLOAD_MAX - (size_t)head, "%s\n", folded);
        head = k > 0 && (size_t)k < PAYLOAD_MAX - (size_t)head ? head + k : -1;
    }
    if (t) {
        *t = (struct to_nick){ .chat = chat, .from = cl->id };
        snprintf(t->nick, sizeof t->nick, "%s", nick);
        snprintf(t->sender, sizeof t->sender, "%s", cl->nick);
        snprintf(t->server, sizeof t->server, "%s", cl_set(cl)->o.server_name);
    }
    bool asked = false;
    if (head > 0 && (size_t)head + line->len <= PAYLOAD_MAX && (quiet || t)) {
        memcpy(p + head, line->data, line->len);
        char chan[CHAT_CHANLEN + 1];
        if (invite)
            irc_casefold(chan, invite, sizeof chan);
        asked = chat->bus.to_nick(chat->bus.arg, folded, p, (size_t)head + line->len,
                                  invite ? chan : NULL, quiet ? NULL : to_nick_done, t) == 0;
    }
    if (!asked)
        free(t);
    free(p);
    return asked;
}

/* ---- looking nicks up ---------------------------------------------------- */

struct lookup {
    struct mx_chat *chat;
    uint64_t id;                    /* the asking client's conn id */
    chat_looked_up_fn *then;
    void *arg;
    unsigned n;
    bool failed;                    /* the network did not answer */
    struct chat_who who[];          /* n of them */
};

/* Splits "NICK\nUSER\nHOST\nREAL\nNODE" into w; false if it is not that. */
static bool parse_info(const char *v, size_t len, struct chat_who *w)
{
    char *dst[5] = { w->nick, w->user, w->host, w->real, w->node };
    size_t cap[5] = { sizeof w->nick, sizeof w->user, sizeof w->host, sizeof w->real,
                      sizeof w->node };
    const char *p = v, *end = v + len;
    for (int i = 0; i < 5; i++) {
        const char *nl = i < 4 ? memchr(p, '\n', (size_t)(end - p)) : end;
        if (!nl || (size_t)(nl - p) >= cap[i] || memchr(p, '\r', (size_t)(nl - p)))
            return false;
        memcpy(dst[i], p, (size_t)(nl - p));
        dst[i][nl - p] = '\0';
        p = nl + (i < 4);
    }
    return w->nick[0] && w->node[0];
}

static void lookup_run(struct mx_conn *c, void *arg)
{
    struct lookup *l = arg;
    struct chat_worker *wk;
    struct chat_client *cl = answer_begin(c, l->chat, &wk);
    if (cl) {
        l->then(cl, l->failed ? NULL : l->who, l->n, l->arg);
        chat_leave(wk);
    } else {
        l->then(NULL, NULL, 0, l->arg);  /* only to let arg go */
    }
    free(l);
}

static void lookup_done(void *ctx, const char *const *v, const size_t *lens, unsigned n)
{
    struct lookup *l = ctx;
    l->failed = !v;
    for (unsigned i = 0; v && i < l->n; i++)
        l->who[i].found = i < n && v[i] && parse_info(v[i], lens[i], &l->who[i]);
    if (mx_server_post(l->chat->srv, l->id, lookup_run, l) < 0)
        lookup_run(NULL, l);
}

int chat_cluster_lookup(struct chat_client *cl, const char *const *nicks, unsigned n,
                        chat_looked_up_fn *then, void *arg)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus || !chat->bus.lookup)
        return 1;
    if (n == 0 || n > CHAT_LOOKUP_MAX)
        return -1;
    struct lookup *l = calloc(1, sizeof *l + n * sizeof l->who[0]);
    char folded[CHAT_LOOKUP_MAX][CHAT_NICKLEN + 1];
    const char *fv[CHAT_LOOKUP_MAX];
    for (unsigned i = 0; i < n; i++) {
        irc_casefold(folded[i], nicks[i], sizeof folded[i]);
        fv[i] = folded[i];
    }
    if (!l)
        return -1;
    l->chat = chat;
    l->id = cl->id;
    l->then = then;
    l->arg = arg;
    l->n = n;
    if (chat->bus.lookup(chat->bus.arg, fv, n, lookup_done, l) < 0) {
        free(l);
        return -1;
    }
    /* The same pause as a claim's: the client's next lines wait. */
    ask_begin(cl);
    return 0;
}

/* ---- the network's channels (LIST) --------------------------------------- */

struct listing {
    struct mx_chat *chat;
    uint64_t id;                    /* the asking client's conn id */
    chat_listed_fn *then;
    void *arg;
    unsigned n;
    bool failed;
    char *text;                     /* the topics, one after another */
    struct chat_netlist c[];
};

static void listing_run(struct mx_conn *c, void *arg)
{
    struct listing *l = arg;
    struct chat_worker *wk;
    struct chat_client *cl = answer_begin(c, l->chat, &wk);
    if (cl) {
        l->then(cl, l->failed ? NULL : l->c, l->n, l->arg);
        chat_leave(wk);
    } else {
        l->then(NULL, NULL, 0, l->arg);
    }
    free(l->text);
    free(l);
}

/* "NAME\nUSERS\nFLAGS\nTOPIC" into e, its topic at *text; false if it is
 * not that. */
static bool parse_listed(const char *v, size_t len, struct chat_netlist *e, char **text)
{
    const char *end = v + len, *f[4] = { v };
    for (int i = 1; i < 4; i++) {
        const char *nl = memchr(f[i - 1], '\n', (size_t)(end - f[i - 1]));
        if (!nl)
            return false;
        f[i] = nl + 1;
    }
    size_t nl0 = (size_t)(f[1] - f[0] - 1), tl = (size_t)(end - f[3]);
    if (nl0 == 0 || nl0 > CHAT_CHANLEN || f[0][0] != '#' || tl > CHAT_TOPICLEN ||
        memchr(f[0], ' ', nl0) || memchr(f[3], '\r', tl))
        return false;
    memcpy(e->name, f[0], nl0);
    e->name[nl0] = '\0';
    e->users = strtoul(f[1], NULL, 10);
    e->secret = memchr(f[2], 's', (size_t)(f[3] - f[2] - 1)) != NULL;
    memcpy(*text, f[3], tl);
    (*text)[tl] = '\0';
    e->topic = *text;
    *text += tl + 1;
    return true;
}

static void channels_done(void *ctx, const char *const *v, const size_t *lens, unsigned n)
{
    struct listing *q = ctx, *l = NULL;
    size_t total = 0;
    for (unsigned i = 0; v && i < n; i++)
        total += lens[i] + 1;
    if (v && (l = realloc(q, sizeof *q + n * sizeof q->c[0])) && (l->text = malloc(total + 1))) {
        char *t = l->text;
        for (unsigned i = 0; i < n; i++)
            l->n += parse_listed(v[i], lens[i], &l->c[l->n], &t);
    }
    if (l)
        q = l;
    q->failed = !l || !q->text;
    if (mx_server_post(q->chat->srv, q->id, listing_run, q) < 0)
        listing_run(NULL, q);
}

int chat_cluster_channels(struct chat_client *cl, unsigned max, chat_listed_fn *then,
                          void *arg)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus || !chat->bus.channels)
        return 1;
    struct listing *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    *l = (struct listing){ .chat = chat, .id = cl->id, .then = then, .arg = arg };
    if (chat->bus.channels(chat->bus.arg, max, channels_done, l) < 0) {
        free(l);
        return -1;
    }
    ask_begin(cl);
    return 0;
}

/* ---- a channel's members on other nodes --------------------------------- */

struct names {
    struct mx_chat *chat;
    uint64_t id;                    /* the asking client's conn id */
    chat_names_fn *then;
    void *arg;
    char chan[CHAT_CHANLEN + 1];
    char **who;                     /* "nick!user@host" of other nodes' members */
    char **real;                    /* and their real names */
    unsigned *status;               /* and MEM_OP, MEM_VOICE, NET_INVISIBLE */
    struct chat_topic topic;        /* the network's (text NULL: none) */
    char *modes;                    /* the network's "+" state, or NULL */
    char **invited;                 /* "i:NICK" fields' nicks */
    struct chat_netchan nc;
};

static void names_free(struct names *q)
{
    for (unsigned i = 0; i < q->nc.n; i++) {
        free(q->who[i]);
        free(q->real[i]);
    }
    free(q->who);
    free(q->real);
    free(q->status);
    free(q->topic.text);
    free(q->modes);
    for (unsigned i = 0; i < q->nc.ninvited; i++)
        free(q->invited[i]);
    free(q->invited);
    free(q);
}

/* "BY\nAT\nTEXT" into t. */
static void parse_topic(const char *v, size_t len, struct chat_topic *t)
{
    const char *p = v, *end = v + len, *nl = memchr(p, '\n', len);
    if (!nl || (size_t)(nl - p) >= sizeof t->by)
        return;
    memcpy(t->by, p, (size_t)(nl - p));
    t->by[nl - p] = '\0';
    p = nl + 1;
    t->at = (time_t)strtoll(p, NULL, 10);
    if (!(nl = memchr(p, '\n', (size_t)(end - p))) || end - nl - 1 > CHAT_TOPICLEN ||
        memchr(nl + 1, '\r', (size_t)(end - nl - 1)))
        return;
    t->text = strndup(nl + 1, (size_t)(end - nl - 1));
}

static void names_run(struct mx_conn *c, void *arg)
{
    struct names *q = arg;
    struct chat_worker *wk;
    struct chat_client *cl = answer_begin(c, q->chat, &wk);
    if (cl) {
        q->then(cl, q->chan, &q->nc, q->arg);
        chat_leave(wk);
    } else {
        q->then(NULL, q->chan, NULL, q->arg);  /* only to let arg go */
    }
    names_free(q);
}

/* STATUS (chat_wire.c's wire_member) as MEM_OP, MEM_VOICE, NET_INVISIBLE. */
static unsigned status_of(const char *s, size_t len)
{
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++)
        bits |= s[i] == 'o' ? MEM_OP : s[i] == 'v' ? MEM_VOICE : s[i] == 'i' ? NET_INVISIBLE : 0;
    return bits;
}

/* One "NODE UID\nWHO\nREAL\nSTATUS" entry of another node into q (this
 * node's own are left out: its members are listed from its own tables). */
static void names_entry(struct names *q, const char *v, size_t len)
{
    size_t mine = strlen(q->chat->node);
    const char *end = v + len, *nl = memchr(v, '\n', len);
    if (!nl || ((size_t)(nl - v) > mine && memcmp(v, q->chat->node, mine) == 0 &&
                v[mine] == ' '))
        return;
    const char *who = nl + 1, *nl2 = memchr(who, '\n', (size_t)(end - who));
    size_t wl = (size_t)((nl2 ? nl2 : end) - who);
    const char *real = nl2 ? nl2 + 1 : end, *nl3 = memchr(real, '\n', (size_t)(end - real));
    size_t rl = (size_t)((nl3 ? nl3 : end) - real);
    if (wl == 0 || wl > CHAT_NICKLEN + CHAT_USERLEN + 64 + 2 || memchr(who, ' ', wl) ||
        !memchr(who, '!', wl) || rl > CHAT_REALLEN)
        return;
    q->status[q->nc.n] = nl3 ? status_of(nl3 + 1, (size_t)(end - nl3 - 1)) : 0;
    q->who[q->nc.n] = strndup(who, wl);
    q->real[q->nc.n] = strndup(real, rl);
    if (q->who[q->nc.n] && q->real[q->nc.n]) {
        q->nc.n++;
        return;
    }
    free(q->who[q->nc.n]);
    free(q->real[q->nc.n]);
}

/* The bus's thread: the members' hash, its state fields ("*", "+") too. */
static void names_done(void *ctx, const char *const *v, const size_t *lens, unsigned n)
{
    struct names *q = ctx;
    q->nc.answered = v != NULL;
    q->who = v && n ? calloc(n, sizeof *q->who) : NULL;
    q->real = v && n ? calloc(n, sizeof *q->real) : NULL;
    q->status = v && n ? calloc(n, sizeof *q->status) : NULL;
    q->invited = v && n ? calloc(n, sizeof *q->invited) : NULL;
    for (unsigned i = 0; v && i < n; i++) {
        const char *nl = memchr(v[i], '\n', lens[i]);
        if (q->invited && nl && lens[i] > 2 && v[i][0] == 'i' && v[i][1] == ':' &&
            nl - v[i] - 2 <= CHAT_NICKLEN) {
            q->invited[q->nc.ninvited++] = strndup(v[i] + 2, (size_t)(nl - v[i] - 2));
            if (!q->invited[q->nc.ninvited - 1])
                q->nc.ninvited--;
        } else if (lens[i] >= 2 && v[i][0] == '*' && v[i][1] == '\n')
            parse_topic(v[i] + 2, lens[i] - 2, &q->topic);
        else if (lens[i] >= 2 && v[i][0] == '+' && v[i][1] == '\n')
            q->modes = strndup(v[i] + 2, lens[i] - 2);
        else if (lens[i] >= 2 && v[i][0] == '#' && v[i][1] == '\n')
            continue;  /* the name as created: LIST's */
        else if (q->who && q->real && q->status)
            names_entry(q, v[i], lens[i]);
    }
    q->nc.who = (const char *const *)q->who;
    q->nc.real = (const char *const *)q->real;
    q->nc.status = q->status;
    q->nc.topic = q->topic.text ? &q->topic : NULL;
    q->nc.modes = q->modes;
    q->nc.invited = (const char *const *)q->invited;
    if (mx_server_post(q->chat->srv, q->id, names_run, q) < 0)
        names_run(NULL, q);
}

int chat_cluster_names(struct chat_client *cl, const char *chan, chat_names_fn *then, void *arg)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus || !chat->bus.members)
        return 1;
    struct names *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    *q = (struct names){ .chat = chat, .id = cl->id, .then = then, .arg = arg };
    snprintf(q->chan, sizeof q->chan, "%s", chan);
    char folded[CHAT_CHANLEN + 1];
    irc_casefold(folded, chan, sizeof folded);
    if (chat->bus.members(chat->bus.arg, folded, names_done, q) < 0) {
        free(q);
        return -1;
    }
    ask_begin(cl);
    return 0;
}
