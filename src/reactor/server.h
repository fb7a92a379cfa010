/* server.h - the server object behind include/muxd/server.h (private). */
#ifndef MUXD_REACTOR_SERVER_H
#define MUXD_REACTOR_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "io/sock.h"
#include "muxd/server.h"
#include "reactor/acceptor.h"
#include "reactor/admit_ip.h"
#include "reactor/conn_proxy.h"
#include "reactor/ip_burst.h"
#include "reactor/offload.h"
#include "reactor/worker.h"
#include "reactor/ws.h"

#define MX_SERVER_MAX_LISTENERS MX_MAX_LISTENERS_PER_SERVER

/* A slot is used once: connections point to their listener (protocol and
 * data) for life, so a closed listener's slot is never given to another. */
struct mx_listener {
    char name[64];
    char addr[MX_ADDRSTRLEN];     /* as bound, with the real port */
    int fd;
    const struct mx_proto *proto;
    void *proto_data;
    struct mx_tls *tls;           /* NULL: plain */
    atomic_bool want;             /* set by the controlling thread: serve it */
    /* Per-address limits of this listener, 0 = the server's; live. */
    atomic_uint max_per_ip, rate_per_ip;
    atomic_uint fanout_delay_ms;  /* live (conn_delay.c) */
    bool watched;                 /* the acceptor's: it accepts on fd */
    /* The transport options. */
    struct mx__proxy_cfg proxy;   /* PROXY header (conn_proxy.c) */
    enum mx_overflow overflow;    /* past output_max (conn_overflow.c) */
    struct mx__ws_cfg ws;         /* WebSocket (conn_ws.c) */
};

struct mx_server {
    struct mx_server_opts opts;
    const struct mx_backend_ops *be;
    struct mx_listener listeners[MX_SERVER_MAX_LISTENERS];
    /* Slots used so far (none is reused). Atomic: a slot is complete
     * before the count that covers it is stored, so mx_server_listener may
     * read slots from any thread while the controlling thread adds one. */
    atomic_uint nlisteners;
    struct mx_worker *workers;    /* [MX_MAX_WORKERS], set up when first run */
    atomic_uint nworkers;         /* running: the acceptor's round, posts' range */
    atomic_uint nseen;            /* ever set up: their counters stay readable */
    struct mx_acceptor acceptor;
    struct mx_offload offload;
    atomic_size_t nconns;         /* admitted and not yet closed */
    atomic_size_t max_conns;      /* opts.max_connections, live */
    atomic_uint max_per_ip;       /* opts.max_connections_per_ip, live */
    atomic_uint rate_per_ip;      /* opts.connect_rate_per_ip, live */
    struct mx__admit_ip perip;    /* counts per address (admit_ip.h) */
    struct mx__ip_bursts ip_bursts; /* their refusals' log lines */
    bool started, stopped;
};

/* An admitted connection has gone (closed, or dropped before its worker
 * built it): its place under max_connections and under its address's
 * limit (ticket from the acceptor, 0 if not counted). Any thread. */
static inline void mx__server_conn_gone(struct mx_server *s, uint32_t ticket)
{
    atomic_fetch_sub(&s->nconns, 1);
    mx__admit_ip_release(&s->perip, ticket);
}

/* Listener ls's per-address limits now: its own, else the server's
 * (0 = none). Any thread. */
static inline void mx__listener_ip_limits(const struct mx_server *s, const struct mx_listener *ls,
                                          unsigned *max, unsigned *rate)
{
    *max = atomic_load_explicit(&ls->max_per_ip, memory_order_relaxed);
    *rate = atomic_load_explicit(&ls->rate_per_ip, memory_order_relaxed);
    if (!*max)
        *max = atomic_load_explicit(&s->max_per_ip, memory_order_relaxed);
    if (!*rate)
        *rate = atomic_load_explicit(&s->rate_per_ip, memory_order_relaxed);
}

#endif
