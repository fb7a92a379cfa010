/* run.c - one process's share of a run (see run.h). */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pattern.h"
#include "watch.h"

/* The go is a little ahead of "now", so every thread (and process) sees
 * it before it comes and all start on the same instant. */
#define GO_AHEAD_NS (20 * NS_PER_MS)

unsigned ld_total_conns(const struct ld_opts *o)
{
    return o->conns + (o->mode == LD_WORK ? o->heavy : 0);
}

/* What a range of global indices weighs in the rate: echo and work count
 * light connections, chat its senders (clients 0 .. S-1). */
static double rate_weight(const struct ld_opts *o, unsigned first, unsigned n)
{
    unsigned hi = o->mode == LD_CHAT ? o->senders : o->conns;
    unsigned end = first + n < hi ? first + n : hi;
    return end > first ? (double)(end - first) / (double)hi : 0.0;
}

static struct ld_conn *conns_new(const struct ld_opts *o, const struct ld_share *sh)
{
    struct ld_conn *cs = calloc(sh->n ? sh->n : 1, sizeof *cs);
    for (unsigned i = 0; cs && i < sh->n; i++) {
        unsigned id = sh->first + i;
        cs[i] = (struct ld_conn){ .fd = -1, .id = id, .heavy = id >= o->conns,
                                  .base = ld_pat_base(id) };
    }
    return cs;
}

/* Thread t's contiguous part of the share, its rates and its result. */
static int thread_setup(struct ld_proc *p, const struct ld_share *sh, unsigned t,
                        unsigned *first)
{
    const struct ld_opts *o = p->o;
    unsigned n = sh->n / p->threads + (t < sh->n % p->threads);
    struct ld_thread *th = &p->ths[t];
    th->index = t;
    th->ep = -1;
    th->rate = o->rate * rate_weight(o, sh->first + *first, n);
    th->connect_rate = o->connect_rate * (double)n / (double)ld_total_conns(o);
    p->res[t] = malloc(sizeof *p->res[t]);
    if (!p->res[t]) {
        fprintf(stderr, "muxd-load: out of memory\n");
        return -1;
    }
    ld_result_init(p->res[t]);
    int rc = ld_thread_init(th, o, p->live, p->res[t], p->cs + *first, n);
    *first += n;
    if (rc < 0)
        fprintf(stderr, "muxd-load: %s\n", p->res[t]->why);
    return rc;
}

int ld_proc_start(struct ld_proc *p, const struct ld_opts *o, const struct ld_share *sh,
                  struct ld_live *live)
{
    *p = (struct ld_proc){ .o = o, .live = live };
    p->threads = sh->threads < sh->n ? sh->threads : (sh->n ? sh->n : 1);
    p->cs = conns_new(o, sh);
    p->ths = calloc(p->threads, sizeof *p->ths);
    p->res = calloc(p->threads, sizeof *p->res);
    if (!p->cs || !p->ths || !p->res) {
        fprintf(stderr, "muxd-load: out of memory for %u connections\n", sh->n);
        return -1;
    }
    unsigned first = 0;
    for (unsigned t = 0; t < p->threads; t++)
        if (thread_setup(p, sh, t, &first) < 0)
            return -1;
    for (; p->started < p->threads; p->started++) {
        int err = pthread_create(&p->ths[p->started].tid, NULL, ld_thread_main,
                                 &p->ths[p->started]);
        if (err) {
            fprintf(stderr, "muxd-load: cannot start a thread: %s\n", strerror(err));
            atomic_store(&live->abort, true);
            return -1;
        }
    }
    return 0;
}

bool ld_proc_ready(const struct ld_proc *p)
{
    return atomic_load(&p->live->ready) >= p->started || atomic_load(&p->live->abort);
}

void ld_proc_collect(struct ld_proc *p, struct ld_result *out)
{
    if (atomic_load(&p->live->t0) == 0)
        atomic_store(&p->live->t0, LD_T0_ABORT); /* nobody waits for a go that never comes */
    for (unsigned t = 0; t < p->started; t++)
        pthread_join(p->ths[t].tid, NULL);
    for (unsigned t = 0; t < p->threads && p->ths; t++) {
        if (p->res && p->res[t]) {
            ld_result_merge(out, p->res[t]);
            free(p->res[t]);
        }
        if (p->ths[t].o)
            ld_thread_fini(&p->ths[t]);
    }
    free(p->ths);
    free(p->res);
    free(p->cs);
}

int ld_run_alone(const struct ld_opts *o, struct ld_result *out, double *server_cpu_s)
{
    static struct ld_live live; /* zeroed: the threads are its only other users */
    struct ld_share sh = { .first = 0, .n = ld_total_conns(o), .threads = o->threads };
    struct ld_proc p;
    struct ld_live *lives[1] = { &live };
    struct ld_watch w;
    *server_cpu_s = -1.0;
    int rc = ld_proc_start(&p, o, &sh, &live);
    ld_watch_init(&w, o, lives, 1, p.started);
    while (rc == 0 && !ld_proc_ready(&p)) {
        ld_watch_tick(&w, ld_now_ns());
        ld_sleep_ns(5 * NS_PER_MS);
    }
    if (rc == 0 && !atomic_load(&live.abort)) {
        struct ld_times tm;
        ld_times_set(&tm, o, ld_now_ns() + GO_AHEAD_NS);
        atomic_store(&live.t0, tm.t0);
        ld_watch_run(&w, &tm, server_cpu_s);
    }
    ld_proc_collect(&p, out);
    return rc;
}
