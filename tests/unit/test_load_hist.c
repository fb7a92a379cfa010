/* test_load_hist.c - muxd-load's latency histogram: the bucket layout,
 * percentiles against a sorted reference on random data, and merging. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

/* xorshift64: reproducible random values with a wide spread. */
static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Latency-like: mostly microseconds, a tail up to seconds (in ns). */
static uint64_t random_latency(void)
{
    unsigned bits = 8 + (unsigned)(next_rand() % 24);
    return next_rand() & ((1ull << bits) - 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct ld_hist *new_hist(void)
{
    struct ld_hist *h = malloc(sizeof *h);
    cr_assert_not_null(h);
    ld_hist_reset(h);
    return h;
}

/* The 1-based rank of quantile q among n values: the smallest value with
 * at least q of all values at or below it. */
static size_t rank_of(double q, size_t n)
{
    double r = ceil(q * (double)n);
    size_t k = r < 1.0 ? 1 : (size_t)r;
    return k > n ? n : k;
}

/* What the histogram must answer for q: the top of the bucket holding the
 * reference's rank-th value, clipped to the max. */
static uint64_t expected_quantile(const uint64_t *sorted, size_t n, double q)
{
    uint64_t v = sorted[rank_of(q, n) - 1];
    uint64_t top = ld_hist_highest(ld_hist_index(v));
    return top < sorted[n - 1] ? top : sorted[n - 1];
}

Test(load_hist, layout_is_continuous_and_tight)
{
    for (unsigned i = 1; i < LD_HIST_BUCKETS; i++)
        cr_assert_eq(ld_hist_lowest(i), ld_hist_highest(i - 1) + 1, "gap before bucket %u", i);
    for (int k = 0; k < 100000; k++) {
        uint64_t v = next_rand() >> (next_rand() % 64);
        unsigned idx = ld_hist_index(v);
        cr_assert(ld_hist_lowest(idx) <= v && v <= ld_hist_highest(idx), "%llu", (unsigned long long)v);
        /* A bucket is at most 1/128 of its values wide. */
        uint64_t width = ld_hist_highest(idx) - ld_hist_lowest(idx);
        cr_assert(width <= ld_hist_lowest(idx) / LD_HIST_SUB, "bucket %u too wide", idx);
    }
    cr_assert_eq(ld_hist_index(UINT64_MAX), LD_HIST_BUCKETS - 1);
}

Test(load_hist, quantiles_match_sorted_reference)
{
    enum { N = 20011 };
    uint64_t *vals = malloc(N * sizeof *vals);
    struct ld_hist *h = new_hist();
    uint64_t sum = 0;
    for (size_t i = 0; i < N; i++) {
        vals[i] = random_latency();
        sum += vals[i];
        ld_hist_record(h, vals[i]);
    }
    qsort(vals, N, sizeof *vals, cmp_u64);
    const double qs[] = { 0.0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0 };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        uint64_t got = ld_hist_quantile(h, qs[i]), want = expected_quantile(vals, N, qs[i]);
        cr_assert_eq(got, want, "q %g: got %llu want %llu", qs[i], (unsigned long long)got,
                     (unsigned long long)want);
        /* and within 0.8% of the true value */
        uint64_t truth = vals[rank_of(qs[i], N) - 1];
        cr_assert(got >= truth && (double)(got - truth) <= (double)truth / LD_HIST_SUB + 1.0,
                  "q %g: %llu vs true %llu", qs[i], (unsigned long long)got,
                  (unsigned long long)truth);
    }
    cr_assert_eq(h->count, N);
    cr_assert_eq(h->min, vals[0]);
    cr_assert_eq(h->max, vals[N - 1]);
    cr_assert_eq(h->sum, sum);
    free(vals);
    free(h);
}

Test(load_hist, empty_and_single)
{
    struct ld_hist *h = new_hist();
    cr_assert_eq(ld_hist_quantile(h, 0.99), 0);
    cr_assert_eq(ld_hist_mean(h), 0.0);
    ld_hist_record(h, 123456789);
    cr_assert_eq(ld_hist_quantile(h, 0.0), 123456789);
    cr_assert_eq(ld_hist_quantile(h, 0.5), 123456789);
    cr_assert_eq(ld_hist_quantile(h, 1.0), 123456789);
    free(h);
}

Test(load_hist, merge_equals_recording_everything_in_one)
{
    struct ld_hist *parts[4], *all = new_hist(), *merged = new_hist();
    for (int p = 0; p < 4; p++)
        parts[p] = new_hist();
    for (int k = 0; k < 50000; k++) {
        uint64_t v = random_latency();
        ld_hist_record(parts[next_rand() % 4], v);
        ld_hist_record(all, v);
    }
    for (int p = 0; p < 4; p++)
        ld_hist_merge(merged, parts[p]);
    cr_assert_eq(memcmp(merged, all, sizeof *all), 0, "merge differs from one histogram");
    /* Merging an empty one changes nothing (min stays). */
    struct ld_hist *empty = new_hist();
    ld_hist_merge(merged, empty);
    cr_assert_eq(memcmp(merged, all, sizeof *all), 0);
    for (int p = 0; p < 4; p++)
        free(parts[p]);
    free(all);
    free(merged);
    free(empty);
}
