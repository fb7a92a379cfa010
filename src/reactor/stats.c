/* stats.c - the loop turn histogram and reading the counters
 * (muxd/stats.h), and the listener table for a metrics endpoint that asks
 * each protocol for its own numbers. */
#include <errno.h>

#include "reactor/server.h"
#include "reactor/stats.h"

static const uint64_t turn_bounds_us[MX_STATS_TURN_BUCKETS - 1] = MX_STATS_TURN_BOUNDS_US;
static const uint64_t job_bounds_us[MX_STATS_JOB_BUCKETS - 1] = MX_STATS_JOB_BOUNDS_US;

_Static_assert(sizeof job_bounds_us / sizeof job_bounds_us[0] == MX_STATS_JOB_BUCKETS - 1,
               "one bucket per bound, and one above the last");

static unsigned bucket_of(const uint64_t *bounds, unsigned n, uint64_t ns)
{
    uint64_t us = ns / 1000;
    unsigned b = 0;
    while (b < n - 1 && us > bounds[b])
        b++;
    return b;
}

_Static_assert(sizeof turn_bounds_us / sizeof turn_bounds_us[0] == MX_STATS_TURN_BUCKETS - 1,
               "one bucket per bound, and one above the last");

void mx__stats_turn(struct mx__wstats *st, uint64_t ns)
{
    mx__count(&st->turn_buckets[bucket_of(turn_bounds_us, MX_STATS_TURN_BUCKETS, ns)], 1);
    mx__count(&st->turns, 1);
    mx__count(&st->turn_ns_sum, ns);
}

void mx__stats_job(struct mx__wstats *st, uint64_t ns)
{
    mx__count(&st->job_buckets[bucket_of(job_bounds_us, MX_STATS_JOB_BUCKETS, ns)], 1);
    mx__count(&st->job_ns_sum, ns);
}

void mx__stats_read(const struct mx__wstats *st, struct mx_worker_stats *out)
{
    *out = (struct mx_worker_stats){
        /* closed before opened: open = opened - closed never goes below 0 */
        .conns_closed = mx__counter_get(&st->conns_closed),
        .conns_moved_out = mx__counter_get(&st->conns_moved_out),
        .conns_opened = mx__counter_get(&st->conns_opened),
        .conns_moved_in = mx__counter_get(&st->conns_moved_in),
        .bytes_in = mx__counter_get(&st->bytes_in),
        .receives = mx__counter_get(&st->receives),
        .bytes_out = mx__counter_get(&st->bytes_out),
        .sends = mx__counter_get(&st->sends),
        .bytes_dropped = mx__counter_get(&st->bytes_dropped),
        .bytes_queued = mx__counter_get(&st->bytes_queued),
        .paused_high_water = mx__counter_get(&st->paused_high_water),
        .cut_output_max = mx__counter_get(&st->cut_output_max),
        .dropped_messages = mx__counter_get(&st->dropped_messages),
        .offload_rejected = mx__counter_get(&st->offload_rejected),
        .uring_enobufs = mx__counter_get(&st->uring_enobufs),
        .uring_cq_overflows = mx__counter_get(&st->uring_cq_overflows),
        .uring_bundles = mx__counter_get(&st->uring_bundles),
        .turns = mx__counter_get(&st->turns),
        .turn_ns_sum = mx__counter_get(&st->turn_ns_sum),
    };
    for (unsigned i = 0; i < MX_STATS_TURN_BUCKETS; i++)
        out->turn_buckets[i] = mx__counter_get(&st->turn_buckets[i]);
    out->job_ns_sum = mx__counter_get(&st->job_ns_sum);
    for (unsigned i = 0; i < MX_STATS_JOB_BUCKETS; i++)
        out->job_buckets[i] = mx__counter_get(&st->job_buckets[i]);
    out->proxy_accepted = mx__counter_get(&st->proxy_accepted);
    out->tls_kernel = mx__counter_get(&st->tls_kernel);
    out->mem_trims = mx__counter_get(&st->mem_trims);
    out->fanout_held_flushes = mx__counter_get(&st->fanout_held_flushes);
    out->fanout_early_flushes = mx__counter_get(&st->fanout_early_flushes);
    for (unsigned i = 0; i < MX_PROXY_REFUSALS; i++)
        out->proxy_refused[i] = mx__counter_get(&st->proxy_refused[i]);
}

static bool running(const struct mx_server *s)
{
    return s->started && s->workers != NULL;
}

/* Per-address refusals of carried addresses happen on the workers: one
 * figure per reason all the same, wherever the address was judged. */
static void add_carried(const struct mx_server *s, struct mx_server_stats *out)
{
    for (unsigned i = 0; i < out->workers_seen; i++) {
        const struct mx__wstats *st = &s->workers[i].stats;
        out->rejected_per_ip_limit += mx__counter_get(&st->rejected_per_ip_limit);
        out->rejected_per_ip_rate += mx__counter_get(&st->rejected_per_ip_rate);
        out->per_ip_untracked += mx__counter_get(&st->per_ip_untracked);
    }
}

int mx_server_stats(const struct mx_server *s, struct mx_server_stats *out)
{
    if (!running(s))
        return -EAGAIN;
    *out = (struct mx_server_stats){
        .workers = atomic_load_explicit(&s->nworkers, memory_order_relaxed),
        .workers_seen = atomic_load_explicit(&s->nseen, memory_order_relaxed),
        .conns_open = atomic_load_explicit(&s->nconns, memory_order_relaxed),
        .rejected_max_conns = mx__counter_get(&s->acceptor.rejected_max_conns),
        .rejected_emfile = mx__counter_get(&s->acceptor.rejected_emfile),
        .offload_outstanding = atomic_load_explicit(&s->offload.outstanding,
                                                    memory_order_relaxed),
        .offload_running = atomic_load_explicit(&s->offload.running, memory_order_relaxed),
        .rejected_per_ip_limit = mx__counter_get(&s->acceptor.rejected_per_ip_limit),
        .rejected_per_ip_rate = mx__counter_get(&s->acceptor.rejected_per_ip_rate),
        .per_ip_untracked = mx__counter_get(&s->acceptor.per_ip_untracked),
    };
    add_carried(s, out);
    return 0;
}

int mx_server_worker_stats(const struct mx_server *s, unsigned worker,
                           struct mx_worker_stats *out)
{
    if (!running(s))
        return -EAGAIN;
    if (worker >= atomic_load_explicit(&s->nseen, memory_order_relaxed))
        return -ENOENT;
    mx__stats_read(&s->workers[worker].stats, out);
    return 0;
}

int mx_server_listener(const struct mx_server *s, unsigned i, struct mx_listener_info *out)
{
    if (i >= atomic_load(&s->nlisteners))
        return -ENOENT;
    /* The fields read here are set before the slot is counted and never
     * change after, but for want (atomic); fd changes and is not read. */
    const struct mx_listener *ls = &s->listeners[i];
    *out = (struct mx_listener_info){ .name = ls->name, .addr = ls->addr, .proto = ls->proto,
                                      .proto_data = ls->proto_data,
                                      .open = atomic_load(&ls->want) };
    return 0;
}
