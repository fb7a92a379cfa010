/* load.h - running the engine: the light connections split over threads,
 * the heavy ones in a thread of their own, the CPU clocks read at the ends
 * of the measured window, and what every thread counted merged. */
#ifndef ECHO_BENCH_LOAD_H
#define ECHO_BENCH_LOAD_H

#include <stdint.h>
#include <sys/types.h>

#include "conn.h"
#include "engine.h"
#include "hist.h"
#include "opts.h"

struct result {
    uint64_t msgs;          /* light messages completed inside the window */
    struct hist hist;       /* their latency */
    /* CPU seconds over the window; < 0 = not measured */
    double server_cpu_s, client_cpu_s, machine_busy_s;
    uint64_t heavy_reqs;    /* heavy requests answered inside the window */
    struct hist heavy_hist; /* their latency */
};

/* Runs r over the light connections cs[0..n) with that many threads, and
 * over r->heavy heavy connections at cs[n..) in one more thread; reads
 * server's CPU time (0: none) at the ends of the window. Returns 0, or -1
 * with the first failure on stderr. result_free(res) is due either way. */
int engine_run(const struct run *r, struct conn *cs, unsigned n, unsigned threads, pid_t server,
               struct result *res);
void result_free(struct result *res);

/* Load mode: warm up, measure, print the report. 0, or -1 on failure. */
int load_mode(const struct opts *o, struct conn *cs);

#endif
