/* hist.c - log-linear histogram (see hist.h). */
#include "hist.h"

#include <math.h>
#include <stdlib.h>

int hist_init(struct hist *h)
{
    *h = (struct hist){ .min = UINT64_MAX };
    h->b = calloc(HIST_BUCKETS, sizeof *h->b);
    return h->b ? 0 : -1;
}

void hist_free(struct hist *h)
{
    free(h->b);
    h->b = NULL;
}

/* Values below 2^(S+1) index themselves. Above, a value whose top bit is
 * m keeps its S bits below the top one as the sub-bucket, and m picks the
 * group: the two formulas agree at m = S, so the index is continuous. */
unsigned hist_index(uint64_t v)
{
    if (v < 2u * HIST_SUB)
        return (unsigned)v;
    unsigned m = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = m - HIST_SUB_BITS;
    return (shift + 1u) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

uint64_t hist_lowest(unsigned idx)
{
    if (idx < 2u * HIST_SUB)
        return idx;
    unsigned group = idx >> HIST_SUB_BITS; /* >= 2 */
    uint64_t sub = idx & (HIST_SUB - 1u);
    return (HIST_SUB + sub) << (group - 1u);
}

uint64_t hist_highest(unsigned idx)
{
    if (idx < 2u * HIST_SUB)
        return idx;
    unsigned group = idx >> HIST_SUB_BITS;
    return hist_lowest(idx) + ((uint64_t)1 << (group - 1u)) - 1u;
}

void hist_record(struct hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
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
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = hist_highest(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
