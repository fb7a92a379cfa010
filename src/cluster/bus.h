/* bus.h - the cluster bus: one node's link to Redis, for publish/subscribe
 * and a heartbeat key, on a thread of its own.
 *
 * Why a thread, not the workers' loops: a worker runs on epoll, io_uring
 * or poll, and a Redis connection in each would put Redis into the
 * backend seam three times; a slow or stopped Redis, or a large reply to
 * parse, must never stall a worker's event detection; and one subscriber
 * connection per node (not per worker) means Redis sends each message to
 * a node once. The cost is one inbox hop per message each way.
 *
 * Why hiredis's reply parser but not its async API: hiredis 0.14 (Debian
 * 12) has no timeouts for async commands, and its subscribe bookkeeping
 * asserts on an UNSUBSCRIBE followed at once by a SUBSCRIBE of the same
 * channel (hiredis issues 581, 1039), which a channel emptied and joined
 * again does. The bus does its own I/O and timing, and feeds hiredis's
 * redisReader, which handles partial and nested replies.
 *
 * Any thread may publish or (un)subscribe; messages and state changes are
 * handed to the callbacks on the bus thread.
 */
#ifndef MUXD_CLUSTER_BUS_H
#define MUXD_CLUSTER_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mx_bus_opts {
    const char *host;               /* Redis */
    unsigned port;
    const char *user, *password;    /* "" or NULL: no AUTH (user: default) */
    const char *node;               /* this node: its heartbeat key */
    const char *prefix;             /* of every key: "muxd:NETWORK:" */
    unsigned heartbeat_ms;          /* the key is refreshed this often */
    unsigned timeout_ms;            /* unanswered this long: Redis is lost */
    size_t queue_max;               /* bytes waiting for Redis at most */
    /* On the bus thread. A message published on a subscribed subject. */
    void (*on_message)(void *arg, const char *subject, size_t slen, const char *payload,
                       size_t len);
    /* Optional, on the bus thread: Redis reached, before any other
     * thread's request can reach it; what it asks for goes first. */
    void (*on_ready)(void *arg);
    /* On the bus thread: Redis reached (true, after on_ready, once other
     * threads may ask too) or lost (false). On true, every earlier
     * subscription is gone: subscribe again from here. */
    void (*on_state)(void *arg, bool up);
    /* Optional, on the bus thread: each heartbeat while up, after the
     * heartbeat key is written (for work every node does now and then). */
    void (*on_beat)(void *arg);
    void *arg;
};

struct mx_bus;

/* A bus, not started: NULL with errno set. The options' strings are
 * copied. Apart from start, so that what the callbacks reach can point
 * to the bus before any callback runs. */
struct mx_bus *mx_bus_new(const struct mx_bus_opts *o);
/* Starts the thread, which connects (and reconnects, with back-off).
 * 0 or -errno. */
int mx_bus_start(struct mx_bus *b);
/* Joins the thread if started (no callback runs after), frees b. NULL is
 * fine. */
void mx_bus_free(struct mx_bus *b);

/* Any thread: publishes payload on subject, in order with this thread's
 * earlier calls. 0; -ENOTCONN while Redis is lost (the bus thread's own
 * calls from on_ready are taken), -ENOBUFS past
 * queue_max (both counted as dropped). */
int mx_bus_publish(struct mx_bus *b, const char *subject, const void *payload, size_t len);
/* Any thread: (un)subscribe subject, ordered as publish. While Redis is
 * lost this does nothing (on_state(true) is the time to subscribe). */
void mx_bus_subscribe(struct mx_bus *b, const char *subject, bool on);

/* Any thread: a command of argc (at most MX_BUS_MAX_ARGS) arguments on
 * the publisher connection, ordered with publish. done(arg, reply) runs
 * once on the bus thread, with NULL when Redis was lost before the reply.
 * 0; -ENOTCONN while Redis is lost, -ENOBUFS past queue_max, -ENOMEM:
 * done never runs then. */
#define MX_BUS_MAX_ARGS 12
/* The longest wait between two attempts to reach Redis. */
#define MX_BUS_BACKOFF_MAX_MS 2000
struct redisReply;
typedef void mx_bus_done_fn(void *arg, const struct redisReply *reply);
int mx_bus_call(struct mx_bus *b, int argc, const char *const *argv, const size_t *lens,
                mx_bus_done_fn *done, void *arg);

struct mx_bus_stats {
    bool up;
    uint64_t transitions;           /* up or down, each */
    uint64_t published, received, dropped;
};
void mx_bus_stats(const struct mx_bus *b, struct mx_bus_stats *s);

#endif
