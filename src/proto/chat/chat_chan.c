/* chat_chan.c - joining, leaving and kicking, each done on the member's
 * own worker (where member_add/member_del may touch its local list), and
 * the NAMES and topic replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost

/* ---- joining ------------------------------------------------------------- */

static bool invited(struct chat_channel *ch, const struct chat_client *cl, bool consume)
{
    for (unsigned i = 0; i < ch->ninvites; i++) {
        if (ch->invites[i] == cl->id) {
            if (consume)
                ch->invites[i] = ch->invites[--ch->ninvites];
            return true;
        }
    }
    return false;
}

/* Under mu: the numeric that keeps cl out of ch, or 0. */
static unsigned join_refusal(struct chat_channel *ch, struct chat_client *cl, const char *key)
{
    bool inv = invited(ch, cl, false);
    if (chan_banned(ch, cl) && !inv)
        return 474;
    /* +I: a matching client needs no INVITE (Modern IRC). */
    if ((ch->modes & CM_I) && !inv && !chan_listed(ch, LIST_INVEX, cl))
        return 473;
    if (ch->key[0] && (!key || strcmp(key, ch->key) != 0))
        return 475;
    if (ch->limit && ch->n >= ch->limit)
        return 471;
    return 0;
}

static const char *refusal_text(unsigned num)
{
    switch (num) {
    case 471: return "Cannot join channel (+l)";
    case 473: return "Cannot join channel (+i)";
    case 474: return "Cannot join channel (+b)";
    default: return "Cannot join channel (+k)";
    }
}

/* Under mu: finds or makes ch and makes cl a member. 0, a numeric, or
 * -1 when cl already is one or memory ran out. */
static int join_locked(struct chat_client *cl, const char *name, const char *key,
                       struct chat_channel **out)
{
    struct mx_chat *chat = cl->chat;
    struct chat_channel *ch = chan_find(chat, name);
    if (ch && cl_on(cl, ch))
        return -1;
    if (cl->nchans >= cl_set(cl)->o.max_channels)
        return 405;
    unsigned modes = 0;
    if (ch) {
        unsigned why = join_refusal(ch, cl, key);
        if (why)
            return (int)why;
        invited(ch, cl, true);
    } else {
        if (!(ch = chan_new(chat, name)))
            return -1;
        modes = MEM_OP;
    }
    if (member_add(chat, ch, cl, modes) < 0)
        return -1;
    *out = ch;
    return 0;
}

static void join_replies(struct chat_client *cl, const char *chan);

void chat_join(struct chat_client *cl, const char *name, const char *key)
{
    struct mx_chat *chat = cl->chat;
    if (!irc_channel_valid(name, CHAT_CHANLEN)) {
        cl_numeric(cl, 403, "%s :No such channel", name);
        return;
    }
    struct chat_channel *ch = NULL;
    struct chat_aud a;
    aud_init(&a, cl, 1);
    chat_lock(chat);
    int rc = join_locked(cl, name, key, &ch);
    if (rc == 0)
        aud_add(&a, ch);
    chat_unlock(chat);
    if (rc == 405)
        cl_numeric(cl, 405, "%s :You have joined too many channels", name);
    else if (rc > 0)
        cl_numeric(cl, (unsigned)rc, "%s :%s", name, refusal_text((unsigned)rc));
    if (rc != 0)
        return;
    struct mx_chunk *line = chat->has_bus ? chat_line(":%s!%s@%s JOIN :%s", cl->nick, cl->user,
                                                      cl->vhost, ch->name) : NULL;
    wire_chan_line(chat, ch->name, line);
    mx_chunk_unref(line);
    aud_join(&a, cl, ch->name);
    join_replies(cl, ch->name);
}

/* The NAMES reply to the client of a channel, with the members the
 * network says are on it elsewhere. */
static void names_of_network(struct chat_client *cl, const char *chan, const char *const *who,
                             unsigned n, const struct chat_topic *topic)
{
    struct mx_chat *chat = cl->chat;
    (void)topic;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, chan);
    if (ch)
        chan_names(cl, ch, who, n);
    chat_unlock(chat);
    if (!ch)
        cl_numeric(cl, 366, "%s :End of NAMES list", chan);
}

/* After a JOIN: the topic (the network's if newer than this node's copy:
 * a channel new here has none yet) and the NAMES reply. */
static void join_of_network(struct chat_client *cl, const char *chan, const char *const *who,
                            unsigned n, const struct chat_topic *topic)
{
    struct mx_chat *chat = cl->chat;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, chan);
    if (ch && topic && (!ch->topic || topic->at > ch->topic_at)) {
        free(ch->topic);
        ch->topic = strdup(topic->text);
        snprintf(ch->topic_by, sizeof ch->topic_by, "%s", topic->by);
        ch->topic_at = topic->at;
    }
    if (ch) {
        chan_topic_reply(cl, ch, false);
        chan_names(cl, ch, who, n);
    }
    chat_unlock(chat);
    if (!ch)
        cl_numeric(cl, 366, "%s :End of NAMES list", chan);
}

static void join_replies(struct chat_client *cl, const char *chan)
{
    if (chat_cluster_names(cl, chan, join_of_network) != 0)
        join_of_network(cl, chan, NULL, 0, NULL);
}

void chat_names_reply(struct chat_client *cl, const char *chan)
{
    if (chat_cluster_names(cl, chan, names_of_network) != 0)
        names_of_network(cl, chan, NULL, 0, NULL);
}

/* ---- leaving ------------------------------------------------------------- */

/* Removes cl from ch and sends line (already formatted) to ch's members,
 * cl included. */
static void leave_with(struct chat_client *cl, struct chat_channel *ch, struct mx_chunk *line)
{
    struct mx_chat *chat = cl->chat;
    struct chat_aud a;
    aud_init(&a, cl, 1);
    chat_lock(chat);
    bool on = cl_on(cl, ch);
    if (on) {
        aud_add(&a, ch);
        member_del(chat, ch, cl);
    }
    chat_unlock(chat);
    /* Out of the local list already: its own copy goes straight to it. */
    if (on && line)
        cl_send_chunk(cl, line);
    if (on)
        wire_chan_line(chat, ch->name, line);
    aud_line(&a, line, cl);
}

void chat_part(struct chat_client *cl, const char *name, const char *reason)
{
    struct mx_chat *chat = cl->chat;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    bool on = ch && cl_on(cl, ch);
    chat_unlock(chat);
    if (!ch) {
        cl_numeric(cl, 403, "%s :No such channel", name);
        return;
    }
    if (!on) {
        cl_numeric(cl, 442, "%s :You're not on that channel", name);
        return;
    }
    /* From here ch is safe without the lock: cl is on it (see chat_join). */
    struct mx_chunk *line = reason
        ? chat_line(":%s!%s@%s PART %s :%s", PFX(cl), ch->name, reason)
        : chat_line(":%s!%s@%s PART %s", PFX(cl), ch->name);
    leave_with(cl, ch, line);
    mx_chunk_unref(line);
}

/* JOIN 0: a PART from each channel. cl->chans is the owner's to read. */
void chat_part_all(struct chat_client *cl)
{
    while (cl->nchans) {
        struct chat_channel *ch = cl->chans[0];
        struct mx_chunk *line = chat_line(":%s!%s@%s PART %s :%s", PFX(cl), ch->name, cl->nick);
        leave_with(cl, ch, line);
        mx_chunk_unref(line);
    }
}

/* ---- kicking ------------------------------------------------------------- */

void chat_kick_apply(struct chat_client *target, struct chat_channel *ch, struct mx_chunk *line)
{
    if (!(target->flags & CL_GONE))
        leave_with(target, ch, line);
}

struct kick_post {
    struct chat_channel *ch;
    struct mx_chunk *line;
};

/* On the target's worker: memberships change there (chat_int.h). */
static void kick_run(struct mx_conn *c, void *arg)
{
    struct kick_post *kp = arg;
    struct chat_client *t = c ? mx_conn_data(c) : NULL;
    if (t) {
        struct chat_worker *wk = chat_enter(t->chat, t->worker);
        chat_kick_apply(t, kp->ch, kp->line);
        chat_leave(wk);
    }
    mx_chunk_unref(kp->line);
    chan_unref(kp->ch);
    free(kp);
}

void chat_kick_post(struct mx_chat *chat, uint64_t id, struct chat_channel *ch,
                    struct mx_chunk *line)
{
    struct kick_post *kp = malloc(sizeof *kp);
    if (!kp || !line) {
        free(kp);
        mx_chunk_unref(line);
        return;
    }
    chan_ref(ch);
    *kp = (struct kick_post){ ch, line };
    if (mx_server_post(chat->srv, id, kick_run, kp) < 0)
        kick_run(NULL, kp);
}

/* ---- replies ------------------------------------------------------------- */

void chan_topic_reply(struct chat_client *cl, struct chat_channel *ch, bool none_too)
{
    if (ch->topic) {
        cl_numeric(cl, 332, "%s :%s", ch->name, ch->topic);
        cl_numeric(cl, 333, "%s %s %lld", ch->name, ch->topic_by, (long long)ch->topic_at);
    } else if (none_too) {
        cl_numeric(cl, 331, "%s :No topic is set", ch->name);
    }
}

/* One name into names (a 353 sent when it would not fit). */
static void names_add(struct chat_client *cl, struct chat_channel *ch, char *names, size_t *len,
                      size_t max, const char *one, size_t k)
{
    if (*len && *len + 1 + k > max) {
        cl_numeric(cl, 353, "%c %s :%s", (ch->modes & CM_S) ? '@' : '=', ch->name, names);
        *len = 0;
    }
    *len += (size_t)snprintf(names + *len, IRC_LINE_MAX - *len, "%s%s", *len ? " " : "", one);
}

void chan_names(struct chat_client *cl, struct chat_channel *ch, const char *const *remote,
                unsigned nremote)
{
    char names[IRC_LINE_MAX];
    size_t len = 0;
    /* Room for ":server 353 nick = #chan :" and the CRLF. */
    size_t max = IRC_LINE_MAX - 2 - strlen(cl_set(cl)->o.server_name) - strlen(cl->nick) -
                 strlen(ch->name) - 16;
    /* Outsiders see no invisible (+i) member (Modern IRC: NAMES). */
    bool inside = cl_on(cl, ch);
    bool uh = cl->caps & CAP_USERHOST_IN_NAMES;
    for (unsigned i = 0; i < ch->n; i++) {
        const struct chat_member *m = &ch->m[i];
        if (!inside && (m->cl->umodes & UM_INVISIBLE))
            continue;
        /* userhost-in-names: nick!user@host, the host others see. */
        char one[CHAT_NICKLEN + CHAT_USERLEN + 64 + 6], pfx[4];
        int k = uh ? snprintf(one, sizeof one, "%s%s!%s@%s", chat_prefixes(cl, m->modes, pfx),
                              m->cl->nick, m->cl->user, m->cl->vhost)
                   : snprintf(one, sizeof one, "%s%s", chat_prefixes(cl, m->modes, pfx),
                              m->cl->nick);
        names_add(cl, ch, names, &len, max, one, (size_t)k);
    }
    /* Other nodes' members: their status there is not known here. */
    for (unsigned i = 0; i < nremote; i++) {
        size_t k = uh ? strlen(remote[i]) : strcspn(remote[i], "!");
        char one[CHAT_NICKLEN + CHAT_USERLEN + 64 + 6];
        if (k >= sizeof one)
            continue;
        memcpy(one, remote[i], k);
        one[k] = '\0';
        names_add(cl, ch, names, &len, max, one, k);
    }
    if (len)
        cl_numeric(cl, 353, "%c %s :%s", (ch->modes & CM_S) ? '@' : '=', ch->name, names);
    cl_numeric(cl, 366, "%s :End of NAMES list", ch->name);
}
