/* watch.h - the coordinator's view of a run while it goes: sleeping until
 * a moment while printing a progress line each second (only when stderr is
 * a terminal), and the server's CPU time over the measured window. Works
 * over one process's struct ld_live or over every forked worker's. */
#ifndef MUXD_LOAD_WATCH_H
#define MUXD_LOAD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live.h"
#include "opts.h"
#include "thread.h"

struct ld_watch {
    const struct ld_opts *o;
    struct ld_live **lives;
    unsigned n;
    unsigned threads;        /* threads in all: finished when all are */
    bool tty;
    uint64_t next_line, last_msgs, last_t;
    /* Forked workers: false once none is left to report (a crashed one
     * never counts its threads as finished). NULL in one process. */
    bool (*alive)(void *arg);
    void *alive_arg;
};

void ld_watch_init(struct ld_watch *w, const struct ld_opts *o, struct ld_live **lives,
                   unsigned n, unsigned threads);
/* Prints a progress line when one is due. */
void ld_watch_tick(struct ld_watch *w, uint64_t now);
/* Sums a counter over every process. */
uint64_t ld_watch_sum(const struct ld_watch *w, size_t field_offset);
#define LD_WATCH_SUM(w, field) ld_watch_sum((w), offsetof(struct ld_live, field))
bool ld_watch_aborted(const struct ld_watch *w);
/* Tells every process to stop. */
void ld_watch_abort(struct ld_watch *w);
/* Every thread has returned. */
bool ld_watch_finished(const struct ld_watch *w);
/* Sleeps until t, ticking; returns early (false) on abort or when every
 * thread finished. */
bool ld_watch_until(struct ld_watch *w, uint64_t t);
/* After the go: reads the CPU time of --server-pid's processes (summed)
 * at the window's ends and waits for every thread to finish. server_cpu_s
 * is -1 when not asked for or not measured (one of them unreadable). */
void ld_watch_run(struct ld_watch *w, const struct ld_times *tm, double *server_cpu_s);

#endif
