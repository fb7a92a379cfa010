/* bus_conn.h - one connection to Redis for the bus thread (bus.c): a
 * non-blocking socket, the commands waiting to be written, hiredis's
 * reply parser, and the count of replies still owed, which dates the
 * oldest unanswered probe. Not thread-safe: the bus thread's alone. */
#ifndef MUXD_CLUSTER_BUS_CONN_H
#define MUXD_CLUSTER_BUS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redisReader;
struct redisReply;

/* A command's reply, or NULL when the connection was lost first. */
typedef void bus_done_fn(void *arg, const struct redisReply *r);
struct bus_wait {
    bus_done_fn *fn;                /* NULL: nobody waits for this reply */
    void *arg;
};

struct bus_conn {
    const char *what;               /* "publisher" or "subscriber", for logs */
    int fd;                         /* -1: closed */
    bool connecting;                /* connect() in progress */
    struct redisReader *rd;
    char *out;                      /* RESP not yet written: out[off..len) */
    size_t off, len, cap;
    struct bus_wait *wait;          /* one per reply owed, oldest at head */
    size_t head, due, wcap;         /* due: replies owed */
    uint64_t probe_left;            /* replies until the probe's; 0: none out */
    uint64_t probe_ms;              /* when that probe went */
};

/* A reply (or, on a subscriber, a pushed message); returns true when it
 * answers a command (pushes do not). */
typedef bool bus_reply_fn(void *arg, struct bus_conn *c, struct redisReply *r);

void bconn_init(struct bus_conn *c, const char *what);
/* Starts connecting to host:port (resolved here, so it may block on DNS:
 * the bus thread's business). 0 or -errno. */
int bconn_open(struct bus_conn *c, const char *host, unsigned port);
/* Connected (after POLLOUT while connecting)? 0, or -errno. */
int bconn_finish(struct bus_conn *c);
void bconn_close(struct bus_conn *c);
void bconn_free(struct bus_conn *c);
/* Appends one command (argc bulk strings); a reply is owed, for fn (may
 * be NULL), which gets NULL if the connection closes first. 0 or
 * -ENOMEM (fn is then not called). */
int bconn_call(struct bus_conn *c, int argc, const char *const *argv, const size_t *lens,
               bus_done_fn *fn, void *arg);
static inline int bconn_cmd(struct bus_conn *c, int argc, const char *const *argv,
                            const size_t *lens)
{
    return bconn_call(c, argc, argv, lens, NULL, NULL);
}
/* A PING whose answer dates this connection's health (one at a time). */
int bconn_probe(struct bus_conn *c, uint64_t now_ms);
/* Has a probe gone unanswered for timeout_ms? */
bool bconn_late(const struct bus_conn *c, uint64_t now_ms, unsigned timeout_ms);
/* Writes what it can. 0, or -errno (the connection is lost). */
int bconn_flush(struct bus_conn *c);
bool bconn_wants_write(const struct bus_conn *c);
/* Reads and parses what arrived, fn for each reply. 0, -EPIPE when Redis
 * closed it, -EPROTO for bytes that are not RESP, or -errno. */
int bconn_read(struct bus_conn *c, bus_reply_fn *fn, void *arg);
static inline size_t bconn_queued(const struct bus_conn *c) { return c->len - c->off; }

#endif
