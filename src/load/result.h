/* result.h - what a run counted: one per thread, merged per process, and
 * merged again across forked processes. Plain data (the histograms are
 * inline), so a forked worker hands its result to the parent through
 * shared memory as it is. */
#ifndef MUXD_LOAD_RESULT_H
#define MUXD_LOAD_RESULT_H

#include <stdint.h>

#include "hist.h"

#define LD_WHY_LEN 256

struct ld_result {
    uint64_t connected, connect_failures;
    /* echo/work: light messages measured; idle: round trips; chat:
     * messages sent inside the window */
    uint64_t messages;
    uint64_t bytes;           /* payload bytes of those messages, one way */
    uint64_t errors;          /* connections closed, reset or stalled */
    uint64_t verify_failures; /* wrong bytes, lost/duplicated/reordered messages */
    uint64_t heavy_reqs;      /* work: heavy requests answered inside the window */
    /* chat */
    uint64_t expected;        /* deliveries owed for the messages of the window */
    uint64_t deliveries;      /* distinct ones that arrived */
    uint64_t late;            /* of those, the ones after --drain */
    uint64_t duplicated, reordered, corrupt;
    struct ld_hist lat;       /* light / round trip / delivery latency, ns */
    struct ld_hist heavy_lat; /* work: heavy requests, ns */
    char why[LD_WHY_LEN];     /* the first failure, or "" */
};

void ld_result_init(struct ld_result *r);
/* Adds src into dst; dst keeps its own first failure if it has one. */
void ld_result_merge(struct ld_result *dst, const struct ld_result *src);
/* Records a failure reason unless one is there already. */
__attribute__((format(printf, 2, 3)))
void ld_result_why(struct ld_result *r, const char *fmt, ...);
/* Chat: deliveries owed and missing. */
uint64_t ld_result_lost(const struct ld_result *r);

#endif
