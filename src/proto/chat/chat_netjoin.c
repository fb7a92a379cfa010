/* chat_netjoin.c - this node joining the network (docs/cluster.md):
 * the bus set (mx_chat_set_bus), Redis reached again (mx_chat_bus_up:
 * its nicks claimed again, its channels subscribed and their members,
 * modes and topics put back), and coming back after the others took it
 * for dead (mx_chat_bus_rejoin: a JOIN for each member too). A nick
 * claimed again that another node's client got meanwhile is given up
 * (chat_nick_collided). An entry point like chat_remote.c (the bus's
 * thread): it may call any file below.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

/* A channel subscribes again, and its members are on it again in the
 * network's lists (the node's hello dropped them), with its modes and
 * topic. */
static void resubscribe(struct nt_node *n, void *arg)
{
    struct chat_channel *ch = chan_of(n);
    chan_subscribe(arg, ch, true);
    for (unsigned i = 0; i < ch->n; i++)
        wire_member(arg, ch, ch->m[i].cl, true);
    /* Redis may have restarted empty: the channel's state again too (kept
     * only once it has a member, so after them). */
    wire_modes(arg, ch);
    if (ch->topic)
        wire_topic(arg, ch);
}

/* A nick claimed again that another client got meanwhile. */
struct lost {
    struct mx_chat *chat;
    uint64_t id;                    /* the client's conn id */
    char nick[CHAT_NICKLEN + 1];    /* the nick it held */
};

/* On the client's owner: if it still holds the nick, it gives it up. */
static void lost_run(struct mx_conn *c, void *arg)
{
    struct lost *k = arg;
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (cl && !(cl->flags & CL_GONE) && irc_casecmp(cl->nick, k->nick) == 0) {
        struct chat_worker *wk = chat_enter(k->chat, cl->worker);
        chat_nick_collided(cl);
        chat_leave(wk);
    }
    free(k);
}

/* The bus's thread: the claim is held by another client (it was taken
 * while this node was cut off from Redis, or taken for dead). */
static void reclaimed(void *ctx, int r)
{
    struct lost *k = ctx;
    if (r != 0) {
        free(k);
        return;
    }
    mx_warn("cluster: nick %s was claimed by another node's client while this node was cut "
            "off: ours gives it up", k->nick);
    if (mx_server_post(k->chat->srv, k->id, lost_run, k) < 0)
        free(k);
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
    char folded[CHAT_NICKLEN + 1], info[CHAT_INFO_MAX];
    irc_casefold(folded, cl->nick, sizeof folded);
    struct lost *k = malloc(sizeof *k);
    if (!k)
        return;
    *k = (struct lost){ .chat = chat, .id = cl->id };
    snprintf(k->nick, sizeof k->nick, "%s", cl->nick);
    chat_claim_info(cl, cl->nick, info, sizeof info);
    if (chat->bus.claim(chat->bus.arg, cl->uid, folded, info, reclaimed, k) < 0)
        free(k);
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

/* Under mu: a JOIN of each member of the channel, for the other nodes'
 * members, who saw them QUIT when this node was taken for dead. */
static void rejoin_chan(struct nt_node *n, void *arg)
{
    struct mx_chat *chat = arg;
    struct chat_channel *ch = chan_of(n);
    for (unsigned i = 0; i < ch->n; i++) {
        struct chat_msg *jm = chat_join_msg(ch->m[i].cl, ch->name);
        wire_chan_msg(chat, ch->name, jm);
        chat_msg_unref(jm);
    }
}

void mx_chat_bus_rejoin(struct mx_chat *chat)
{
    mx_chat_bus_up(chat);
    chat_lock(chat);
    nt_each(&chat->chans, rejoin_chan, chat);
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
