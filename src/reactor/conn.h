/* conn.h - the connection as the core sees it (private to src/).
 *
 * Life: created by its worker from an inbox message, attached to the
 * backend, then either closed gracefully (stop reading, flush, close) or
 * aborted (close now). Closing detaches the socket and closes the fd at
 * once; the protocol's on_close runs at the end of the loop turn (never
 * inside a call the protocol made), and the struct is freed after that,
 * once the backend has let go of it (mx__conn_release unlinks the slot,
 * so late events for the old generation are dropped).
 */
#ifndef MUXD_REACTOR_CONN_H
#define MUXD_REACTOR_CONN_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/buf.h"
#include "io/outq.h"
#include "reactor/worker.h"

enum {
    MX_C_RECV_ON = 1u << 0,      /* the backend is receiving for us */
    MX_C_PAUSED_USER = 1u << 1,  /* mx_conn_pause */
    MX_C_PAUSED_HW = 1u << 2,    /* output above high water */
    MX_C_EOF = 1u << 3,          /* peer shut down its side */
    MX_C_CLOSING = 1u << 4,      /* close once the queue is flushed */
    MX_C_DEAD = 1u << 5,         /* closed; freed once the backend lets go */
    MX_C_DIRTY = 1u << 6,        /* on the worker's flush list */
    MX_C_REOFFER = 1u << 7,      /* offer kept input again at the flush */
    MX_C_MOVING = 1u << 8,       /* suspended: moving to another worker */
    MX_C_QUIETING = 1u << 9,     /* suspended with operations in flight */
    MX_C_HANDSHAKE = 1u << 10,   /* TLS: handshaking, the protocol waits */
    MX_C_OPENED = 1u << 11,      /* the protocol has heard of it (on_open) */
    /* Input goes to a preamble (a PROXY header, conn_proxy.c) first: the
     * protocol has not been opened, so no callback of it may run. */
    MX_C_PREAMBLE = 1u << 12,
    /* TLS records are the kernel's (conn_tls.c): the socket carries
     * plaintext for us, c->tls is gone. */
    MX_C_KTLS = 1u << 13,
    /* TLS holds back input while the pool has the SSL: not receiving. */
    MX_C_HELD = 1u << 14,
    /* fanout_delay (conn_delay.c): the queue goes out at this turn's end
     * (a reply, a deadline passed, a move); its deadline is armed. */
    MX_C_PROMPT = 1u << 15,
    MX_C_DELAYED = 1u << 16,
};

struct mx_listener;
struct mx_job;
struct mx_conn_timer;
struct mx__tls_conn;
struct mx__ws_conn;
struct mx__conn_gap;

/* Every idle connection pays for this struct, so it is kept to 200 bytes:
 * glibc's 208-byte chunk (the RSS per idle connection, docs/benchmarks.md).
 * What an echo touches sits in the first two cache lines; what only some
 * connections use (TLS, WebSocket, offload, timers, drop_oldest's note)
 * is a pointer, allocated when first needed. */
struct mx_conn {
    struct mx_worker *w;
    const struct mx_listener *ls;
    void *data;                   /* the protocol's */
    int fd;
    uint32_t slot;
    uint32_t gen;
    uint32_t flags;
    struct mx_buf in;             /* unfinished frame only */
    struct mx_outq out;
    union {
        struct {                  /* open: the worker's LRU, oldest first */
            struct mx_conn *idle_prev, *idle_next;
        };
        struct {                  /* closed: off the LRU for good */
            struct mx_conn *next_closed;  /* on_close still owed */
            struct mx_conn *next_dead;    /* the backend let go: free it */
        };
    };
    struct mx_conn *next_dirty;
    void *backend_ctx;            /* the backend's, e.g. an in-flight send */
    uint32_t backend_state;       /* the backend's bits (e.g. epoll mask) */
    uint32_t last_active;         /* the worker's now_ms, truncated: only
                                     differences under 49 days are read */
    struct mx__tls_conn *tls;     /* NULL: plain (conn_tls.c) */
    struct mx__ws_conn *ws;       /* NULL: no WebSocket (conn_ws.c) */
    struct mx_job *jobs;          /* offload FIFO; the head is in the pool */
    struct mx_conn_timer *timer;  /* mx_conn_timer, allocated on first use */
    struct mx__conn_gap *gap;     /* drop_oldest's note (conn_overflow.c) */
    uint32_t admit_ticket;        /* its address's count (admit_ip.h), 0: none */
    struct sockaddr_in6 peer;     /* big enough for v4 and v6 */
};
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct mx_conn) <= 200, "an idle connection's struct grew past 200 bytes");
#endif

/* The owner-thread check of every connection call (see README.md). */
#ifdef MX_ASSERT_OWNER
#define MX_OWNER_ASSERT(c) \
    do { if (!pthread_equal(pthread_self(), (c)->w->tid)) mx__owner_violation(__func__); } while (0)
#else
#define MX_OWNER_ASSERT(c) ((void)0)
#endif
_Noreturn void mx__owner_violation(const char *fn);

/* Worker side. */
/* ticket: what the acceptor took under the address's limit (0: none);
 * released when the connection goes. */
void mx__conn_create(struct mx_worker *w, int fd, const struct mx_listener *ls, uint32_t ticket);
void mx__conn_abort(struct mx_conn *c, const char *reason);
void mx__conn_flush(struct mx_conn *c);
void mx__conn_free(struct mx_conn *c);
/* Past output_max on a drop_oldest listener: whole messages not yet begun
 * go, oldest first, with the protocol's note in their place. False when
 * none could go (the connection must be cut). conn_overflow.c. */
bool mx__conn_drop_oldest(struct mx_conn *c, size_t max);
void mx__conn_gap_free(struct mx_conn *c);
void mx__conn_timer_free(struct mx_conn *c);
/* mx_conn_timer without the owner's checks, for the core's own use. */
int mx__conn_timer_arm(struct mx_conn *c, unsigned ms,
                       void (*fn)(struct mx_conn *, void *), void *arg);
/* A move: the armed timer's deadline (0: none), off the old worker's
 * heap; then onto the new one's. */
uint64_t mx__conn_timer_take(struct mx_conn *c);
/* fanout_delay's deadline: a second timer in the struct of c's timer, so
 * a connection that never waits pays nothing for it. NULL: no memory. */
struct mx_timer *mx__conn_delay_timer(struct mx_conn *c, mx_timer_fn *fn);
int mx__conn_timer_put(struct mx_conn *c, uint64_t when);
/* The backend holds no operation on a closed c any more (see detach). */
void mx__conn_release(struct mx_conn *c);

/* The deferred half of a close: offload jobs not started get done(NULL),
 * then on_close. Run by the worker at the end of the turn. */
void mx__conn_notify_closed(struct mx_conn *c);
/* Closes after an EOF once nothing is held back (see conn.c). */
void mx__conn_finish_eof(struct mx_conn *c);

/* The protocol hears of c (on_open), once what sits below it (a TLS
 * handshake) is done. */
void mx__conn_open(struct mx_conn *c);
/* Plaintext from TLS (or the socket) for what sits above: the WebSocket
 * layer, else the protocol. Whether c is still open. */
bool mx__conn_plain(struct mx_conn *c, const char *p, size_t n);
/* Bytes for the protocol itself, past every layer. */
bool mx__conn_proto_in(struct mx_conn *c, const char *p, size_t n);
/* Bytes from above TLS (a WebSocket frame) for what sits below: TLS,
 * else the queue. */
int mx__conn_below(struct mx_conn *c, const void *p, size_t n);
/* Bytes for the wire, past any layer, into the queue (limits apply). */
int mx__conn_queue_raw(struct mx_conn *c, const void *p, size_t n);
/* Receiving on or off as the flags now say; on the flush list. */
void mx__conn_update_recv(struct mx_conn *c);
void mx__conn_mark_dirty(struct mx_conn *c);

/* fanout_delay (conn_delay.c). At the flush of a queue: whether it
 * waits (its deadline armed) rather than go out now. */
bool mx__conn_delay(struct mx_conn *c);
/* Its deadline disarmed (a cut, a move, an emptied queue). */
void mx__conn_undelay(struct mx_conn *c);
/* The deadline that output held at now waits for: c's next flush slot,
 * in (now, now + ms]. ms > 0. */
uint64_t mx__conn_delay_due(const struct mx_conn *c, uint64_t now, unsigned ms);
/* c's own event runs (its input, its opening, its offload result): what
 * is queued to c meanwhile is a reply and goes out at the turn's end.
 * Returns the one it stands in for, to be put back with self_end. */
static inline struct mx_conn *mx__conn_self_begin(struct mx_conn *c)
{
    struct mx_conn *was = c->w->self;
    c->w->self = c;
    return was;
}
static inline void mx__conn_self_end(struct mx_worker *w, struct mx_conn *was)
{
    w->self = was;
}

/* Moving to another worker (conn_move.c), each step on the thread that
 * owns c at the time: suspend it (the backend stops, output keeps
 * queueing), let it leave the old worker's tables, then have it arrive
 * in the new one's. Leaving and arriving happen while every worker is
 * paused between turns (resize.c). */
void mx__conn_suspend(struct mx_conn *c);
struct mx__move {
    struct mx_conn *c;
    uint64_t old_id;
    uint64_t timer_when;          /* its timer's deadline, 0 if none */
};
void mx__conn_leave(struct mx_conn *c, struct mx__move *m);
void mx__conn_arrive(struct mx_worker *w, const struct mx__move *m);

/* Upcalls from the backend (backend.h). Those returning bool return
 * whether c is still open: false once the report closed it. */
bool mx__conn_recv(struct mx_conn *c, const char *p, size_t n);
bool mx__conn_eof(struct mx_conn *c);
/* The peer hung up (or the socket is in error) while not receiving. */
void mx__conn_hangup(struct mx_conn *c);
void mx__conn_fail(struct mx_conn *c, int err);
/* A suspended c has nothing in flight any more. */
void mx__conn_quiet(struct mx_conn *c);
/* n bytes of the queue were written (and consumed from it). */
bool mx__conn_sent(struct mx_conn *c, size_t n);

static inline uint64_t mx__conn_tag(const struct mx_conn *c)
{
    return mx__tag_make(c->gen, c->slot);
}

#endif
