/* watch.c - progress and the window's CPU time (see watch.h). */
#include "watch.h"

#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "clock.h"

#define STEP_NS (20 * NS_PER_MS)

void ld_watch_init(struct ld_watch *w, const struct ld_opts *o, struct ld_live **lives,
                   unsigned n, unsigned threads)
{
    *w = (struct ld_watch){ .o = o, .lives = lives, .n = n, .threads = threads,
                            .tty = isatty(STDERR_FILENO) == 1 };
    w->last_t = ld_now_ns();
    w->next_line = w->last_t + NS_PER_S;
}

uint64_t ld_watch_sum(const struct ld_watch *w, size_t off)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < w->n; i++)
        sum += atomic_load((atomic_uint_fast64_t *)((char *)w->lives[i] + off));
    return sum;
}

bool ld_watch_aborted(const struct ld_watch *w)
{
    for (unsigned i = 0; i < w->n; i++)
        if (atomic_load(&w->lives[i]->abort))
            return true;
    return false;
}

void ld_watch_abort(struct ld_watch *w)
{
    for (unsigned i = 0; i < w->n; i++)
        atomic_store(&w->lives[i]->abort, true);
}

bool ld_watch_finished(const struct ld_watch *w)
{
    unsigned done = 0;
    for (unsigned i = 0; i < w->n; i++)
        done += atomic_load(&w->lives[i]->finished);
    return done >= w->threads || (w->alive && !w->alive(w->alive_arg));
}

static uint64_t max_p99(const struct ld_watch *w)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < w->n; i++) {
        uint64_t v = atomic_load(&w->lives[i]->p99_ns);
        m = v > m ? v : m;
    }
    return m;
}

void ld_watch_tick(struct ld_watch *w, uint64_t now)
{
    if (!w->tty || now < w->next_line)
        return;
    uint64_t msgs = LD_WATCH_SUM(w, msgs);
    double rate = (double)(msgs - w->last_msgs) * (double)NS_PER_S / (double)(now - w->last_t);
    const struct ld_opts *o = w->o;
    fprintf(stderr, "muxd-load: %llu/%u up, %llu failed, %.0f %s/s, p99 %.1f us\n",
            (unsigned long long)LD_WATCH_SUM(w, up), o->conns + o->heavy,
            (unsigned long long)LD_WATCH_SUM(w, failed), rate,
            o->mode == LD_CHAT ? "deliveries" : "msgs", (double)max_p99(w) / 1000.0);
    w->last_msgs = msgs;
    w->last_t = now;
    w->next_line = now + NS_PER_S;
}

bool ld_watch_until(struct ld_watch *w, uint64_t t)
{
    uint64_t now;
    while ((now = ld_now_ns()) < t) {
        if (ld_watch_aborted(w) || ld_watch_finished(w))
            return false;
        ld_watch_tick(w, now);
        uint64_t left = t - now;
        ld_sleep_ns(left < STEP_NS ? left : STEP_NS);
    }
    return true;
}

/* Chat: once every delivery owed over all processes has arrived, the
 * drain can end before its time. */
static void check_drained(struct ld_watch *w)
{
    if (w->o->mode != LD_CHAT || LD_WATCH_SUM(w, got) < LD_WATCH_SUM(w, owed))
        return;
    for (unsigned i = 0; i < w->n; i++)
        atomic_store(&w->lives[i]->drained, true);
}

void ld_watch_run(struct ld_watch *w, const struct ld_times *tm, double *server_cpu_s)
{
    const struct ld_opts *o = w->o;
    unsigned n = o->nserver_pids;
    *server_cpu_s = -1.0;
    double c0 = -1.0, c1 = -1.0;
    if (ld_watch_until(w, tm->start))
        c0 = n ? ld_procs_cpu_s(o->server_pids, n) : -1.0;
    if (ld_watch_until(w, tm->end))
        c1 = n ? ld_procs_cpu_s(o->server_pids, n) : -1.0;
    if (c0 >= 0 && c1 >= 0)
        *server_cpu_s = c1 - c0;
    while (!ld_watch_finished(w)) {
        uint64_t now = ld_now_ns();
        ld_watch_tick(w, now);
        if (now >= tm->stop + STEP_NS) /* a send racing the stop has counted by then */
            check_drained(w);
        ld_sleep_ns(STEP_NS);
    }
}
