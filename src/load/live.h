/* live.h - what the threads of a run publish while it goes, for the
 * process that coordinates it: how far setup got, the go signal, progress
 * counters, and the abort flag. One per process; for forked workers it
 * lives in memory shared with the parent, which is why everything in it is
 * a lock-free atomic and nothing in it is a pointer. */
#ifndef MUXD_LOAD_LIVE_H
#define MUXD_LOAD_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* t0 value meaning "do not start: give up". */
#define LD_T0_ABORT UINT64_MAX

struct ld_live {
    atomic_uint_fast64_t up;        /* connections up */
    atomic_uint_fast64_t failed;    /* connects that failed */
    atomic_uint_fast64_t msgs;      /* messages done so far (chat: deliveries) */
    atomic_uint_fast64_t p99_ns;    /* highest p99 a thread published */
    atomic_uint ready;              /* threads through setup (or failed in it) */
    atomic_uint finished;           /* threads that returned */
    atomic_bool abort;              /* a thread failed: everyone stops */
    atomic_uint_fast64_t t0;        /* go: set once by the coordinator */
    /* chat: deliveries owed and distinct ones received so far (warm-up
     * included), and the coordinator's word that they are all in */
    atomic_uint_fast64_t owed, got;
    atomic_bool drained;
};

static inline void ld_live_max(atomic_uint_fast64_t *a, uint64_t v)
{
    uint_fast64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

#endif
