/* chat_net.h - the chat core's side of the network of nodes
 * (docs/cluster.md): what this node tells the others (chat_wire.c) and
 * what a command asks of them (chat_cluster.c). Included by chat_int.h,
 * after the types it uses; nothing here does anything without a bus
 * (struct mx_chat_bus, chat.h). chat_remote.c, what the others publish,
 * is an entry point and has no declarations of its own here.
 */
#ifndef MUXD_PROTO_CHAT_NET_H
#define MUXD_PROTO_CHAT_NET_H

/* chat_wire.c: what this node tells the others (nothing without a bus).
 * chan's subject (its casefolded name after chat->subj) into buf, and
 * (un)subscribing it: a channel is subscribed from chan_new to its
 * retirement, and again by each one when Redis comes back (under mu). */
void chan_subject(const struct mx_chat *chat, const char *name, char *buf, size_t len);
/* A payload's first fields, NODE, NEED AT, TAGS, for m (NULL: a line
 * without caps or tags, now) into buf: their length, or -1 past cap. */
int wire_head(const struct mx_chat *chat, const struct chat_msg *m, char *buf, size_t cap);
void chan_subscribe(struct mx_chat *chat, const struct chat_channel *ch, bool on);
/* A line to channel chan (m or line stays the caller's): to the other
 * nodes' members too. Any lock state. */
void wire_chan_msg(struct mx_chat *chat, const char *chan, struct chat_msg *m);
void wire_chan_line(struct mx_chat *chat, const char *chan, struct mx_chunk *line);
/* A QUIT or NICK line concerning the n channels chans: to the other nodes'
 * members of any of them, once each. */
void wire_user_line(struct mx_chat *chat, struct chat_channel *const *chans, unsigned n,
                    const struct mx_chunk *line);
/* Under mu: ch's topic (or none), and its modes (flags, key, limit,
 * creation, the +b +e +I lists), as the network's lists have them. */
void wire_topic(struct mx_chat *chat, const struct chat_channel *ch);
void wire_modes(struct mx_chat *chat, const struct chat_channel *ch);
/* nick is invited to chan across the network, or no longer (it joined). */
void wire_invite(struct mx_chat *chat, const char *chan, const char *nick, bool on);
/* Under mu: cl (registered) is on ch now, or left it, as the
 * network's membership lists have it; on a channel new on the network
 * (net_new), with its modes in the same step. Called again whenever what
 * the lists show of it changes: its nick, +o/+v there, +i. */
void wire_member(struct mx_chat *chat, struct chat_channel *ch, const struct chat_client *cl,
                 bool on);

/* chat_cluster.c: questions to the network; the answers come back to the
 * asking client's worker while its input waits. */
/* A claim's info: what others' WHOIS shows of cl under nick,
 * "NICK\nUSER\nHOST\nREAL\nNODE". Its owner, or anyone under mu. */
#define CHAT_INFO_MAX (CHAT_NICKLEN + CHAT_USERLEN + 64 + CHAT_REALLEN + 64 + 8)
void chat_claim_info(const struct chat_client *cl, const char *nick, char *buf, size_t len);
/* On cl's owner: claims nick for cl across the network. 1: no network,
 * go on; 0: asked, cl's input waits (CL_CLAIMING) until then(cl, r,
 * nick) runs on cl's owner, r as struct mx_chat_bus's claim (made as
 * cl->uid); -1: the network is unreachable now.
 * then is not called if cl has gone (a claim made is then let go). */
typedef void chat_claimed_fn(struct chat_client *cl, int r, const char *nick);
int chat_cluster_claim(struct chat_client *cl, const char *nick, chat_claimed_fn *then);
/* Any thread: the claim of the client of uid on nick is let go. */
void chat_cluster_let_go(struct mx_chat *chat, uint64_t uid, const char *nick);
/* On cl's owner: what the network knows of channel chan: its members on
 * other nodes, its topic and modes. 1: no network; 0: asked, cl's input
 * waits until then(cl, chan, nc, arg) runs on its owner (nc->answered
 * false if the network did not answer); if cl has gone by then,
 * then(NULL, chan, NULL, arg) runs, to let arg go; -1: the network is
 * unreachable now. */
struct chat_topic {
    char *text;
    char by[CHAT_NICKLEN + CHAT_USERLEN + 64 + 3];
    time_t at;
};
/* A member elsewhere is invisible (+i): beside MEM_OP and MEM_VOICE in
 * struct chat_netchan's status. */
enum { NET_INVISIBLE = 4 };
struct chat_netchan {
    bool answered;
    const char *const *who;         /* "nick!user@host" of other nodes' members */
    const char *const *real;        /* and their real names */
    const unsigned *status;         /* and MEM_OP, MEM_VOICE, NET_INVISIBLE */
    unsigned n;
    const struct chat_topic *topic; /* NULL: none */
    const char *modes;              /* as chat_wire.c's wire_modes writes them; NULL: none */
    const char *const *invited;     /* nicks (casefolded) invited from any node */
    unsigned ninvited;
};
typedef void chat_names_fn(struct chat_client *cl, const char *chan,
                           const struct chat_netchan *nc, void *arg);
int chat_cluster_names(struct chat_client *cl, const char *chan, chat_names_fn *then, void *arg);
/* On cl's owner: what the network knows of nicks (held by clients of
 * other nodes: their claims' info). 1: no network; 0: asked, cl's input
 * waits until then(cl, who, n, arg) runs on its owner, who[i].found for
 * each nick held, who NULL if the network did not answer; -1: the
 * network is unreachable now. If cl has gone by then, then(NULL, NULL,
 * 0, arg) runs (to let arg go). */
#define CHAT_LOOKUP_MAX 64 /* as many as the bus takes (MX_NET_LOOKUP_MAX) */
struct chat_who {
    bool found;
    char nick[CHAT_NICKLEN + 1], user[CHAT_USERLEN + 1], host[64];
    char real[CHAT_REALLEN + 1], node[64];
};
typedef void chat_looked_up_fn(struct chat_client *cl, const struct chat_who *who, unsigned n,
                               void *arg);
int chat_cluster_lookup(struct chat_client *cl, const char *const *nicks, unsigned n,
                        chat_looked_up_fn *then, void *arg);
/* On cl's owner: the network's channels, at most max. 1: no network; 0:
 * asked, cl's input waits until then(cl, c, n, arg) runs on its owner (c
 * NULL if the network did not answer); -1: the network is unreachable
 * now. If cl has gone by then, then(NULL, NULL, 0, arg) runs. */
struct chat_netlist {
    char name[CHAT_CHANLEN + 1];
    unsigned long users;            /* on every node */
    bool secret;                    /* +s */
    const char *topic;              /* "" for none */
};
typedef void chat_listed_fn(struct chat_client *cl, const struct chat_netlist *c, unsigned n,
                            void *arg);
int chat_cluster_channels(struct chat_client *cl, unsigned max, chat_listed_fn *then,
                          void *arg);
/* Not under mu: m (not taken) to nick on whichever node holds it; 401
 * to cl later if none does (and !quiet). invite: m is an INVITE to that
 * channel, kept in the network's copy once delivered (NULL: not one).
 * false: no network (no node was asked). */
bool chat_cluster_to_nick(struct chat_client *cl, const char *nick, struct chat_msg *m,
                          bool quiet, const char *invite);

#endif
