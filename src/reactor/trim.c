/* trim.c - memory a burst of connections took goes back to the system
 * once the burst is over.
 *
 * Freed connections (their structs, buffers, queues) go back to malloc,
 * not to the kernel: glibc keeps them in the worker thread's arena, and
 * after 15,000 connections come and go the daemon's RSS stays at several
 * times its idle size (measured: 4.5 MB idle, 13 MB (epoll) to 44 MB
 * (poll) after, and nothing came back in 10 s). malloc_trim(0) hands the
 * free pages of every arena back (returning the poll case to 5.8 MB).
 * It walks the heaps, so it runs only after many connections went and
 * the churn stopped: a steady churn reuses that memory anyway. Two
 * caches are emptied first, or their memory would stay resident: the
 * worker's spare output chunks (up to 1 MiB) and, on io_uring, the pages
 * of the receive buffer ring (2 MiB by default) a burst touched.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "io/backend.h"
#include "io/outq.h"

#include "muxd/log.h"
#include "reactor/stats.h"
#include "reactor/worker.h"

#define TRIM_AFTER 256          /* connections freed since the last trim */
#define TRIM_QUIET_MS 1000      /* no such number freed within this time */

static _Atomic uint64_t last_trim_ms;

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4;   /* 4 KiB pages, the only size on the targets */
}

static void trim_fire(struct mx_timer *t, void *arg)
{
    struct mx_worker *w = arg;
    (void)t;
    if (w->freed - w->freed_at_arm >= TRIM_AFTER) {
        /* Still churning: wait for the burst to end. */
        w->freed_at_arm = w->freed;
        mx__timer_arm(&w->timers, &w->trim_timer, w->now_ms + TRIM_QUIET_MS);
        return;
    }
    long before = rss_kb();
    /* This thread's spare queue chunks: up to 64 x 16 KiB kept for the
     * next burst of output, idle now. */
    mx__outq_thread_cleanup();
    if (w->be->trim)
        w->be->trim(w);
    /* One process-wide walk of the heaps does for every worker's burst. */
    uint64_t last = atomic_load_explicit(&last_trim_ms, memory_order_relaxed);
    if (w->now_ms - last >= TRIM_QUIET_MS) {
        atomic_store_explicit(&last_trim_ms, w->now_ms, memory_order_relaxed);
        malloc_trim(0);
    }
    long after = rss_kb();
    mx__count(&w->stats.mem_trims, 1);
    mx_info("%llu connections gone since the last trim: RSS %.1f -> %.1f MB",
            (unsigned long long)(w->freed - w->freed_at_trim), before / 1024.0, after / 1024.0);
    w->freed_at_trim = w->freed;
}

void mx__worker_trim_init(struct mx_worker *w)
{
    w->trim_timer = (struct mx_timer){ .fn = trim_fire, .arg = w };
}

void mx__worker_freed(struct mx_worker *w)
{
    w->freed++;
    if (w->freed - w->freed_at_trim >= TRIM_AFTER && !mx_timer_armed(&w->trim_timer)) {
        w->freed_at_arm = w->freed;
        mx__timer_arm(&w->timers, &w->trim_timer, w->now_ms + TRIM_QUIET_MS);
    }
}
