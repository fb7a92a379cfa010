/* run.h - one process's share of a run: its connections (a contiguous
 * range of the global client indices), its threads, and the steps a
 * coordinator takes them through: start, wait until every thread is set
 * up, go, and collect. main.c runs one share alone; spawn.c forks a share
 * per worker process when the descriptor limit asks for it. */
#ifndef MUXD_LOAD_RUN_H
#define MUXD_LOAD_RUN_H

#include <stdbool.h>

#include "live.h"
#include "opts.h"
#include "result.h"
#include "thread.h"

struct ld_share {
    unsigned first, n;       /* global indices [first, first + n) */
    unsigned threads;
};

struct ld_proc {
    const struct ld_opts *o;
    struct ld_live *live;
    struct ld_conn *cs;
    struct ld_thread *ths;
    struct ld_result **res;  /* one per thread */
    unsigned threads, started;
};

/* Every client: the light ones, then work mode's heavy ones. */
unsigned ld_total_conns(const struct ld_opts *o);

/* Sets up the connections and threads of share and starts the threads;
 * 0, or -1 with the reason on stderr. ld_proc_collect is due either way. */
int ld_proc_start(struct ld_proc *p, const struct ld_opts *o, const struct ld_share *sh,
                  struct ld_live *live);
/* Every thread is set up (or the run aborted). */
bool ld_proc_ready(const struct ld_proc *p);
/* Joins the threads and merges their results into out; frees p. */
void ld_proc_collect(struct ld_proc *p, struct ld_result *out);

/* The whole run in this process: start, go, watch, collect. Returns 0
 * when the run got as far as a result (out filled, ok or not), -1 when it
 * could not start. server_cpu_s as ld_watch_run. */
int ld_run_alone(const struct ld_opts *o, struct ld_result *out, double *server_cpu_s);

#endif
