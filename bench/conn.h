/* conn.h - echo_bench's connections: their state, and opening them. */
#ifndef ECHO_BENCH_CONN_H
#define ECHO_BENCH_CONN_H

#include <stdint.h>

#include "opts.h"

struct conn {
    int fd;
    unsigned id;
    uint64_t base;      /* pattern offset of stream byte 0 */
    uint64_t tx;        /* bytes the kernel took */
    uint64_t rx;        /* bytes echoed and checked */
    uint64_t issued;    /* messages issued (their bytes are owed to tx) */
    uint64_t done;      /* messages echoed in full */
    uint64_t budget;    /* messages still to issue, or UNLIMITED */
    uint64_t *t_issue;  /* issue time of message k at [k % depth] */
};

/* n connections, none open yet, with room for o->depth issue times each;
 * NULL when out of memory. Call after pat_init (bases come from it). */
struct conn *conns_new(const struct opts *o, unsigned n);
/* Closes what is open and frees cs. */
void conns_free(struct conn *cs, unsigned n);
/* Connects cs[0..n) to o->addr, at most a window at a time; 0, or -1 with
 * the reason on stderr. */
int connect_all(const struct opts *o, struct conn *cs, unsigned n);
/* The pending error of socket fd as -errno, or 0 (SO_ERROR). */
int conn_error(int fd);
/* Raises the soft descriptor limit to the hard one; -1 (with a message)
 * when n connections still cannot fit. */
int fit_fd_limit(unsigned n);

#endif
