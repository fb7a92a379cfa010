/* chat_chan.c - channels: the registry, joining, leaving, quitting and
 * kicking, each done on the member's own worker so that its global
 * membership (under mu) and its place in the worker's local list (no
 * lock) change together.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->host

/* Room for one more element in *v (capacity *cap, n used). */
static int reserve(void *v, unsigned *cap, unsigned n, size_t elem)
{
    void **pv = v;
    if (n < *cap)
        return 0;
    unsigned ncap = *cap ? *cap * 2 : 4;
    void *nv = realloc(*pv, ncap * elem);
    if (!nv)
        return -ENOMEM;
    *pv = nv;
    *cap = ncap;
    return 0;
}

struct chat_channel *chan_find(struct mx_chat *chat, const char *name)
{
    struct nt_node *n = nt_find(&chat->chans, name);
    return n ? (struct chat_channel *)((char *)n - offsetof(struct chat_channel, node)) : NULL;
}

struct chat_member *chan_member(struct chat_channel *ch, const struct chat_client *cl)
{
    for (unsigned i = 0; i < ch->n; i++)
        if (ch->m[i].cl == cl)
            return &ch->m[i];
    return NULL;
}

bool cl_on(const struct chat_client *cl, const struct chat_channel *ch)
{
    for (unsigned i = 0; i < cl->nchans; i++)
        if (cl->chans[i] == ch)
            return true;
    return false;
}

static struct chat_channel *chan_new(struct mx_chat *chat, const char *name)
{
    struct chat_channel *ch = calloc(1, sizeof *ch + chat->nworkers * sizeof ch->local[0]);
    if (!ch)
        return NULL;
    ch->per_worker = calloc(chat->nworkers, sizeof *ch->per_worker);
    if (!ch->per_worker) {
        free(ch);
        return NULL;
    }
    atomic_init(&ch->refs, 1);
    snprintf(ch->name, sizeof ch->name, "%s", name);
    ch->node.name = ch->name;
    ch->created = time(NULL);
    ch->modes = CM_N | CM_T;
    if (nt_add(&chat->chans, &ch->node) < 0) {
        chan_unref(ch);
        return NULL;
    }
    return ch;
}

/* Under mu: adds cl to ch's members and ch to cl's channels. */
static int member_add(struct chat_channel *ch, struct chat_client *cl, unsigned modes)
{
    if (reserve(&ch->m, &ch->cap, ch->n, sizeof *ch->m) < 0 ||
        reserve(&cl->chans, &cl->capchans, cl->nchans, sizeof *cl->chans) < 0)
        return -ENOMEM;
    ch->m[ch->n++] = (struct chat_member){ cl, modes };
    ch->per_worker[cl->worker]++;
    cl->chans[cl->nchans++] = ch;
    return 0;
}

/* Under mu: the reverse. An emptied channel leaves the registry (its
 * registry reference is dropped: the caller holds one of its own). */
static void member_del(struct mx_chat *chat, struct chat_channel *ch, struct chat_client *cl)
{
    struct chat_member *m = chan_member(ch, cl);
    if (!m)
        return;
    *m = ch->m[--ch->n];
    ch->per_worker[cl->worker]--;
    for (unsigned i = 0; i < cl->nchans; i++) {
        if (cl->chans[i] == ch) {
            cl->chans[i] = cl->chans[--cl->nchans];
            break;
        }
    }
    if (ch->n == 0) {
        nt_del(&chat->chans, &ch->node);
        chan_unref(ch);
    }
}

/* Owner-only: cl's place in its worker's list of ch's members. */
static int local_add(struct chat_channel *ch, struct chat_client *cl)
{
    struct chat_local *l = &ch->local[cl->worker];
    if (reserve(&l->v, &l->cap, l->n, sizeof *l->v) < 0)
        return -ENOMEM;
    l->v[l->n++] = cl;
    return 0;
}

static void local_del(struct chat_channel *ch, struct chat_client *cl)
{
    struct chat_local *l = &ch->local[cl->worker];
    for (unsigned i = 0; i < l->n; i++) {
        if (l->v[i] == cl) {
            l->v[i] = l->v[--l->n];
            break;
        }
    }
    if (l->n == 0) {
        free(l->v);
        *l = (struct chat_local){ 0 };
    }
}

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

bool chan_banned(const struct chat_channel *ch, const struct chat_client *cl)
{
    char who[CHAT_NICKLEN + CHAT_USERLEN + 64 + 3];
    snprintf(who, sizeof who, "%s!%s@%s", PFX(cl));
    for (unsigned i = 0; i < ch->nbans; i++)
        if (irc_mask_match(ch->bans[i], who))
            return true;
    return false;
}

/* Under mu: the numeric that keeps cl out of ch, or 0. */
static unsigned join_refusal(struct chat_channel *ch, struct chat_client *cl, const char *key)
{
    bool inv = invited(ch, cl, false);
    if (chan_banned(ch, cl) && !inv)
        return 474;
    if ((ch->modes & CM_I) && !inv)
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
    if (cl->nchans >= chat->o.max_channels)
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
    if (member_add(ch, cl, modes) < 0) {
        if (ch->n == 0) {
            nt_del(&chat->chans, &ch->node);
            chan_unref(ch);
        }
        return -1;
    }
    *out = ch;
    return 0;
}

void chat_join(struct chat_client *cl, const char *name, const char *key)
{
    struct mx_chat *chat = cl->chat;
    if (!irc_channel_valid(name, CHAT_CHANLEN)) {
        cl_numeric(cl, 403, "%s :No such channel", name);
        return;
    }
    struct chat_channel *ch = NULL;
    struct chat_wset ws = { 0 };
    chat_lock(chat);
    int rc = join_locked(cl, name, key, &ch);
    if (rc == 0) {
        wset_channel(&ws, ch, chat->nworkers);
        chan_ref(ch);
    }
    chat_unlock(chat);
    if (rc == 405)
        cl_numeric(cl, 405, "%s :You have joined too many channels", name);
    else if (rc > 0)
        cl_numeric(cl, (unsigned)rc, "%s :%s", name, refusal_text((unsigned)rc));
    if (rc != 0)
        return;
    if (local_add(ch, cl) < 0) {
        mx_warn("chat: out of memory: %s joins %s without local delivery", cl->nick, ch->name);
    }
    struct mx_chunk *line = chat_line(":%s!%s@%s JOIN :%s", PFX(cl), ch->name);
    chat_fanout(chat, cl->worker, &ws, &ch, 1, line, NULL);
    mx_chunk_unref(line);
    chat_lock(chat);
    chan_topic_reply(cl, ch, false);
    chan_names(cl, ch);
    chat_unlock(chat);
    chan_unref(ch);
}

/* ---- leaving ------------------------------------------------------------- */

/* Removes cl from ch and sends line (already formatted) to ch's members,
 * cl included, before it leaves the local list. Returns false if cl was
 * not on ch. */
static bool leave_with(struct chat_client *cl, struct chat_channel *ch, struct mx_chunk *line)
{
    struct mx_chat *chat = cl->chat;
    struct chat_wset ws = { 0 };
    chat_lock(chat);
    if (!cl_on(cl, ch)) {
        chat_unlock(chat);
        return false;
    }
    wset_channel(&ws, ch, chat->nworkers);
    chan_ref(ch);
    member_del(chat, ch, cl);
    chat_unlock(chat);
    chat_fanout(chat, cl->worker, &ws, &ch, 1, line, NULL);
    local_del(ch, cl);
    chan_unref(ch);
    return true;
}

void chat_part(struct chat_client *cl, const char *name, const char *reason)
{
    struct mx_chat *chat = cl->chat;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    bool on = ch && cl_on(cl, ch);
    if (on)
        chan_ref(ch);
    chat_unlock(chat);
    if (!ch) {
        cl_numeric(cl, 403, "%s :No such channel", name);
        return;
    }
    if (!on) {
        cl_numeric(cl, 442, "%s :You're not on that channel", name);
        return;
    }
    struct mx_chunk *line = reason
        ? chat_line(":%s!%s@%s PART %s :%s", PFX(cl), ch->name, reason)
        : chat_line(":%s!%s@%s PART %s", PFX(cl), ch->name);
    leave_with(cl, ch, line);
    mx_chunk_unref(line);
    chan_unref(ch);
}

/* cl leaves its channels one by one, each hearing keep (the caller's
 * line) or, without one, a PART. */
static void leave_each(struct chat_client *cl, struct mx_chunk *keep)
{
    struct mx_chat *chat = cl->chat;
    for (;;) {
        chat_lock(chat);
        struct chat_channel *ch = cl->nchans ? cl->chans[0] : NULL;
        if (ch)
            chan_ref(ch);
        chat_unlock(chat);
        if (!ch)
            return;
        struct mx_chunk *line = keep ? keep
            : chat_line(":%s!%s@%s PART %s :%s", PFX(cl), ch->name, cl->nick);
        leave_with(cl, ch, line);
        if (line != keep)
            mx_chunk_unref(line);
        chan_unref(ch);
    }
}

/* JOIN 0: a PART from each channel. */
void chat_part_all(struct chat_client *cl)
{
    leave_each(cl, NULL);
}

void chat_kick_apply(struct chat_client *target, struct chat_channel *ch, struct mx_chunk *line)
{
    if (!(target->flags & CL_GONE))
        leave_with(target, ch, line);
}

/* ---- quitting ------------------------------------------------------------ */

/* Under mu: out of the nick table, and gone for good. */
static void forget(struct chat_client *cl)
{
    if (cl->flags & CL_NICK)
        nt_del(&cl->chat->nicks, &cl->node);
    cl->flags |= CL_GONE;
    cl->flags &= ~CL_REG;
    cl->registered = false;
}

void chat_quit(struct chat_client *cl, const char *reason)
{
    struct mx_chat *chat = cl->chat;
    if (cl->flags & CL_GONE)
        return;
    struct mx_chunk *line = chat_line(":%s!%s@%s QUIT :%s", PFX(cl), reason);
    struct chat_wset ws = { 0 };
    chat_lock(chat);
    unsigned n = cl->nchans;
    struct chat_channel **chans = n ? malloc(n * sizeof *chans) : NULL;
    if (n && !chans) {
        /* No memory for the list: one channel at a time (a peer on
         * several may see the QUIT more than once). */
        chat_unlock(chat);
        leave_each(cl, line);
        chat_lock(chat);
        n = 0;
    }
    for (unsigned i = 0; i < n; i++) {
        chans[i] = cl->chans[i];
        wset_channel(&ws, chans[i], chat->nworkers);
        chan_ref(chans[i]);
    }
    while (cl->nchans)
        member_del(chat, cl->chans[0], cl);
    forget(cl);
    chat_unlock(chat);
    chat_fanout(chat, cl->worker, &ws, chans, n, line, cl);
    mx_chunk_unref(line);
    for (unsigned i = 0; i < n; i++) {
        local_del(chans[i], cl);
        chan_unref(chans[i]);
    }
    free(chans);
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

void chan_names(struct chat_client *cl, struct chat_channel *ch)
{
    char names[IRC_LINE_MAX];
    size_t len = 0;
    /* Room for ":server 353 nick = #chan :" and the CRLF. */
    size_t max = IRC_LINE_MAX - 2 - strlen(cl->chat->o.server_name) - strlen(cl->nick) -
                 strlen(ch->name) - 16;
    for (unsigned i = 0; i < ch->n; i++) {
        const struct chat_member *m = &ch->m[i];
        char one[CHAT_NICKLEN + 3];
        int k = snprintf(one, sizeof one, "%s%s", (m->modes & MEM_OP) ? "@" :
                         (m->modes & MEM_VOICE) ? "+" : "", m->cl->nick);
        if (len && len + 1 + (size_t)k > max) {
            cl_numeric(cl, 353, "%c %s :%s", (ch->modes & CM_S) ? '@' : '=', ch->name, names);
            len = 0;
        }
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? " " : "", one);
    }
    if (len)
        cl_numeric(cl, 353, "%c %s :%s", (ch->modes & CM_S) ? '@' : '=', ch->name, names);
    cl_numeric(cl, 366, "%s :End of NAMES list", ch->name);
}
