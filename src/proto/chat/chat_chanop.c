/* chat_chanop.c - the channel commands of operators and members:
 * TOPIC, KICK and INVITE, with members and nicks on other nodes too
 * (docs/cluster.md): a KICK of a nick not here waits for the network's
 * list of the channel's members; an INVITE of one goes to its node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost
#define MAX_TARGETS CHAT_MAX_TARGETS  /* nicks in one KICK (005 TARGMAX) */

/* The reply for a channel command refused with num (0: none). */
static void chan_refusal(struct chat_client *cl, unsigned num, const char *name)
{
    static const char *const text[] = {
        [0] = "No such channel",                /* 403 */
        [1] = "You're not on that channel",     /* 442 */
        [2] = "You're not channel operator",    /* 482 */
    };
    int i = num == 403 ? 0 : num == 442 ? 1 : num == 482 ? 2 : -1;
    if (i >= 0)
        cl_numeric(cl, num, "%s :%s", name, text[i]);
}

/* Under mu: is cl an operator of ch? */
static bool is_op(struct chat_channel *ch, const struct chat_client *cl)
{
    const struct chat_member *m = chan_member(ch, cl);
    return m && (m->modes & MEM_OP);
}

/* Under mu: the numeric that refuses cl's TOPIC on ch (set: a change),
 * or 0. An outsider may read the topic of a channel LIST shows it. */
static unsigned topic_refusal(struct chat_channel *ch, struct chat_client *cl, bool set)
{
    if (!ch)
        return 403;
    if (!cl_on(cl, ch) && (set || (ch->modes & CM_S)))
        return 442;
    return set && (ch->modes & CM_T) && !is_op(ch, cl) ? 482 : 0;
}

void chat_cmd_topic(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct chat_aud a;
    aud_init(&a, cl, 1);
    const char *name = m->params[0];
    bool set = m->nparams >= 2;
    int len = set ? chat_text_len(m->params[1], CHAT_TOPICLEN) : 0;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    unsigned err = topic_refusal(ch, cl, set);
    if (!err && !set)
        chan_topic_reply(cl, ch, true);
    if (!err && set) {
        /* An empty topic clears it; everyone sees "TOPIC #a :". */
        free(ch->topic);
        ch->topic = len ? strndup(m->params[1], (size_t)len) : NULL;
        snprintf(ch->topic_by, sizeof ch->topic_by, "%s!%s@%s", PFX(cl));
        ch->topic_at = time(NULL);
        wire_topic(chat, ch);
        aud_add(&a, ch);
    }
    chat_unlock(chat);
    chan_refusal(cl, err, name);
    if (!a.n)
        return;
    struct mx_chunk *line = chat_line(":%s!%s@%s TOPIC %s :%.*s", PFX(cl), ch->name, len,
                                      m->params[1]);
    wire_chan_line(chat, ch->name, line);
    aud_line(&a, line, NULL);
    mx_chunk_unref(line);
}

/* ---- moderation ---------------------------------------------------------- */

/* Under mu: the numeric that stops cl kicking from ch, or 0. */
static unsigned kick_refusal(struct chat_channel *ch, struct chat_client *cl)
{
    if (!ch)
        return 403;
    if (!cl_on(cl, ch))
        return 442;
    return is_op(ch, cl) ? 0 : 482;
}

/* KICKs of nicks not on this node, waiting for the network's list of
 * the channel's members elsewhere. */
struct kick_net {
    unsigned n;
    char nick[MAX_TARGETS][CHAT_NICKLEN + 1];
    char why[CHAT_TOPICLEN + 1];
};

/* Is nick one of who's "nick!user@host"? */
static bool among(const char *nick, const char *const *who, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t k = strcspn(who[i], "!");
        char one[CHAT_NICKLEN + 1];
        if (k >= sizeof one)
            continue;
        memcpy(one, who[i], k);
        one[k] = '\0';
        if (irc_casecmp(one, nick) == 0)
            return true;
    }
    return false;
}

/* The network answered: each nick on the channel elsewhere is kicked
 * there (its node carries it out, chat_remote.c); the line goes to this
 * node's members now. */
static void kick_of_network(struct chat_client *cl, const char *chan,
                            const struct chat_netchan *nc, void *arg)
{
    struct kick_net *k = arg;
    for (unsigned i = 0; cl && i < k->n; i++) {
        struct mx_chat *chat = cl->chat;
        struct chat_aud a;
        aud_init(&a, cl, 1);
        chat_lock(chat);
        struct chat_channel *ch = chan_find(chat, chan);
        bool ok = !kick_refusal(ch, cl) && among(k->nick[i], nc->who, nc->n);
        if (ok)
            aud_add(&a, ch);
        chat_unlock(chat);
        if (!ok) {
            cl_numeric(cl, 441, "%s %s :They aren't on that channel", k->nick[i], chan);
            continue;
        }
        struct mx_chunk *line = chat_line(":%s!%s@%s KICK %s %s :%s", PFX(cl), a.v[0]->name,
                                          k->nick[i], k->why);
        wire_chan_line(chat, a.v[0]->name, line);
        aud_line(&a, line, NULL);
        mx_chunk_unref(line);
    }
    free(k);
}

static void kick_remote(struct chat_client *cl, const char *chan, struct kick_net *k)
{
    if (chat_cluster_names(cl, chan, kick_of_network, k) == 0)
        return;
    for (unsigned i = 0; i < k->n; i++)
        cl_numeric(cl, 441, "%s %s :They aren't on that channel", k->nick[i], chan);
    free(k);
}

void chat_cmd_kick(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    const char *name = m->params[0];
    const char *why = m->nparams > 2 && m->params[2][0] ? m->params[2] : cl->nick;
    int wlen = chat_text_len(why, CHAT_TOPICLEN); /* KICKLEN */
    char *nicks[MAX_TARGETS];
    struct chat_client *local[MAX_TARGETS];
    unsigned n = chat_split_commas(m->params[1], nicks, MAX_TARGETS), nlocal = 0;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    unsigned err = kick_refusal(ch, cl);
    struct kick_net *remote = !err && chat->has_bus ? calloc(1, sizeof *remote) : NULL;
    for (unsigned i = 0; !err && i < n; i++) {
        struct chat_client *t = cl_registered(chat, nicks[i]);
        if (!t && remote && irc_nick_valid(nicks[i], CHAT_NICKLEN)) {
            snprintf(remote->nick[remote->n++], sizeof remote->nick[0], "%s", nicks[i]);
            continue;
        }
        if (!t || !cl_on(t, ch)) {
            cl_numeric(cl, 441, "%s %s :They aren't on that channel", nicks[i], name);
            continue;
        }
        if (t->worker == cl->worker)
            local[nlocal++] = t;
        else
            chat_kick_post(chat, t->id, ch, chat_line(":%s!%s@%s KICK %s %s :%.*s", PFX(cl),
                                                      ch->name, t->nick, wlen, why), true);
    }
    if (nlocal)
        chan_ref(ch);
    chat_unlock(chat);
    chan_refusal(cl, err, name);
    for (unsigned i = 0; i < nlocal; i++) {
        struct mx_chunk *line = chat_line(":%s!%s@%s KICK %s %s :%.*s", PFX(cl), ch->name,
                                          local[i]->nick, wlen, why);
        chat_kick_apply(local[i], ch, line, true);
        mx_chunk_unref(line);
    }
    if (nlocal)
        chan_unref(ch);
    if (remote && remote->n) {
        snprintf(remote->why, sizeof remote->why, "%.*s", wlen, why);
        kick_remote(cl, name, remote);
    } else {
        free(remote);
    }
}

/* An INVITE of a client of another node: the line goes to the nick's
 * node, and once delivered the invitation is kept in the network's copy
 * of the channel (a JOIN there looks it up); 401 later if no client
 * anywhere holds the nick. */
static void invite_remote(struct chat_client *cl, const char *nick, const char *name,
                          struct mx_chunk *line)
{
    struct chat_msg *m = chat_msg_new(mx_chunk_ref(line), NULL, NULL, 0);
    if (!m || !chat_cluster_to_nick(cl, nick, m, false, name)) {
        cl_numeric(cl, 401, "%s :No such nick/channel", nick);
        chat_msg_unref(m);
        return;
    }
    chat_msg_unref(m);
    cl_numeric(cl, 341, "%s %s", nick, name);
}

void chat_cmd_invite(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    const char *nick = m->params[0], *name = m->params[1];
    unsigned err = 0;
    chat_lock(chat);
    struct chat_client *t = cl_registered(chat, nick);
    struct chat_channel *ch = chan_find(chat, name);
    /* Perhaps a client of another node: asked there (invite_remote). */
    bool remote = !t && chat->has_bus && irc_nick_valid(nick, CHAT_NICKLEN);
    if (!t && !remote)
        err = 401;
    else if (ch && !cl_on(cl, ch))
        err = 442;
    else if (ch && t && cl_on(t, ch))
        err = 443;
    else if (ch && (ch->modes & CM_I) && !is_op(ch, cl))
        err = 482;
    uint64_t tid = t ? t->id : 0;
    unsigned tw = t ? t->worker : 0;
    if (!err && ch && !remote && ch->ninvites < 64) {
        uint64_t *v = realloc(ch->invites, (ch->ninvites + 1) * sizeof *v);
        if (v) {
            v[ch->ninvites++] = tid;
            ch->invites = v;
        }
    }
    chat_unlock(chat);
    switch (err) {
    case 401: cl_numeric(cl, 401, "%s :No such nick/channel", nick); return;
    case 442: cl_numeric(cl, 442, "%s :You're not on that channel", name); return;
    case 443: cl_numeric(cl, 443, "%s %s :is already on channel", nick, name); return;
    case 482: cl_numeric(cl, 482, "%s :You're not channel operator", name); return;
    }
    struct mx_chunk *line = chat_line(":%s!%s@%s INVITE %s :%s", PFX(cl), nick, name);
    if (remote) {
        invite_remote(cl, nick, name, line);
        mx_chunk_unref(line);
        return;
    }
    cl_numeric(cl, 341, "%s %s", nick, name);
    chat_send_to(chat, cl->worker, t, tw, tid, line);
    if (ch) /* cl is on it: it stays (only this worker can change that) */
        chat_invite_notify(cl, ch, tid, line);
    mx_chunk_unref(line);
}
