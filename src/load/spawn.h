/* spawn.h - runs too many connections for one process's descriptor limit
 * as several worker processes. Each forked worker runs a share of the
 * global client indices with its own threads (run.c); the parent hands out
 * one go time, watches the window (progress, server CPU) over the workers'
 * counters in shared memory, and merges their results exactly (the
 * histograms bucket by bucket). */
#ifndef MUXD_LOAD_SPAWN_H
#define MUXD_LOAD_SPAWN_H

#include "opts.h"
#include "result.h"

/* Descriptors kept free in every process beyond its connections (epoll,
 * pipes, stdio, /proc reads). */
#define LD_FD_MARGIN 64u

/* Raises the soft descriptor limit to the hard one and returns how many
 * processes the run needs (1 when everything fits in this one); 0 with
 * the reason on stderr when even that cannot work. */
unsigned ld_processes_needed(const struct ld_opts *o);

/* Client threads in all when the run takes procs processes: -t split
 * between them (at least one each), never more than their connections. */
unsigned ld_threads_in_all(const struct ld_opts *o, unsigned procs);

/* As ld_run_alone, over procs forked workers. */
int ld_run_forked(const struct ld_opts *o, unsigned procs, struct ld_result *out,
                  double *server_cpu_s);

#endif
