/* idle.h - idle mode: hold the connections open, doing nothing, until told
 * to stop; then check each one with a round trip. */
#ifndef ECHO_BENCH_IDLE_H
#define ECHO_BENCH_IDLE_H

#include <signal.h>

#include "conn.h"
#include "opts.h"

/* Prints "ready N" (after a first round trip each with --warm), holds the
 * connections until a signal of sigs (blocked in every thread since the
 * start) or EOF on a controlling stdin, then prints "verified N" once each
 * connection echoed one more message intact. 0, or -1 on failure. */
int idle_mode(const struct opts *o, struct conn *cs, const sigset_t *sigs);

#endif
