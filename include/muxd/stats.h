/* muxd/stats.h - the server's counters, for a metrics endpoint.
 *
 * Each worker keeps its own counters and is their only writer, so counting
 * costs a plain store on the hot path; any thread may read them at any
 * time without locks. A snapshot is not atomic as a whole: two counters
 * read together may be a few events apart. Counters only grow (the
 * gauges named so excepted) and start at 0 when the server starts.
 */
#ifndef MUXD_STATS_H
#define MUXD_STATS_H

#include <stddef.h>
#include <stdint.h>

struct mx_server;

/* Upper bounds (inclusive, in microseconds) of the loop turn duration
 * histogram's buckets; one more bucket holds everything above the last. */
#define MX_STATS_TURN_BOUNDS_US { 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000 }
#define MX_STATS_TURN_BUCKETS 12
/* The same for offload jobs' run time on a pool thread (microseconds). */
#define MX_STATS_JOB_BOUNDS_US { 100, 1000, 10000, 100000, 1000000, 10000000 }
#define MX_STATS_JOB_BUCKETS 7

/* Why a PROXY listener closed a connection before its header was whole;
 * the names are muxd_proxy_headers_refused_total's reason labels. */
enum mx_proxy_refusal {
    MX_PROXY_REFUSED_UNTRUSTED,   /* source not in proxy_from */
    MX_PROXY_REFUSED_NOT_PROXY,   /* the first bytes start no PROXY header */
    MX_PROXY_REFUSED_VERSION,     /* a version the listener does not take */
    MX_PROXY_REFUSED_MALFORMED,   /* a header, but not as the spec has it */
    MX_PROXY_REFUSED_TOO_LONG,    /* longer than any header we take */
    MX_PROXY_REFUSED_TRUNCATED,   /* EOF in the middle of it */
    MX_PROXY_REFUSED_TIMEOUT,     /* not whole within proxy_timeout */
    MX_PROXY_REFUSALS
};
#define MX_PROXY_REFUSAL_NAMES { "untrusted", "not_proxy", "version", "malformed", \
                                 "too_long", "truncated", "timeout" }

struct mx_worker_stats {
    uint64_t conns_opened;        /* connections this worker took on */
    uint64_t conns_closed;        /* ... and closed */
    uint64_t conns_moved_in;      /* connections moved here from a retired worker */
    uint64_t conns_moved_out;     /* ... and moved away (open = opened + moved_in
                                     - closed - moved_out) */
    uint64_t bytes_in;            /* received from peers */
    uint64_t receives;            /* receive completions that carried bytes */
    uint64_t bytes_out;           /* written to peers */
    uint64_t sends;               /* write completions that moved bytes */
    uint64_t bytes_queued;        /* put in output queues by the protocol */
    uint64_t bytes_dropped;       /* left in a queue when its connection closed */
    uint64_t paused_high_water;   /* times a peer stopped being read */
    uint64_t cut_output_max;      /* connections cut over output_max */
    uint64_t dropped_messages;    /* messages dropped past output_max (drop_oldest) */
    uint64_t offload_rejected;    /* mx_offload calls refused as busy */
    uint64_t uring_enobufs;       /* io_uring: receives that found no buffer */
    uint64_t uring_cq_overflows;  /* io_uring: turns that saw the CQ overflowed */
    uint64_t uring_bundles;       /* io_uring: receives that filled several buffers */
    uint64_t turns;               /* loop turns (wake-ups) */
    uint64_t turn_ns_sum;         /* time spent working in them (not waiting) */
    uint64_t turn_buckets[MX_STATS_TURN_BUCKETS]; /* not cumulative */
    uint64_t job_ns_sum;          /* offload jobs of this worker's connections:
                                     time run on a pool thread */
    uint64_t job_buckets[MX_STATS_JOB_BUCKETS]; /* not cumulative */
    uint64_t proxy_accepted;      /* PROXY headers taken whole */
    uint64_t proxy_refused[MX_PROXY_REFUSALS]; /* connections closed for theirs */
    uint64_t tls_kernel;          /* TLS connections whose records the kernel
                                     took over after the handshake */
    uint64_t mem_trims;           /* free memory handed back to the system
                                     after a burst of closes */
    uint64_t fanout_held_flushes; /* fanout_delay: waiting queues sent at
                                     their deadline */
    uint64_t fanout_early_flushes; /* ... and before it (a reply, a close,
                                      a segment's worth, a move) */
};

struct mx_server_stats {
    unsigned workers;             /* running now */
    unsigned workers_seen;        /* ever run: mx_server_worker_stats takes
                                     0 .. workers_seen - 1 (a retired worker
                                     keeps its counters) */
    uint64_t conns_open;          /* gauge: admitted and not yet closed */
    uint64_t rejected_max_conns;  /* refused: max_connections reached */
    uint64_t rejected_emfile;     /* shed: out of descriptors (EMFILE ...) */
    uint64_t offload_outstanding; /* gauge: jobs accepted, not yet done */
    uint64_t offload_running;     /* gauge: jobs on a pool thread now */
    /* The per_ip ones count the acceptor's and, on PROXY listeners, the
     * workers' (the address a header carries is judged there). */
    uint64_t rejected_per_ip_limit; /* refused: the address held
                                       max_connections_per_ip */
    uint64_t rejected_per_ip_rate;  /* refused: the address connected faster
                                       than connect_rate_per_ip */
    uint64_t per_ip_untracked;    /* admitted without per-address limits:
                                     the address table was full */
};

/* The server-wide counters. Any thread, from mx_server_start's return
 * until mx_server_free. 0, or -EAGAIN before the server has started. */
int mx_server_stats(const struct mx_server *s, struct mx_server_stats *out);

/* Worker `worker`'s counters, same rules. -ENOENT for no such worker. */
int mx_server_worker_stats(const struct mx_server *s, unsigned worker,
                           struct mx_worker_stats *out);

/* ---- a protocol's own metrics -------------------------------------------
 *
 * A protocol with numbers of its own (chat: users, channels, deliveries)
 * reports them through struct mx_proto's metrics callback; a metrics
 * endpoint walks the listeners (mx_server_listener) and calls it once per
 * distinct (proto, proto_data), handing it an emit function of its own.
 * The admin listener (`[admin] listen`) labels each sample with the
 * listener it was reached through, as listener="NAME".
 */
enum mx_metric_type { MX_METRIC_COUNTER, MX_METRIC_GAUGE };

struct mx_metric {
    const char *name;          /* [a-zA-Z_:][a-zA-Z0-9_:]*, the protocol's own
                                  prefix (muxd_chat_...); counters end in _total */
    const char *help;          /* one line */
    enum mx_metric_type type;
    unsigned workers;          /* 0: one value, values[0], no worker label;
                                  else values[0 .. workers-1], labelled worker="i" */
    const uint64_t *values;
};

/* What the metrics callback reports each metric to: sink is the caller's,
 * m and everything it points to only need to live during the call. */
typedef void mx_metric_emit_fn(void *sink, const struct mx_metric *m);

struct mx_listener_info {
    const char *name;          /* as given to mx_server_listen */
    const char *addr;          /* as bound, with the real port */
    const struct mx_proto *proto;
    void *proto_data;
    int open;                  /* 1 until mx_server_unlisten closes it */
};

/* Listener number i of every listener s has had, closed ones included
 * (open says which), in the order they were added. The strings live as long as s. Any thread,
 * also while the controlling thread adds listeners. 0, or -ENOENT past
 * the last. */
int mx_server_listener(const struct mx_server *s, unsigned i, struct mx_listener_info *out);

/* Faults injected so far, by site: the test facility of MUXD_FAULTS
 * (docs/operations.md#injected-faults). Fills up to max names ("alloc")
 * and counts; returns how many sites there are. Any thread. */
size_t mx_fault_counts(const char **names, uint64_t *counts, size_t max);

#endif
