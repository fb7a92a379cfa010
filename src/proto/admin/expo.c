/* expo.c - muxd's counters as Prometheus text (expo.h). The per-worker
 * families come from one table, so a new counter is one row here and one
 * line in docs/operations.md. */
#include "proto/admin/expo.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static bool reserve(struct mx_text *t, size_t more)
{
    if (t->failed)
        return false;
    if (t->len + more + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
        t->failed = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

void mx_text_add(struct mx_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void mx_text_label_value(struct mx_text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            mx_text_add(t, "\\\\");
        else if (*s == '"')
            mx_text_add(t, "\\\"");
        else if (*s == '\n')
            mx_text_add(t, "\\n");
        else
            mx_text_add(t, "%c", *s);
    }
}

void mx_text_free(struct mx_text *t)
{
    free(t->p);
    *t = (struct mx_text){ 0 };
}

static void family(struct mx_text *t, const char *name, const char *type, const char *help)
{
    mx_text_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

#define W(f) offsetof(struct mx_worker_stats, f)

/* A per-worker counter family, labelled worker="N". */
struct wrow {
    const char *name, *help;
    size_t off;
};

static const struct wrow wrows[] = {
    { "muxd_connections_accepted_total", "Connections a worker took on.", W(conns_opened) },
    { "muxd_connections_closed_total", "Connections a worker closed, for any reason.",
      W(conns_closed) },
    { "muxd_connections_moved_in_total",
      "Connections moved to a worker from one retired by a reload.", W(conns_moved_in) },
    { "muxd_connections_moved_out_total",
      "Connections a worker handed over when a reload retired it.", W(conns_moved_out) },
    { "muxd_received_bytes_total", "Bytes received from peers.", W(bytes_in) },
    { "muxd_receives_total", "Receive completions that carried bytes.", W(receives) },
    { "muxd_sent_bytes_total", "Bytes written to peers.", W(bytes_out) },
    { "muxd_sends_total", "Write completions that moved bytes.", W(sends) },
    { "muxd_output_enqueued_bytes_total", "Bytes put in output queues.", W(bytes_queued) },
    { "muxd_output_dropped_bytes_total",
      "Bytes still queued when their connection closed, never written.", W(bytes_dropped) },
    { "muxd_high_water_pauses_total",
      "Times a peer stopped being read: its output queue passed output_high_water.",
      W(paused_high_water) },
    { "muxd_output_max_cuts_total", "Connections cut off: output queue over output_max.",
      W(cut_output_max) },
    { "muxd_output_dropped_messages_total",
      "Whole queued messages dropped past output_max (overflow = drop_oldest).",
      W(dropped_messages) },
    { "muxd_offload_rejected_total", "mx_offload calls refused: offload queue_max reached.",
      W(offload_rejected) },
    { "muxd_uring_enobufs_total",
      "io_uring receives that found the provided-buffer ring empty.", W(uring_enobufs) },
    { "muxd_uring_cq_overflow_turns_total",
      "io_uring loop turns that found the completion queue overflowed.",
      W(uring_cq_overflows) },
    { "muxd_uring_bundle_receives_total",
      "io_uring receives that filled more than one buffer (a bundle).", W(uring_bundles) },
    { "muxd_loop_turns_total", "Event loop turns (wake-ups).", W(turns) },
    { "muxd_proxy_headers_accepted_total", "PROXY headers taken whole.", W(proxy_accepted) },
    { "muxd_tls_kernel_connections_total",
      "TLS connections switched to kernel TLS after their handshake.", W(tls_kernel) },
    { "muxd_memory_trims_total",
      "Times free memory went back to the system after a burst of closed connections.",
      W(mem_trims) },
    { "muxd_fanout_held_flushes_total",
      "fanout_delay: waiting output queues sent at their deadline.", W(fanout_held_flushes) },
    { "muxd_fanout_early_flushes_total",
      "fanout_delay: waiting output queues sent before their deadline (a reply, a close, "
      "16 KiB waiting, a move).", W(fanout_early_flushes) },
};

static uint64_t field(const struct mx_worker_stats *w, size_t off)
{
    return *(const uint64_t *)((const char *)w + off);
}

static void worker_counters(struct mx_text *t, const struct mx_expo_input *in)
{
    for (size_t r = 0; r < sizeof wrows / sizeof wrows[0]; r++) {
        family(t, wrows[r].name, "counter", wrows[r].help);
        for (unsigned i = 0; i < in->srv.workers_seen; i++)
            mx_text_add(t, "%s{worker=\"%u\"} %llu\n", wrows[r].name, i,
                        (unsigned long long)field(&in->workers[i], wrows[r].off));
    }
}

/* One family, the reason a label beside the worker's. */
static void proxy_refusals(struct mx_text *t, const struct mx_expo_input *in)
{
    static const char *const reason[MX_PROXY_REFUSALS] = MX_PROXY_REFUSAL_NAMES;
    family(t, "muxd_proxy_headers_refused_total", "counter",
           "Connections of PROXY listeners closed for their header, or the lack of one.");
    for (unsigned i = 0; i < in->srv.workers_seen; i++)
        for (unsigned r = 0; r < MX_PROXY_REFUSALS; r++)
            mx_text_add(t, "muxd_proxy_headers_refused_total{worker=\"%u\",reason=\"%s\"} %llu\n",
                        i, reason[r], (unsigned long long)in->workers[i].proxy_refused[r]);
}

/* a - b - c, or 0 where counters read a moment apart cross. */
static uint64_t diff(uint64_t a, uint64_t b, uint64_t c)
{
    return a > b + c ? a - b - c : 0;
}

static void worker_gauges(struct mx_text *t, const struct mx_expo_input *in)
{
    family(t, "muxd_connections_open", "gauge", "Connections a worker holds open now.");
    for (unsigned i = 0; i < in->srv.workers_seen; i++) {
        const struct mx_worker_stats *w = &in->workers[i];
        mx_text_add(t, "muxd_connections_open{worker=\"%u\"} %llu\n", i,
                    (unsigned long long)diff(w->conns_opened + w->conns_moved_in,
                                             w->conns_closed, w->conns_moved_out));
    }
    family(t, "muxd_output_queued_bytes", "gauge",
           "Bytes waiting in a worker's output queues now.");
    for (unsigned i = 0; i < in->srv.workers_seen; i++) {
        const struct mx_worker_stats *w = &in->workers[i];
        mx_text_add(t, "muxd_output_queued_bytes{worker=\"%u\"} %llu\n", i,
                    (unsigned long long)diff(w->bytes_queued, w->bytes_out, w->bytes_dropped));
    }
}

/* A per-worker histogram of durations: bounds in microseconds, buckets
 * not cumulative (muxd/stats.h). */
struct hist {
    const char *name, *help;
    const uint64_t *bounds_us;
    unsigned nbuckets;
    size_t buckets_off, sum_off;
};

static void histogram(struct mx_text *t, const struct mx_expo_input *in, const struct hist *h)
{
    family(t, h->name, "histogram", h->help);
    for (unsigned i = 0; i < in->srv.workers_seen; i++) {
        const struct mx_worker_stats *w = &in->workers[i];
        const uint64_t *b = (const uint64_t *)((const char *)w + h->buckets_off);
        uint64_t cum = 0;
        for (unsigned k = 0; k < h->nbuckets - 1; k++) {
            cum += b[k];
            mx_text_add(t, "%s_bucket{worker=\"%u\",le=\"%g\"} %llu\n", h->name, i,
                        (double)h->bounds_us[k] / 1e6, (unsigned long long)cum);
        }
        cum += b[h->nbuckets - 1];
        mx_text_add(t, "%s_bucket{worker=\"%u\",le=\"+Inf\"} %llu\n", h->name, i,
                    (unsigned long long)cum);
        mx_text_add(t, "%s_sum{worker=\"%u\"} %.9f\n", h->name, i,
                    (double)field(w, h->sum_off) / 1e9);
        mx_text_add(t, "%s_count{worker=\"%u\"} %llu\n", h->name, i, (unsigned long long)cum);
    }
}

static void histograms(struct mx_text *t, const struct mx_expo_input *in)
{
    static const uint64_t turn_us[MX_STATS_TURN_BUCKETS - 1] = MX_STATS_TURN_BOUNDS_US;
    static const uint64_t job_us[MX_STATS_JOB_BUCKETS - 1] = MX_STATS_JOB_BOUNDS_US;
    histogram(t, in, &(struct hist){
        "muxd_loop_turn_duration_seconds",
        "Time a loop turn spent working (dispatch, timers, flushes), not waiting.",
        turn_us, MX_STATS_TURN_BUCKETS, W(turn_buckets), W(turn_ns_sum) });
    histogram(t, in, &(struct hist){
        "muxd_offload_job_duration_seconds",
        "Time an offloaded job ran on a pool thread, by the worker of its connection.",
        job_us, MX_STATS_JOB_BUCKETS, W(job_buckets), W(job_ns_sum) });
}

static void gauge(struct mx_text *t, const char *name, const char *help, long long v)
{
    if (v < 0)
        return;
    family(t, name, "gauge", help);
    mx_text_add(t, "%s %lld\n", name, v);
}

static void server_wide(struct mx_text *t, const struct mx_expo_input *in)
{
    family(t, "muxd_info", "gauge", "The version and backend in use (always 1).");
    mx_text_add(t, "muxd_info{version=\"");
    mx_text_label_value(t, in->version);
    mx_text_add(t, "\",backend=\"");
    mx_text_label_value(t, in->backend);
    mx_text_add(t, "\"} 1\n");
    gauge(t, "muxd_workers", "Worker threads (event loops).", in->srv.workers);
    gauge(t, "muxd_connections_admitted", "Connections admitted and not yet closed "
          "(counted against max_connections).", (long long)in->srv.conns_open);
    family(t, "muxd_connections_rejected_total", "counter",
           "Connections refused at admission, by reason (per_ip_*: at accept, or once "
           "a PROXY header named the client).");
    mx_text_add(t, "muxd_connections_rejected_total{reason=\"max_connections\"} %llu\n",
                (unsigned long long)in->srv.rejected_max_conns);
    mx_text_add(t, "muxd_connections_rejected_total{reason=\"emfile\"} %llu\n",
                (unsigned long long)in->srv.rejected_emfile);
    mx_text_add(t, "muxd_connections_rejected_total{reason=\"per_ip_limit\"} %llu\n",
                (unsigned long long)in->srv.rejected_per_ip_limit);
    mx_text_add(t, "muxd_connections_rejected_total{reason=\"per_ip_rate\"} %llu\n",
                (unsigned long long)in->srv.rejected_per_ip_rate);
    family(t, "muxd_connections_untracked_total", "counter",
           "Connections admitted without per-address limits: the address table was full.");
    mx_text_add(t, "muxd_connections_untracked_total %llu\n",
                (unsigned long long)in->srv.per_ip_untracked);
    gauge(t, "muxd_offload_jobs_running", "Offloaded jobs on a pool thread now.",
          (long long)in->srv.offload_running);
    gauge(t, "muxd_offload_jobs_queued", "Offloaded jobs accepted and waiting for a thread.",
          (long long)diff(in->srv.offload_outstanding, in->srv.offload_running, 0));
    gauge(t, "muxd_process_open_fds", "Open file descriptors of the process.", in->open_fds);
    gauge(t, "muxd_process_max_fds", "The process's descriptor limit (RLIMIT_NOFILE).",
          in->max_fds);
    gauge(t, "muxd_process_resident_memory_bytes", "Resident set size of the process.",
          in->rss_bytes);
    gauge(t, "muxd_heap_allocated_bytes",
          "Bytes the process holds from malloc now (mallinfo2: in use, not kept free).",
          in->heap_bytes);
}

/* Only in a test run with MUXD_FAULTS, once something was injected. */
static void faults(struct mx_text *t, const struct mx_expo_input *in)
{
    if (in->nfaults == 0)
        return;
    family(t, "muxd_faults_injected_total", "counter",
           "Faults injected by MUXD_FAULTS (a test facility), by site.");
    for (size_t i = 0; i < in->nfaults; i++)
        mx_text_add(t, "muxd_faults_injected_total{site=\"%s\"} %llu\n", in->fault_names[i],
                    (unsigned long long)in->fault_counts[i]);
}

void mx_expo_write(struct mx_text *t, const struct mx_expo_input *in)
{
    server_wide(t, in);
    worker_gauges(t, in);
    worker_counters(t, in);
    proxy_refusals(t, in);
    histograms(t, in);
    faults(t, in);
}
