/* chat_cluster.c - the chat network across nodes (docs/cluster.md): a
 * channel message is published once on its channel's subject; what other
 * nodes publish on the subjects of channels with members here is fanned
 * out to those members as a local line would be.
 *
 * The payload: "NODE\nNEED\nTAGS\nLINE", where NODE is the sender's node
 * (a node skips its own: it delivered them already), NEED the
 * capability the line asks of a member (TAGMSG: message-tags), TAGS the
 * client tags (canonical, maybe empty) and LINE the line as the sender's
 * node formatted it, CRLF included. Names and tags hold no newline.
 *
 * Order: a sender's lines are published by its worker in order, go to
 * Redis on the bus's one publisher connection, come back on each node's
 * one subscriber connection in that order, and the bus thread posts them
 * to each worker in order (muxd/server.h: posts from one thread run in
 * order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

/* A line, its tags and the rest: well under this. */
#define PAYLOAD_MAX 16384
/* A claim's info: nick, user, host, real name, node, and newlines. */
#define CHAT_INFO_MAX (CHAT_NICKLEN + CHAT_USERLEN + 64 + CHAT_REALLEN + 64 + 8)

/* Splits off the text up to the next newline of [*p, end): NULL if none. */
static const char *field(const char **p, const char *end, size_t *len)
{
    const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        return NULL;
    *len = (size_t)(nl - s);
    *p = nl + 1;
    return s;
}

/* What others' WHOIS shows of cl under nick: "NICK\nUSER\nHOST\nREAL\nNODE".
 * Its owner, or anyone under mu. */
static void claim_info(const struct chat_client *cl, const char *nick, char *buf, size_t len)
{
    snprintf(buf, len, "%s\n%s\n%s\n%s\n%s", nick, cl->user, cl->vhost, cl->real,
             cl->chat->node);
}

/* One IRC line, CRLF-terminated, nothing else: what goes to clients
 * as it is must not run into the next line or carry more lines. */
static bool line_ok(const char *p, size_t n)
{
    if (n < 3 || n > IRC_LINE_MAX || p[n - 2] != '\r' || p[n - 1] != '\n')
        return false;
    for (size_t i = 0; i < n - 2; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return false;
    return true;
}

/* A payload's head: NODE, NEED, TAGS (and for a nick, NICK), then the line. */
struct head {
    const char *node, *line;
    size_t nlen, llen;
    uint32_t need;
    char tags[4096];
    char nick[CHAT_NICKLEN + 1];
};

static bool parse_head(const char *payload, size_t len, bool with_nick, struct head *h)
{
    const char *p = payload, *end = payload + len, *need, *tags, *nick = NULL;
    size_t needlen, tlen, klen = 0;
    h->node = field(&p, end, &h->nlen);
    need = h->node ? field(&p, end, &needlen) : NULL;
    tags = need ? field(&p, end, &tlen) : NULL;
    if (tags && with_nick)
        nick = field(&p, end, &klen);
    if (!tags || (with_nick && (!nick || klen == 0 || klen >= sizeof h->nick)) || p == end ||
        tlen >= sizeof h->tags)
        return false;
    memcpy(h->tags, tags, tlen);
    h->tags[tlen] = '\0';
    if (nick)
        memcpy(h->nick, nick, klen);
    h->nick[klen] = '\0';
    h->need = (uint32_t)strtoul(need, NULL, 10) & CAP_MESSAGE_TAGS;
    h->line = p;
    h->llen = (size_t)(end - p);
    return line_ok(h->line, h->llen);
}

static bool from_self(const struct mx_chat *chat, const struct head *h)
{
    return h->nlen == strlen(chat->node) && memcmp(h->node, chat->node, h->nlen) == 0;
}

static struct chat_msg *head_msg(const struct head *h)
{
    return chat_msg_new(mx_chunk_copy(h->line, h->llen), NULL, h->tags, h->need);
}

/* A line to a nick of this node: to its client, if still registered here. */
static void to_local_nick(struct mx_chat *chat, const struct head *h)
{
    chat_lock(chat);
    struct chat_client *cl = cl_by_nick(chat, h->nick);
    bool there = cl && cl->registered;
    uint64_t id = there ? cl->id : 0;
    chat_unlock(chat);
    if (!there)
        return;
    struct chat_msg *m = head_msg(h);
    chat_post_msg(chat, id, m);
    chat_msg_unref(m);
}

/* Sets ch's topic to text (NULL or "": none) by by, at at. Under mu. */
static void set_topic(struct chat_channel *ch, const char *text, const char *by, time_t at)
{
    free(ch->topic);
    ch->topic = text && text[0] ? strndup(text, CHAT_TOPICLEN) : NULL;
    snprintf(ch->topic_by, sizeof ch->topic_by, "%s", by);
    ch->topic_at = at;
}

/* A TOPIC line from another node: this node's copy of the topic follows,
 * so TOPIC and the JOIN's 332 here show it too. */
static void remote_topic(struct mx_chat *chat, const char *name, const struct head *h)
{
    char line[IRC_LINE_MAX + 1];
    if (h->llen < 2 || h->llen - 2 >= sizeof line)
        return;
    memcpy(line, h->line, h->llen - 2);
    line[h->llen - 2] = '\0';
    struct irc_msg m;
    if (irc_parse(line, &m) != IRC_OK || !m.prefix || strcmp(m.cmd, "TOPIC") != 0 ||
        m.nparams < 2)
        return;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    if (ch)
        set_topic(ch, m.params[1], m.prefix, time(NULL));
    chat_unlock(chat);
}

/* A QUIT or NICK of another node's client: "NODE\n0\n\nCHANS\nLINE", to the
 * local members of any of CHANS (comma-separated), once each. */
static void user_line(struct mx_chat *chat, const char *payload, size_t len)
{
    const char *p = payload, *end = payload + len, *chans;
    size_t nlen, skip, clen;
    const char *node = field(&p, end, &nlen);
    if (!node || !field(&p, end, &skip) || !field(&p, end, &skip) ||
        !(chans = field(&p, end, &clen)) || !line_ok(p, (size_t)(end - p)))
        return;
    if (nlen == strlen(chat->node) && memcmp(node, chat->node, nlen) == 0)
        return;
    char list[CHAT_POSTED_MAX * (CHAT_CHANLEN + 1)];
    if (clen >= sizeof list)
        return;
    memcpy(list, chans, clen);
    list[clen] = '\0';
    const char *names[CHAT_POSTED_MAX];
    unsigned n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && n < CHAT_POSTED_MAX;
         t = strtok_r(NULL, ",", &save))
        if (strlen(t) <= CHAT_CHANLEN)
            names[n++] = t;
    chan_fanout_posted(chat, names, n,
                       chat_msg_new(mx_chunk_copy(p, (size_t)(end - p)), NULL, NULL, 0));
}

void mx_chat_bus_message(struct mx_chat *chat, const char *subject, size_t slen,
                         const char *payload, size_t len)
{
    if (!chat->has_bus)
        return;
    size_t plen = strlen(chat->subj);
    struct head h;
    if (slen == strlen(chat->usubj) && memcmp(subject, chat->usubj, slen) == 0) {
        user_line(chat, payload, len);
        return;
    }
    if (slen == strlen(chat->nsubj) && memcmp(subject, chat->nsubj, slen) == 0) {
        if (parse_head(payload, len, true, &h))
            to_local_nick(chat, &h);
        return;
    }
    if (slen <= plen || slen - plen > CHAT_CHANLEN || memcmp(subject, chat->subj, plen) != 0 ||
        !parse_head(payload, len, false, &h) || from_self(chat, &h))
        return;  /* not ours, garbage, or delivered here already */
    char name[CHAT_CHANLEN + 1];
    memcpy(name, subject + plen, slen - plen);
    name[slen - plen] = '\0';
    remote_topic(chat, name, &h);
    const char *names[1] = { name };
    chan_fanout_posted(chat, names, 1, head_msg(&h));
}

/* A channel subscribes again, and its members are on it again in the
 * network's lists (the node's hello dropped them). */
static void resubscribe(struct nt_node *n, void *arg)
{
    struct chat_channel *ch = chan_of(n);
    chan_subscribe(arg, ch, true);
    for (unsigned i = 0; i < ch->n; i++)
        wire_member(arg, ch, ch->m[i].cl, true);
}

static void reclaimed(void *ctx, int r)
{
    char *nick = ctx;
    if (r == 0)
        mx_warn("cluster: nick %s was claimed elsewhere while Redis was lost: two clients "
                "now share it", nick);
    free(nick);
}

/* Its clients claim their nicks again (Redis may have restarted empty):
 * under mu, with the id each claim was made with. */
static void reclaim(struct nt_node *n, void *arg)
{
    struct mx_chat *chat = arg;
    struct chat_client *cl = (struct chat_client *)((char *)n -
                                                    offsetof(struct chat_client, node));
    if (!cl->registered)
        return;
    char folded[CHAT_NICKLEN + 1];
    irc_casefold(folded, cl->nick, sizeof folded);
    char *ctx = strdup(cl->nick), info[CHAT_INFO_MAX];
    claim_info(cl, cl->nick, info, sizeof info);
    if (ctx && chat->bus.claim(chat->bus.arg, cl->uid, folded, info, reclaimed, ctx) < 0)
        free(ctx);
}

void mx_chat_bus_up(struct mx_chat *chat)
{
    chat_lock(chat);
    chat->bus.subscribe(chat->bus.arg, chat->nsubj, true);
    chat->bus.subscribe(chat->bus.arg, chat->usubj, true);
    nt_each(&chat->nicks, reclaim, chat);
    nt_each(&chat->chans, resubscribe, chat);
    chat_unlock(chat);
}

int mx_chat_set_bus(struct mx_chat *chat, const struct mx_chat_bus *bus, const char *node,
                    const char *prefix)
{
    free(chat->node);
    free(chat->subj);
    free(chat->nsubj);
    free(chat->usubj);
    chat->node = chat->subj = chat->nsubj = chat->usubj = NULL;
    chat->has_bus = false;
    if (!bus)
        return 0;
    size_t n = strlen(prefix) + 3, nn = n + strlen(node);
    chat->node = strdup(node);
    chat->subj = malloc(n);
    chat->nsubj = malloc(nn);
    chat->usubj = malloc(n);
    if (!chat->node || !chat->subj || !chat->nsubj || !chat->usubj) {
        mx_chat_set_bus(chat, NULL, NULL, NULL);
        return -ENOMEM;
    }
    snprintf(chat->subj, n, "%sc:", prefix);
    snprintf(chat->nsubj, nn, "%sn:%s", prefix, node);
    snprintf(chat->usubj, n, "%su", prefix);
    chat->bus = *bus;
    chat->has_bus = true;
    return 0;
}

const struct mx_chat_bus *mx_chat_get_bus(const struct mx_chat *chat)
{
    return chat->has_bus ? &chat->bus : NULL;
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
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (!cl || (cl->flags & CL_GONE)) {
        if (k->r == 1)  /* nobody else will let it go */
            chat_cluster_let_go(k->chat, k->uid, k->nick);
        free(k);
        return;
    }
    struct chat_worker *wk = chat_enter(k->chat, cl->worker);
    cl->flags &= ~CL_CLAIMING;
    if (!(cl->flags & CL_FLOOD) && cl->holds == 0)
        mx_conn_resume(c);
    k->then(cl, k->r, k->nick);
    chat_leave(wk);
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
    claim_info(cl, nick, info, sizeof info);
    if (chat->bus.claim(chat->bus.arg, cl->uid, folded, info, claim_done, k) < 0) {
        free(k);
        return -1;
    }
    cl->flags |= CL_CLAIMING;
    mx_conn_pause(cl->c);
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
                          bool quiet)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus || !m)
        return false;
    const struct mx_chunk *line = atomic_load_explicit(&m->v[0], memory_order_relaxed);
    char folded[CHAT_NICKLEN + 1], *p = malloc(PAYLOAD_MAX);
    struct to_nick *t = quiet ? NULL : malloc(sizeof *t);
    irc_casefold(folded, nick, sizeof folded);
    int head = p ? snprintf(p, PAYLOAD_MAX, "%s\n%u\n%.*s\n%s\n", chat->node, (unsigned)m->need,
                            (int)m->ntags, m->tags, folded) : -1;
    if (t) {
        *t = (struct to_nick){ .chat = chat, .from = cl->id };
        snprintf(t->nick, sizeof t->nick, "%s", nick);
        snprintf(t->sender, sizeof t->sender, "%s", cl->nick);
        snprintf(t->server, sizeof t->server, "%s", cl_set(cl)->o.server_name);
    }
    bool asked = false;
    if (head > 0 && (size_t)head + line->len <= PAYLOAD_MAX && (quiet || t)) {
        memcpy(p + head, line->data, line->len);
        asked = chat->bus.to_nick(chat->bus.arg, folded, p, (size_t)head + line->len,
                                  quiet ? NULL : to_nick_done, t) == 0;
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
    struct chat_who who[CHAT_LOOKUP_MAX];
    bool failed;                    /* the network did not answer */
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
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (cl && !(cl->flags & CL_GONE)) {
        struct chat_worker *wk = chat_enter(l->chat, cl->worker);
        cl->flags &= ~CL_CLAIMING;
        if (!(cl->flags & CL_FLOOD) && cl->holds == 0)
            mx_conn_resume(c);
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
    struct lookup *l = calloc(1, sizeof *l);
    char folded[CHAT_LOOKUP_MAX][CHAT_NICKLEN + 1];
    const char *fv[CHAT_LOOKUP_MAX];
    for (unsigned i = 0; i < n; i++) {
        irc_casefold(folded[i], nicks[i], sizeof folded[i]);
        fv[i] = folded[i];
    }
    if (!l)
        return -1;
    *l = (struct lookup){ .chat = chat, .id = cl->id, .then = then, .arg = arg, .n = n };
    if (chat->bus.lookup(chat->bus.arg, fv, n, lookup_done, l) < 0) {
        free(l);
        return -1;
    }
    /* The same pause as a claim's: the client's next lines wait. */
    cl->flags |= CL_CLAIMING;
    mx_conn_pause(cl->c);
    return 0;
}

/* ---- a channel's members on other nodes --------------------------------- */

struct names {
    struct mx_chat *chat;
    uint64_t id;                    /* the asking client's conn id */
    chat_names_fn *then;
    char chan[CHAT_CHANLEN + 1];
    unsigned n;
    char **who;                     /* "nick!user@host" of other nodes' members */
    struct chat_topic topic;        /* the network's (text NULL: none) */
};

static void names_free(struct names *q)
{
    for (unsigned i = 0; i < q->n; i++)
        free(q->who[i]);
    free(q->who);
    free(q->topic.text);
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
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (cl && !(cl->flags & CL_GONE)) {
        struct chat_worker *wk = chat_enter(q->chat, cl->worker);
        cl->flags &= ~CL_CLAIMING;
        if (!(cl->flags & CL_FLOOD) && cl->holds == 0)
            mx_conn_resume(c);
        q->then(cl, q->chan, (const char *const *)q->who, q->n,
                q->topic.text ? &q->topic : NULL);
        chat_leave(wk);
    }
    names_free(q);
}

/* The bus's thread: entries "NODE UID\nWHO"; this node's own are left
 * out (its members are listed from its own tables). */
static void names_done(void *ctx, const char *const *v, const size_t *lens, unsigned n)
{
    struct names *q = ctx;
    size_t mine = strlen(q->chat->node);
    q->who = v && n ? calloc(n, sizeof *q->who) : NULL;
    for (unsigned i = 0; q->who && i < n; i++) {
        const char *nl = memchr(v[i], '\n', lens[i]);
        if (nl == v[i] + 1 && v[i][0] == '*') {
            parse_topic(nl + 1, lens[i] - 2, &q->topic);
            continue;
        }
        if (!nl || ((size_t)(nl - v[i]) > mine && memcmp(v[i], q->chat->node, mine) == 0 &&
                    v[i][mine] == ' '))
            continue;
        size_t wl = lens[i] - (size_t)(nl + 1 - v[i]);
        if (wl == 0 || wl > CHAT_NICKLEN + CHAT_USERLEN + 64 + 2 ||
            memchr(nl + 1, ' ', wl) || !memchr(nl + 1, '!', wl))
            continue;
        if ((q->who[q->n] = malloc(wl + 1))) {
            memcpy(q->who[q->n], nl + 1, wl);
            q->who[q->n++][wl] = '\0';
        }
    }
    if (mx_server_post(q->chat->srv, q->id, names_run, q) < 0)
        names_free(q);
}

int chat_cluster_names(struct chat_client *cl, const char *chan, chat_names_fn *then)
{
    struct mx_chat *chat = cl->chat;
    if (!chat->has_bus || !chat->bus.members)
        return 1;
    struct names *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    *q = (struct names){ .chat = chat, .id = cl->id, .then = then };
    snprintf(q->chan, sizeof q->chan, "%s", chan);
    char folded[CHAT_CHANLEN + 1];
    irc_casefold(folded, chan, sizeof folded);
    if (chat->bus.members(chat->bus.arg, folded, names_done, q) < 0) {
        free(q);
        return -1;
    }
    cl->flags |= CL_CLAIMING;  /* its next lines wait, as for a claim */
    mx_conn_pause(cl->c);
    return 0;
}
