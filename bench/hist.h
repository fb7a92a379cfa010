/* hist.h - a log-linear latency histogram (HdrHistogram-style buckets).
 *
 * Values are unsigned 64-bit (the benchmark records nanoseconds). Every
 * power of two is split into HIST_SUB equal sub-buckets, so a bucket is at
 * most 1/HIST_SUB of its value wide: with HIST_SUB_BITS = 7 a reported
 * percentile is within 0.8% of the true one, whatever the magnitude, and
 * recording is a shift and an add. min, max, count and sum are exact.
 */
#ifndef ECHO_BENCH_HIST_H
#define ECHO_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
/* Values below 2^(SUB_BITS+1) get a bucket each; every later power of two
 * (up to 2^63) gets HIST_SUB buckets. */
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) * HIST_SUB)

struct hist {
    uint64_t count, sum, min, max;
    uint64_t *b; /* HIST_BUCKETS counters */
};

/* 0, or -1 when out of memory. */
int hist_init(struct hist *h);
void hist_free(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
/* Adds every count of src to dst (same bucket layout by construction). */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q (0..1): the highest value of the bucket holding
 * that rank, clipped to the exact max. 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

/* Bucket layout, exposed so the layout can be checked by hand. */
unsigned hist_index(uint64_t v);
uint64_t hist_lowest(unsigned idx);
uint64_t hist_highest(unsigned idx);

#endif
