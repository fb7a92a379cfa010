/* netstate.h - the chat network's state in Redis, through a bus (bus.h):
 * nick claims and the registry of live nodes. Each operation is one Lua
 * script, so it is atomic in Redis whatever the other nodes do.
 *
 * Keys, after the network's prefix ("muxd:NETWORK:"):
 *   nick:NICK    "NODE ID": the client (its conn id) of NODE holding NICK
 *                (casefolded)
 *   who:NICK     what WHOIS shows of that client, set with the claim
 *   members:CHAN hash "NODE UID" -> "nick!user@host\nreal name": the members,
 *                and "*" -> "BY\nAT\nTEXT": its topic, "+" -> its modes
 *   memb:NODE    set of "CHAN NODE UID": NODE's memberships, freed with it
 *   nicks:NODE   the nicks NODE's clients claimed: a dead node's are freed
 *   nodes        the set of nodes that came up
 *   node:NODE    NODE's heartbeat (bus.c), expiring after 3 beats
 * Every done callback runs on the bus thread, once.
 */
#ifndef MUXD_CLUSTER_NETSTATE_H
#define MUXD_CLUSTER_NETSTATE_H

#include <stddef.h>
#include <stdint.h>

struct mx_bus;

/* r: 1 done (claimed, delivered), 0 refused (held by another node, no
 * such nick), -1 Redis lost before the answer. */
typedef void mx_net_done_fn(void *ctx, int r);

/* Client id of NODE claims nick (casefolded); it may hold it already.
 * info is what others may look up while it holds it (mx_net_lookup).
 * 0, or <0 when not asked (Redis lost now): done never runs then. */
int mx_net_claim(struct mx_bus *b, const char *prefix, const char *node, uint64_t id,
                 const char *nick, const char *info, mx_net_done_fn *done, void *ctx);
/* The info of each of n nicks (casefolded, one word each, at most
 * MX_NET_NICK_MAX bytes), NULL for a nick nobody holds; done gets v NULL
 * (and n 0) when Redis was lost. 0 or <0 as mx_net_claim. */
#define MX_NET_LOOKUP_MAX 64
#define MX_NET_NICK_MAX 64
typedef void mx_net_found_fn(void *ctx, const char *const *v, const size_t *lens, unsigned n);
int mx_net_lookup(struct mx_bus *b, const char *prefix, const char *const *nicks, unsigned n,
                  mx_net_found_fn *done, void *ctx);
/* Client id of NODE lets go of nick, if it holds it. */
void mx_net_release(struct mx_bus *b, const char *prefix, const char *node, uint64_t id,
                    const char *nick);
/* Publishes payload on the subject of the node holding nick ("PREFIXn:NODE"):
 * done gets 0 when no node holds it. With invite (a channel, casefolded),
 * the nick's invitation to it is kept too, in the same step. 0 or <0 as
 * mx_net_claim. */
int mx_net_to_nick(struct mx_bus *b, const char *prefix, const char *nick, const void *payload,
                   size_t len, const char *invite, mx_net_done_fn *done, void *ctx);
/* On reaching Redis: NODE's claims from before are dropped (its clients
 * claim again) and it joins the set of nodes. */
void mx_net_hello(struct mx_bus *b, const char *prefix, const char *node);
/* Every heartbeat: with others, nodes whose heartbeat expired leave the set, their
 * nicks are freed, and their clients leave their channels with a QUIT
 * "SERVER DEADNODE" (a netsplit) published on "PREFIXu"; each is logged.
 * If the others found NODE itself dead (it was cut off or stopped too
 * long and is back), taken_for_dead(arg, mark) runs on the bus's thread,
 * at every call while the mark lasts (a day), with the mark: a node acts
 * once per mark, as its users are gone from the network, which must hear
 * of them again. */
void mx_net_reap(struct mx_bus *b, const char *prefix, const char *node, const char *server,
                 bool others, void (*taken_for_dead)(void *arg, const char *mark), void *arg);
/* The client uid of NODE is on chan (casefolded) as who
 * ("nick!user@host"), or no longer (who NULL); modes (or NULL): the
 * channel's, when this JOIN creates it on the network. */
void mx_net_member(struct mx_bus *b, const char *prefix, const char *node, const char *chan,
                   uint64_t uid, const char *who, const char *modes);
/* chan's state field ("*" its topic, "+" its modes) is value, or none
 * (NULL); kept while the channel has members on some node. */
void mx_net_state(struct mx_bus *b, const char *prefix, const char *chan, const char *field,
                  const char *value);
/* chan's members on every node, each as "NODE UID\nnick!user@host", and
 * its topic as "*\nBY\nAT\nTEXT" (v NULL when Redis was lost). 0 or <0 as
 * mx_net_claim. */
int mx_net_members(struct mx_bus *b, const char *prefix, const char *chan,
                   mx_net_found_fn *done, void *ctx);

/* Every channel of the network with members, at most max of them, done
 * as mx_net_lookup's with each v[i] "NAME\nUSERS\nFLAGS\nTOPIC" (the
 * name as created, its member count on every node, the first line of its
 * modes, its topic's text). 0 or <0 as mx_net_claim. */
int mx_net_channels(struct mx_bus *b, const char *prefix, unsigned max, mx_net_found_fn *done,
                    void *ctx);

#endif
