/* chat.h - the chat service: an IRC server core (docs/chat-protocol.md)
 * whose clients and channels span every worker.
 *
 * One struct mx_chat per chat listener (its proto_data): each listener is
 * a network of its own, with its own nicks and channels.
 */
#ifndef MUXD_PROTO_CHAT_H
#define MUXD_PROTO_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "muxd/proto.h"

struct mx_server;

/* One [oper NAME]: OPER name password works from a matching address. */
struct mx_chat_oper {
    const char *name;
    const char *hash;            /* crypt(3): $6$ or $y$ */
    const char *hosts;           /* nick!user@host masks, comma-separated */
    bool die;                    /* may use DIE (when the daemon offers it) */
};

struct kline_list;
struct kline_stamp;

struct mx_chat_opts {
    const char *server_name;
    const char *motd;            /* the message of the day, or NULL (422) */
    const char *password;        /* PASS wanted when not NULL or "" */
    unsigned register_timeout_ms;
    unsigned ping_interval_ms;   /* PING a client silent this long */
    unsigned ping_timeout_ms;    /* then close it if it stays silent */
    unsigned flood_rate;         /* lines per second; 0 = no flood control */
    unsigned flood_burst;        /* lines at once before the rate applies */
    unsigned max_channels;       /* per client */
    size_t output_max;           /* the server's: SendQ exceeded past it */
    const struct mx_chat_oper *opers; /* nopers of them; copied */
    unsigned nopers;
    /* Clients connecting while this is on are shown by a keyed hash of
     * their address (cloak_secret, not empty then) instead of it. */
    bool cloak_hosts;
    const char *cloak_secret;
    const char *config_file;     /* named in REHASH's 382; NULL: "*" */
    /* UTF8ONLY (IRCv3): advertised in 005, and text that is not UTF-8 is
     * refused (FAIL ... INVALID_UTF8) rather than relayed. */
    bool utf8_only;
    /* REHASH: runs on a worker, so it may only ask the controlling thread
     * to reload (a signal), never reload itself. NULL: REHASH is refused. */
    void (*rehash)(void);
    /* DIE, for operators whose [oper NAME] allows it: like rehash, only
     * asks the controlling thread (SIGTERM's graceful stop). NULL: DIE
     * is refused. */
    void (*die)(void);
    /* K-lines (kline.h): the file that keeps them (NULL: memory only),
     * at most max_klines, and the list read from it with the file's
     * stamp then (NULL: none); the list is copied. */
    const char *kline_file;
    unsigned max_klines;
    const struct kline_list *klines;
    const struct kline_stamp *kline_stamp;
};

struct mx_chat;

/* For the chat listeners of srv (not started yet). The strings are
 * copied. NULL on ENOMEM. */
struct mx_chat *mx_chat_new(const struct mx_chat_opts *o, struct mx_server *srv);
/* After the server that used it is freed. NULL is allowed. */
void mx_chat_free(struct mx_chat *chat);

/* A reload: o's settings replace the running ones for every client, new
 * and connected (flood and ping, register timeout, MOTD, password, server
 * name, max_channels, SendQ from output_max, the K-lines read from the
 * file unless it changed since: chat_kline.c); o is copied. Each worker
 * switches between two of its turns, and the call returns once all have.
 * For the thread that controls the server. 0, or -ENOMEM (some workers
 * may keep the old settings). */
int mx_chat_reload(struct mx_chat *chat, const struct mx_chat_opts *o);

/* Chat across nodes (docs/cluster.md): how this network reaches the
 * others. The daemon builds the bus (src/cluster/) and hands it over as
 * these functions, so the chat core never sees Redis. */
struct mx_metric;
struct mx_chat_bus {
    void *arg;
    /* Any thread: payload to every node subscribed to subject. 0, or <0
     * when it was dropped (Redis lost, queue full: the bus counts it). */
    int (*publish)(void *arg, const char *subject, const void *payload, size_t len);
    /* Any thread: this node hears subject, or no longer does. */
    void (*subscribe)(void *arg, const char *subject, bool on);
    /* Any thread: client id claims nick (casefolded) across the network;
     * done(ctx, r) runs once, later, on the bus's thread: r 1 claimed, 0
     * held by another client, -1 the network is unreachable. 0, or <0:
     * not asked (unreachable now), done never runs. info: what lookup
     * gives others while the claim holds. */
    int (*claim)(void *arg, uint64_t id, const char *nick, const char *info,
                 void (*done)(void *ctx, int r), void *ctx);
    /* Any thread: client id lets go of nick, if it holds it. */
    void (*release)(void *arg, uint64_t id, const char *nick);
    /* Any thread: payload to the node whose client holds nick; done as
     * claim's, r 0 when no client does. invite (a channel, casefolded, or
     * NULL): payload is an INVITE, kept in that channel's state with the
     * delivery. */
    int (*to_nick)(void *arg, const char *nick, const void *payload, size_t len,
                   const char *invite, void (*done)(void *ctx, int r), void *ctx);
    /* Any thread: the info claimed with each of n (at most 64) nicks
     * (casefolded): done(ctx, v, lens, n) once, later, on the bus's
     * thread, v[i] NULL for a nick nobody holds; v NULL when the network
     * is unreachable. 0 or <0 as claim. */
    int (*lookup)(void *arg, const char *const *nicks, unsigned n,
                  void (*done)(void *ctx, const char *const *v, const size_t *lens,
                               unsigned n), void *ctx);
    /* Any thread: the client of uid is on chan (casefolded) as who
     * ("nick!user@host"), or left it (who NULL); modes (or NULL): the
     * channel's state, when this JOIN creates it on the network. */
    void (*member)(void *arg, const char *chan, uint64_t uid, const char *who,
                   const char *modes);
    /* Any thread: chan's state field ("*": the topic, "BY\nAT\nTEXT"; "+":
     * the modes, chat_wire.c) is value, or none (NULL). */
    void (*state)(void *arg, const char *chan, const char *field, const char *value);
    /* Any thread: chan's members on every node, done as lookup's, each
     * v[i] "NODE UID\nnick!user@host", and its state fields as "*\n..."
     * and "+\n...". */
    int (*members)(void *arg, const char *chan,
                   void (*done)(void *ctx, const char *const *v, const size_t *lens,
                                unsigned n), void *ctx);
    /* Any thread: every channel of the network with members (at most
     * max), done as lookup's, each v[i] "NAME\nUSERS\nFLAGS\nTOPIC": its
     * name, members on every node, mode letters, topic. */
    int (*channels)(void *arg, unsigned max,
                    void (*done)(void *ctx, const char *const *v, const size_t *lens,
                                 unsigned n), void *ctx);
    /* Optional: the bus's numbers, for the chat's /metrics. */
    void (*metrics)(void *arg, void (*emit)(void *sink, const struct mx_metric *m), void *sink);
};
/* Before the server starts: chat joins the network of bus, as node (the
 * name it signs what it publishes with), every subject starting with
 * prefix; bus NULL: a single node again. The strings are copied. 0 or
 * -ENOMEM (a single node then). */
int mx_chat_set_bus(struct mx_chat *chat, const struct mx_chat_bus *bus, const char *node,
                    const char *prefix);
/* The bus set, or NULL. */
const struct mx_chat_bus *mx_chat_get_bus(const struct mx_chat *chat);
/* The bus's thread: what another node published on a subject of ours. */
void mx_chat_bus_message(struct mx_chat *chat, const char *subject, size_t slen,
                         const char *payload, size_t len);
/* The bus's thread: Redis is reached (again); every channel with members
 * here subscribes. */
void mx_chat_bus_up(struct mx_chat *chat);
/* The bus's thread: the other nodes took this one for dead and forgot
 * its users: as mx_chat_bus_up, and every member here JOINs its
 * channels again for them. */
void mx_chat_bus_rejoin(struct mx_chat *chat);

extern const struct mx_proto mx_chat_proto;

#endif
