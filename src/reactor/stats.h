/* stats.h - a worker's counters behind muxd/stats.h (private to src/).
 *
 * One writer per counter (the owning worker, or the acceptor for its own),
 * any number of readers (the metrics endpoint on another worker). So a
 * count is a relaxed load and store, not an atomic read-modify-write: on
 * x86 that is a plain add to memory with no lock prefix, and the atomics
 * tell TSan and the compiler that readers on other threads are expected.
 * Hot paths touch these with one line each.
 */
#ifndef MUXD_REACTOR_STATS_H
#define MUXD_REACTOR_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "muxd/stats.h"

typedef atomic_uint_fast64_t mx__counter;

struct mx__wstats {
    mx__counter conns_opened, conns_closed, conns_moved_in, conns_moved_out;
    mx__counter bytes_in, receives, bytes_out, sends;
    mx__counter bytes_queued, bytes_dropped;
    mx__counter paused_high_water, cut_output_max, offload_rejected;
    mx__counter dropped_messages;
    mx__counter uring_enobufs, uring_cq_overflows, uring_bundles;
    mx__counter turns, turn_ns_sum;
    mx__counter turn_buckets[MX_STATS_TURN_BUCKETS];
    mx__counter job_ns_sum;
    mx__counter job_buckets[MX_STATS_JOB_BUCKETS];
    mx__counter proxy_accepted, proxy_refused[MX_PROXY_REFUSALS];
    mx__counter tls_kernel;
    mx__counter mem_trims;
    mx__counter fanout_held_flushes, fanout_early_flushes;
    /* Carried addresses judged here (conn_proxy.c): mx_server_stats adds
     * them to the acceptor's. */
    mx__counter rejected_per_ip_limit, rejected_per_ip_rate, per_ip_untracked;
};

/* Single writer only: the thread that owns the counter. */
static inline void mx__count(mx__counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t mx__counter_get(const mx__counter *c)
{
    return atomic_load_explicit((mx__counter *)c, memory_order_relaxed);
}

/* A loop turn that worked for ns nanoseconds. */
void mx__stats_turn(struct mx__wstats *st, uint64_t ns);

/* An offload job came back after running ns nanoseconds (counted by the
 * owner worker, so the pool threads write nothing here). */
void mx__stats_job(struct mx__wstats *st, uint64_t ns);

/* A snapshot for muxd/stats.h. */
void mx__stats_read(const struct mx__wstats *st, struct mx_worker_stats *out);

#endif
