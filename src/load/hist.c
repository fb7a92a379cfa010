/* hist.c - the log-linear histogram (see hist.h), from bench/hist.c with
 * the buckets made inline. */
#include "hist.h"

#include <math.h>
#include <string.h>

void ld_hist_reset(struct ld_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

/* Values below 2^(S+1) index themselves. Above, a value whose top bit is
 * m keeps its S bits below the top one as the sub-bucket, and m picks the
 * group: the two formulas agree at m = S, so the index is continuous. */
unsigned ld_hist_index(uint64_t v)
{
    if (v < 2u * LD_HIST_SUB)
        return (unsigned)v;
    unsigned m = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = m - LD_HIST_SUB_BITS;
    return (shift + 1u) * LD_HIST_SUB + (unsigned)((v >> shift) - LD_HIST_SUB);
}

uint64_t ld_hist_lowest(unsigned idx)
{
    if (idx < 2u * LD_HIST_SUB)
        return idx;
    unsigned group = idx >> LD_HIST_SUB_BITS; /* >= 2 */
    uint64_t sub = idx & (LD_HIST_SUB - 1u);
    return (LD_HIST_SUB + sub) << (group - 1u);
}

uint64_t ld_hist_highest(unsigned idx)
{
    if (idx < 2u * LD_HIST_SUB)
        return idx;
    unsigned group = idx >> LD_HIST_SUB_BITS;
    return ld_hist_lowest(idx) + (((uint64_t)1 << (group - 1u)) - 1u);
}

void ld_hist_record(struct ld_hist *h, uint64_t v)
{
    h->b[ld_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void ld_hist_merge(struct ld_hist *dst, const struct ld_hist *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < LD_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t ld_hist_quantile(const struct ld_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    /* The rank of the q-th value, 1-based: the smallest value with at
     * least q of all values at or below it. */
    double r = ceil(q * (double)h->count);
    uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LD_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = ld_hist_highest(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

double ld_hist_mean(const struct ld_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
