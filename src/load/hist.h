/* hist.h - muxd-load's log-linear latency histogram (HdrHistogram-style).
 *
 * Every power of two is split into LD_HIST_SUB equal sub-buckets, so a
 * bucket is at most 1/LD_HIST_SUB of its value wide: a reported percentile
 * is within 0.8% of the true one whatever the magnitude, and recording is
 * a shift and an add. min, max, count and sum are exact.
 *
 * The buckets live inside the struct (no pointer), so a histogram is plain
 * data: forked workers hand theirs to the parent through shared memory and
 * the parent merges them exactly, bucket by bucket.
 */
#ifndef MUXD_LOAD_HIST_H
#define MUXD_LOAD_HIST_H

#include <stdint.h>

#define LD_HIST_SUB_BITS 7
#define LD_HIST_SUB (1u << LD_HIST_SUB_BITS)
/* Values below 2^(SUB_BITS+1) get a bucket each; every later power of two
 * (up to 2^63) gets LD_HIST_SUB buckets. */
#define LD_HIST_BUCKETS ((64u - LD_HIST_SUB_BITS + 1u) * LD_HIST_SUB)

struct ld_hist {
    uint64_t count, sum, min, max;
    uint64_t b[LD_HIST_BUCKETS];
};

/* Empties h (min = UINT64_MAX until the first value). */
void ld_hist_reset(struct ld_hist *h);
void ld_hist_record(struct ld_hist *h, uint64_t v);
/* Adds every count of src to dst: exact, the layout is fixed. */
void ld_hist_merge(struct ld_hist *dst, const struct ld_hist *src);
/* The value at quantile q (0..1): the highest value of the bucket holding
 * that rank, clipped to the exact max. 0 for an empty histogram. */
uint64_t ld_hist_quantile(const struct ld_hist *h, double q);
double ld_hist_mean(const struct ld_hist *h);

/* The bucket layout, exposed so tests can check it. */
unsigned ld_hist_index(uint64_t v);
uint64_t ld_hist_lowest(unsigned idx);
uint64_t ld_hist_highest(unsigned idx);

#endif
