/* chat_state.c - the shared tables: channel lifetime, lookups, and
 * membership, global and local changed together. Nothing here sends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

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

/* ---- channel lifetime ---------------------------------------------------- */

struct chat_channel *chan_new(struct mx_chat *chat, const char *name)
{
    struct chat_channel *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->per_worker = calloc(chat->wcap, sizeof *ch->per_worker);
    ch->local = calloc(chat->wcap, sizeof *ch->local);
    if (!ch->per_worker || !ch->local) {
        free(ch->per_worker);
        free(ch->local);
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
    chan_subscribe(chat, ch, true);
    return ch;
}

void chan_ref(struct chat_channel *ch)
{
    atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
}

void chan_unref(struct chat_channel *ch)
{
    if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(ch->m);
    free(ch->per_worker);
    free(ch->local);
    free(ch->topic);
    for (unsigned l = 0; l < CHAT_NLISTS; l++) {
        for (unsigned i = 0; i < ch->lists[l].n; i++)
            free(ch->lists[l].v[i]);
        free(ch->lists[l].v);
    }
    free(ch->invites);
    free(ch);
}

/* An emptied channel leaves the registry with the registry's reference. */
static void chan_retire(struct mx_chat *chat, struct chat_channel *ch)
{
    chan_subscribe(chat, ch, false);
    nt_del(&chat->chans, &ch->node);
    chan_unref(ch);
}

void chan_set_topic(struct chat_channel *ch, const char *text, const char *by, time_t at)
{
    free(ch->topic);
    ch->topic = text && text[0] ? strndup(text, CHAT_TOPICLEN) : NULL;
    snprintf(ch->topic_by, sizeof ch->topic_by, "%s", by);
    ch->topic_at = at;
}

void chan_drop_empty(struct mx_chat *chat, struct chat_channel *ch)
{
    if (ch->n == 0)
        chan_retire(chat, ch);
}

void chan_list_add(struct chat_channel *ch, enum chat_list l, const char *mask)
{
    struct chat_masks *ml = &ch->lists[l];
    if (ml->n >= CHAT_MAX_LIST || strlen(mask) > IRC_LINE_MAX / 4)
        return;
    char **v = realloc(ml->v, (ml->n + 1) * sizeof *v);
    if (v)
        ml->v = v;
    char *s = v ? strdup(mask) : NULL;
    if (s)
        ml->v[ml->n++] = s;
}

static void drop_channel(struct nt_node *n, void *arg)
{
    (void)arg;
    chan_unref(chan_of(n));
}

void chat_chans_free(struct mx_chat *chat)
{
    nt_each(&chat->chans, drop_channel, NULL);
    nt_fini(&chat->chans);
}

/* ---- lookups ------------------------------------------------------------- */

struct chat_channel *chan_find(struct mx_chat *chat, const char *name)
{
    struct nt_node *n = nt_find(&chat->chans, name);
    return n ? chan_of(n) : NULL;
}

struct chat_client *cl_by_nick(struct mx_chat *chat, const char *nick)
{
    struct nt_node *n = nt_find(&chat->nicks, nick);
    return n ? (struct chat_client *)((char *)n - offsetof(struct chat_client, node)) : NULL;
}

struct chat_client *cl_registered(struct mx_chat *chat, const char *nick)
{
    struct chat_client *cl = cl_by_nick(chat, nick);
    return cl && cl->registered ? cl : NULL;
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

/* Against what members see (the cloak) and the address: an operator may
 * ban, or except, by either. */
bool chan_listed(const struct chat_channel *ch, enum chat_list list,
                 const struct chat_client *cl)
{
    const struct chat_masks *l = &ch->lists[list];
    if (!l->n)
        return false;
    char who[CHAT_NICKLEN + CHAT_USERLEN + 64 + 3], real[sizeof who];
    snprintf(who, sizeof who, "%s!%s@%s", cl->nick, cl->user, cl->vhost);
    snprintf(real, sizeof real, "%s!%s@%s", cl->nick, cl->user, cl->host);
    for (unsigned i = 0; i < l->n; i++)
        if (irc_mask_match(l->v[i], who) || irc_mask_match(l->v[i], real))
            return true;
    return false;
}

bool chan_banned(const struct chat_channel *ch, const struct chat_client *cl)
{
    return chan_listed(ch, LIST_BAN, cl) && !chan_listed(ch, LIST_EXCEPT, cl);
}

/* ---- membership ---------------------------------------------------------- */

/* cl's place in its worker's list of ch's members. */
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

int member_add(struct mx_chat *chat, struct chat_channel *ch, struct chat_client *cl,
               unsigned modes)
{
    if (reserve(&ch->m, &ch->cap, ch->n, sizeof *ch->m) < 0 ||
        reserve(&cl->chans, &cl->capchans, cl->nchans, sizeof *cl->chans) < 0) {
        if (ch->n == 0)
            chan_retire(chat, ch);
        return -ENOMEM;
    }
    ch->m[ch->n++] = (struct chat_member){ cl, modes };
    ch->per_worker[cl->worker]++;
    cl->chans[cl->nchans++] = ch;
    wire_member(chat, ch, cl, true);
    /* A member all the same: it only misses what is said there. */
    if (local_add(ch, cl) < 0)
        mx_warn("chat: out of memory: %s joins %s without local delivery", cl->nick, ch->name);
    return 0;
}

void member_del(struct mx_chat *chat, struct chat_channel *ch, struct chat_client *cl)
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
    local_del(ch, cl);
    wire_member(chat, ch, cl, false);
    if (ch->n == 0)
        chan_retire(chat, ch);
}

void cl_rename(struct chat_client *cl, const char *nick)
{
    cl_whowas_record(cl);
    if (cl->flags & CL_NICK)
        nt_del(&cl->chat->nicks, &cl->node);
    snprintf(cl->nick, sizeof cl->nick, "%s", nick);
    if (nt_add(&cl->chat->nicks, &cl->node) == 0)
        cl->flags |= CL_NICK;
    else
        cl->flags &= ~CL_NICK;
    for (unsigned i = 0; i < cl->nchans; i++)  /* the network's lists: the new nick */
        wire_member(cl->chat, cl->chans[i], cl, true);
}

void cl_unname(struct chat_client *cl)
{
    if (cl->flags & CL_NICK)
        nt_del(&cl->chat->nicks, &cl->node);
    cl->flags &= ~CL_NICK;
}

void cl_release_claim(struct chat_client *cl)
{
    if (!(cl->flags & CL_CLAIMED))
        return;
    char folded[CHAT_NICKLEN + 1];
    irc_casefold(folded, cl->nick, sizeof folded);
    cl->chat->bus.release(cl->chat->bus.arg, cl->uid, folded);
    cl->flags &= ~CL_CLAIMED;
}

void cl_forget(struct chat_client *cl)
{
    cl_release_claim(cl);
    cl_whowas_record(cl);
    if (cl->flags & CL_NICK)
        nt_del(&cl->chat->nicks, &cl->node);
    cl->flags |= CL_GONE;
    cl->flags &= ~CL_REG;
    if (cl->registered)
        cl->chat->nusers--;
    cl->registered = false;
    cl_umode_set(cl, UM_INVISIBLE | UM_OPER, false);
    cl->chat->nclients--;
}

void cl_umode_set(struct chat_client *cl, unsigned bits, bool on)
{
    unsigned now = on ? cl->umodes | bits : cl->umodes & ~bits;
    unsigned flip = now ^ cl->umodes;
    if (flip & UM_INVISIBLE)
        cl->chat->ninvisible += on ? 1 : (unsigned)-1;
    if (flip & UM_OPER)
        cl->chat->nopers += on ? 1 : (unsigned)-1;
    cl->umodes = now;
}

void cl_whowas_record(struct chat_client *cl)
{
    if (!cl->registered)
        return;
    struct whowas_entry e = { .when = time(NULL) };
    memcpy(e.nick, cl->nick, sizeof e.nick);
    memcpy(e.user, cl->user, sizeof e.user);
    memcpy(e.host, cl->vhost, sizeof e.host);
    memcpy(e.real, cl->real, sizeof e.real);
    whowas_add(&cl->chat->whowas, WHOWAS_MAX, WHOWAS_PER_NICK, &e);
}

/* ---- a change of the worker set ------------------------------------------ */

struct invite_move {
    uint64_t from, to;
};

static void move_invites(struct nt_node *n, void *arg)
{
    struct chat_channel *ch = chan_of(n);
    const struct invite_move *im = arg;
    for (unsigned i = 0; i < ch->ninvites; i++)
        if (ch->invites[i] == im->from)
            ch->invites[i] = im->to;
}

void cl_moved(struct chat_client *cl, unsigned worker, uint64_t id, uint64_t old_id)
{
    for (unsigned i = 0; i < cl->nchans; i++) {
        local_del(cl->chans[i], cl);
        cl->chans[i]->per_worker[cl->worker]--;
        cl->chans[i]->per_worker[worker]++;
    }
    cl->worker = worker;
    cl->id = id;
    cl->mark = 0; /* the new worker's fan-out stamps are its own */
    for (unsigned i = 0; i < cl->nchans; i++)
        if (local_add(cl->chans[i], cl) < 0)
            mx_warn("chat: out of memory: %s stays in %s without local delivery", cl->nick,
                    cl->chans[i]->name);
    nt_each(&cl->chat->chans, move_invites, &(struct invite_move){ old_id, id });
}

struct grow {
    unsigned from, to;
    int err;
};

static void grow_chan(struct nt_node *n, void *arg)
{
    struct chat_channel *ch = chan_of(n);
    struct grow *g = arg;
    unsigned *pw = realloc(ch->per_worker, g->to * sizeof *pw);
    if (pw)
        ch->per_worker = pw;
    struct chat_local *l = realloc(ch->local, g->to * sizeof *l);
    if (l)
        ch->local = l;
    if (!pw || !l) {
        g->err = -ENOMEM;
        return;
    }
    for (unsigned i = g->from; i < g->to; i++) {
        pw[i] = 0;
        l[i] = (struct chat_local){ 0 };
    }
}

int chat_chans_grow(struct mx_chat *chat, unsigned n)
{
    if (n <= chat->wcap)
        return 0;
    struct grow g = { chat->wcap, n, 0 };
    nt_each(&chat->chans, grow_chan, &g);
    if (g.err == 0)
        chat->wcap = n;
    return g.err;
}
