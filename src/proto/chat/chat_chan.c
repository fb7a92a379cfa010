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
        ch->net_new = true;  /* its first member tells the network, with its modes */
    }
    if (member_add(chat, ch, cl, modes) < 0)
        return -1;
    *out = ch;
    return 0;
}

static void join_replies(struct chat_client *cl, const char *chan,
                         const struct chat_netchan *nc);

/* Joins cl to name; nc: what the network said of it (NULL: ask it for
 * the replies, if there is a network). */
static void join_one(struct chat_client *cl, const char *name, const char *key,
                     const struct chat_netchan *nc)
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
    else if ((ch = chan_find(chat, name)))
        chan_drop_empty(chat, ch);  /* loaded from the network, then refused */
    chat_unlock(chat);
    if (rc == 405)
        cl_numeric(cl, 405, "%s :You have joined too many channels", name);
    else if (rc > 0)
        cl_numeric(cl, (unsigned)rc, "%s :%s", name, refusal_text((unsigned)rc));
    if (rc != 0)
        return;
    struct chat_msg *jm = chat->has_bus ? chat_join_msg(cl, ch->name) : NULL;
    wire_chan_msg(chat, ch->name, jm);
    chat_msg_unref(jm);
    aud_join(&a, cl, ch->name);
    join_replies(cl, ch->name, nc);
}

void chat_join(struct chat_client *cl, const char *name, const char *key)
{
    join_one(cl, name, key, NULL);
}

/* ---- channels new to this node ------------------------------------------- */

/* Under mu: ch (new here, no members yet) takes the network's modes:
 * "FLAGS\nKEY\nLIMIT\nCREATED\nBANS\nEXCEPTS\nINVEX" (chat_wire.c). */
static void load_modes(struct chat_channel *ch, const char *v)
{
    char buf[256 + CHAT_NLISTS * CHAT_MAX_LIST * (IRC_LINE_MAX / 4)];
    snprintf(buf, sizeof buf, "%s", v);
    char *f[7] = { buf }, *p = buf;
    for (int i = 1; i < 7 && (p = strchr(p, '\n')); i++) {
        *p++ = '\0';
        f[i] = p;
    }
    if (!p)
        return;  /* not all seven fields: leave the defaults */
    static const char letters[] = "ntsim";
    ch->modes = 0;
    for (unsigned i = 0; letters[i]; i++)
        if (strchr(f[0], letters[i]))
            ch->modes |= 1u << i;
    snprintf(ch->key, sizeof ch->key, "%s", f[1]);
    ch->limit = (unsigned)strtoul(f[2], NULL, 10);
    ch->created = (time_t)strtoll(f[3], NULL, 10);
    for (unsigned l = 0; l < CHAT_NLISTS; l++) {
        char *save = NULL;
        for (char *m = strtok_r(f[4 + l], " ", &save); m; m = strtok_r(NULL, " ", &save))
            chan_list_add(ch, (enum chat_list)l, m);
    }
}

/* The rest of a JOIN's list, waiting while the network is asked about a
 * channel this node does not have: it may exist elsewhere, with a key,
 * bans or invite-only, which the JOIN must meet like a local one. */
struct join_rest {
    unsigned i, n;
    char name[MAX_JOIN][CHAT_CHANLEN + 1];
    char key[MAX_JOIN][CHAT_KEYLEN + 1];
    bool has_key[MAX_JOIN];
};

static void join_continue(struct chat_client *cl, struct join_rest *r);

static bool invited_by_network(const struct chat_client *cl, const struct chat_netchan *nc)
{
    char folded[CHAT_NICKLEN + 1];
    irc_casefold(folded, cl->nick, sizeof folded);
    for (unsigned i = 0; i < nc->ninvited; i++)
        if (strcmp(nc->invited[i], folded) == 0)
            return true;
    return false;
}

/* A channel this node lacks, and the network cannot say whether it
 * exists elsewhere (and with what key, bans or limit): no JOIN, rather
 * than a second channel of that name with other rules. */
static void unreachable(struct chat_client *cl, const char *chan)
{
    cl_numeric(cl, 400, "JOIN :The chat network cannot be reached to check %s; "
               "try again later", chan);
}

static bool here(struct mx_chat *chat, const char *name)
{
    chat_lock(chat);
    bool found = chan_find(chat, name) != NULL;
    chat_unlock(chat);
    return found;
}

static void join_loaded(struct chat_client *cl, const char *chan, const struct chat_netchan *nc,
                        void *arg)
{
    struct join_rest *r = arg;
    if (!cl) {
        free(r);
        return;
    }
    struct mx_chat *chat = cl->chat;
    if (!nc->answered && !here(chat, chan)) {
        unreachable(cl, chan);
        r->i++;
        join_continue(cl, r);
        return;
    }
    chat_lock(chat);
    struct chat_channel *ch = nc->modes && !chan_find(chat, chan) ? chan_new(chat, chan) : NULL;
    if (ch) {
        load_modes(ch, nc->modes);
        if (nc->topic)
            chan_set_topic(ch, nc->topic->text, nc->topic->by, nc->topic->at);
    }
    /* +l counts the members of every node. */
    struct chat_channel *have = chan_find(chat, chan);
    bool net_invited = have && invited_by_network(cl, nc);
    if (net_invited && have->ninvites < 64) {
        uint64_t *v = realloc(have->invites, (have->ninvites + 1) * sizeof *v);
        if (v) {
            v[have->ninvites++] = cl->id;
            have->invites = v;
        }
    }
    bool full = have && have->limit && !cl_on(cl, have) && have->n + nc->n >= have->limit;
    if (full)
        chan_drop_empty(chat, have);
    chat_unlock(chat);
    if (full)
        cl_numeric(cl, 471, "%s :%s", chan, refusal_text(471));
    else
        join_one(cl, chan, r->has_key[r->i] ? r->key[r->i] : NULL, nc);
    if (net_invited)  /* used, or refused for another reason: spent */
        wire_invite(chat, chan, cl->nick, false);
    r->i++;
    join_continue(cl, r);
}

/* Must the network be asked before name is joined: a channel this node
 * lacks (it may exist elsewhere), one with a limit (+l counts every
 * node's members), or an invite-only one (invitations from any node)? */
static bool ask_first(struct mx_chat *chat, const char *name)
{
    chat_lock(chat);
    const struct chat_channel *ch = chan_find(chat, name);
    bool ask = !ch || ch->limit || (ch->modes & CM_I);
    chat_unlock(chat);
    return ask;
}

static void join_continue(struct chat_client *cl, struct join_rest *r)
{
    struct mx_chat *chat = cl->chat;
    for (; r->i < r->n && !(cl->flags & (CL_GONE | CL_DOOMED)); r->i++) {
        const char *name = r->name[r->i];
        if (chat->has_bus && irc_channel_valid(name, CHAT_CHANLEN) && ask_first(chat, name)) {
            int rc = chat_cluster_names(cl, name, join_loaded, r);
            if (rc == 0)
                return;  /* join_loaded goes on */
            if (rc < 0 && !here(chat, name)) {
                unreachable(cl, name);
                continue;
            }
        }
        join_one(cl, name, r->has_key[r->i] ? r->key[r->i] : NULL, NULL);
    }
    free(r);
}

void chat_join_list(struct chat_client *cl, char *const *names, char *const *keys, unsigned n,
                    unsigned nk)
{
    struct join_rest *r = calloc(1, sizeof *r);
    if (!r)
        return;
    for (unsigned i = 0; i < n && i < MAX_JOIN; i++) {
        snprintf(r->name[i], sizeof r->name[i], "%s", names[i]);
        r->has_key[i] = i < nk;
        if (i < nk)
            snprintf(r->key[i], sizeof r->key[i], "%s", keys[i]);
    }
    r->n = n < MAX_JOIN ? n : MAX_JOIN;
    join_continue(cl, r);
}

/* ---- the replies --------------------------------------------------------- */

/* The NAMES reply to the client of a channel, with the members the
 * network says are on it elsewhere. */
static void names_of_network(struct chat_client *cl, const char *chan,
                             const struct chat_netchan *nc, void *arg)
{
    (void)arg;
    if (!cl)
        return;
    struct mx_chat *chat = cl->chat;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, chan);
    if (ch)
        chan_names(cl, ch, nc);
    chat_unlock(chat);
    if (!ch)
        cl_numeric(cl, 366, "%s :End of NAMES list", chan);
}

/* After a JOIN: the topic (the network's if newer than this node's copy:
 * a channel new here has none yet), then the NAMES reply. */
static void join_of_network(struct chat_client *cl, const char *chan,
                            const struct chat_netchan *nc, void *arg)
{
    if (!cl)
        return;
    struct mx_chat *chat = cl->chat;
    const struct chat_topic *topic = nc ? nc->topic : NULL;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, chan);
    if (ch && topic && (!ch->topic || topic->at > ch->topic_at))
        chan_set_topic(ch, topic->text, topic->by, topic->at);
    if (ch)
        chan_topic_reply(cl, ch, false);
    chat_unlock(chat);
    names_of_network(cl, chan, nc, arg);
}

static void join_replies(struct chat_client *cl, const char *chan,
                         const struct chat_netchan *nc)
{
    if (nc || chat_cluster_names(cl, chan, join_of_network, NULL) != 0)
        join_of_network(cl, chan, nc, NULL);
}

void chat_names_reply(struct chat_client *cl, const char *chan)
{
    if (chat_cluster_names(cl, chan, names_of_network, NULL) != 0)
        names_of_network(cl, chan, NULL, NULL);
}

/* ---- leaving ------------------------------------------------------------- */

/* Removes cl from ch and sends line (already formatted) to ch's members,
 * cl included; and to the other nodes' when publish (not when another
 * node's KICK is carried out here: it published the line itself). */
static void leave_with(struct chat_client *cl, struct chat_channel *ch, struct mx_chunk *line,
                       bool publish)
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
    if (on && publish)
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
    leave_with(cl, ch, line, true);
    mx_chunk_unref(line);
}

/* JOIN 0: a PART from each channel. cl->chans is the owner's to read. */
void chat_part_all(struct chat_client *cl)
{
    while (cl->nchans) {
        struct chat_channel *ch = cl->chans[0];
        struct mx_chunk *line = chat_line(":%s!%s@%s PART %s :%s", PFX(cl), ch->name, cl->nick);
        leave_with(cl, ch, line, true);
        mx_chunk_unref(line);
    }
}

/* ---- kicking ------------------------------------------------------------- */

void chat_kick_apply(struct chat_client *target, struct chat_channel *ch, struct mx_chunk *line,
                     bool publish)
{
    if (!(target->flags & CL_GONE))
        leave_with(target, ch, line, publish);
}

struct kick_post {
    struct chat_channel *ch;
    struct mx_chunk *line;
    bool publish;
};

/* On the target's worker: memberships change there (chat_int.h). */
static void kick_run(struct mx_conn *c, void *arg)
{
    struct kick_post *kp = arg;
    struct chat_client *t = c ? mx_conn_data(c) : NULL;
    if (t) {
        struct chat_worker *wk = chat_enter(t->chat, t->worker);
        chat_kick_apply(t, kp->ch, kp->line, kp->publish);
        chat_leave(wk);
    }
    mx_chunk_unref(kp->line);
    chan_unref(kp->ch);
    free(kp);
}

void chat_kick_post(struct mx_chat *chat, uint64_t id, struct chat_channel *ch,
                    struct mx_chunk *line, bool publish)
{
    struct kick_post *kp = malloc(sizeof *kp);
    if (!kp || !line) {
        free(kp);
        mx_chunk_unref(line);
        return;
    }
    chan_ref(ch);
    *kp = (struct kick_post){ ch, line, publish };
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

void chan_names(struct chat_client *cl, struct chat_channel *ch, const struct chat_netchan *nc)
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
    /* Other nodes' members, with their status there. */
    for (unsigned i = 0; nc && i < nc->n; i++) {
        if (!inside && (nc->status[i] & NET_INVISIBLE))
            continue;
        char one[CHAT_NICKLEN + CHAT_USERLEN + 64 + 6], pfx[4];
        size_t k = uh ? strlen(nc->who[i]) : strcspn(nc->who[i], "!");
        int p = snprintf(one, sizeof one, "%s", chat_prefixes(cl, nc->status[i], pfx));
        if (p < 0 || (size_t)p + k >= sizeof one)
            continue;
        memcpy(one + p, nc->who[i], k);
        one[p + k] = '\0';
        names_add(cl, ch, names, &len, max, one, (size_t)p + k);
    }
    if (len)
        cl_numeric(cl, 353, "%c %s :%s", (ch->modes & CM_S) ? '@' : '=', ch->name, names);
    cl_numeric(cl, 366, "%s :End of NAMES list", ch->name);
}
