/* ip_burst.c - per-address refusals logged by the burst (ip_burst.h). */
#include "reactor/ip_burst.h"

#include "muxd/log.h"
#include "reactor/admit_ip.h"

/* A burst ends once a second goes by without another of its kind: the
 * end line comes with the next admission judged after that (neither the
 * acceptor nor a worker keeps a timer for it), or at stop. */
#define BURST_QUIET_MS 1000

static const char *const burst_name[MX__IP_BURSTS] = {
    [MX__IP_BURST_LIMIT] = "max_connections_per_ip",
    [MX__IP_BURST_RATE] = "connect_rate_per_ip",
    [MX__IP_BURST_FULL] = "per-address table full",
};

bool mx__ip_bursts_on(const struct mx__ip_bursts *b)
{
    bool on = false;
    for (int k = 0; k < MX__IP_BURSTS; k++)
        on |= atomic_load_explicit(&b->k[k].n, memory_order_relaxed) != 0;
    return on;
}

/* Taken by exchange: of two threads that find it quiet, one logs it. */
static void end_burst(struct mx__ip_bursts *b, int kind)
{
    uint64_t n = atomic_exchange_explicit(&b->k[kind].n, 0, memory_order_relaxed);
    if (n)
        mx_info("%s: %llu connections %s in that burst", burst_name[kind],
                (unsigned long long)n,
                kind == MX__IP_BURST_FULL ? "admitted without per-address limits" : "refused");
}

void mx__ip_bursts_over(struct mx__ip_bursts *b, uint64_t now_ms, bool all)
{
    for (int k = 0; k < MX__IP_BURSTS; k++) {
        if (!atomic_load_explicit(&b->k[k].n, memory_order_relaxed))
            continue;
        /* Another thread's clock may read a little ahead of ours: a
         * later last_ms is not a quiet second. */
        uint64_t last = atomic_load_explicit(&b->k[k].last_ms, memory_order_relaxed);
        if (all || now_ms >= last + BURST_QUIET_MS)
            end_burst(b, k);
    }
}

/* Counts one more of kind; true if it starts a burst (the caller warns). */
static bool burst_add(struct mx__ip_bursts *b, int kind, uint64_t now_ms)
{
    atomic_store_explicit(&b->k[kind].last_ms, now_ms, memory_order_relaxed);
    return atomic_fetch_add_explicit(&b->k[kind].n, 1, memory_order_relaxed) == 0;
}

void mx__ip_refused_log(struct mx__ip_bursts *b, uint64_t now_ms, bool over_rate, unsigned max,
                        unsigned rate, const char *ip, const char *listener, bool carried)
{
    if (!burst_add(b, over_rate ? MX__IP_BURST_RATE : MX__IP_BURST_LIMIT, now_ms))
        return;
    const char *how = carried ? " (carried address)" : "";
    if (over_rate)
        mx_warn("connect_rate_per_ip (%u/s) exceeded by %s%s on %s: refusing connections over it",
                rate, ip, how, listener);
    else
        mx_warn("max_connections_per_ip (%u) reached by %s%s on %s: refusing connections over it",
                max, ip, how, listener);
}

void mx__ip_untracked_log(struct mx__ip_bursts *b, uint64_t now_ms)
{
    if (burst_add(b, MX__IP_BURST_FULL, now_ms))
        mx_warn("per-address table full (%u addresses hold connections): admitting new "
                "addresses without per-address limits", MX__ADMIT_IP_CAP);
}
