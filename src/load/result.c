/* result.c - counting and merging results (see result.h). */
#include "result.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ld_result_init(struct ld_result *r)
{
    memset(r, 0, sizeof *r);
    ld_hist_reset(&r->lat);
    ld_hist_reset(&r->heavy_lat);
}

void ld_result_merge(struct ld_result *dst, const struct ld_result *src)
{
    dst->connected += src->connected;
    dst->connect_failures += src->connect_failures;
    dst->messages += src->messages;
    dst->bytes += src->bytes;
    dst->errors += src->errors;
    dst->verify_failures += src->verify_failures;
    dst->heavy_reqs += src->heavy_reqs;
    dst->expected += src->expected;
    dst->deliveries += src->deliveries;
    dst->late += src->late;
    dst->duplicated += src->duplicated;
    dst->reordered += src->reordered;
    dst->corrupt += src->corrupt;
    ld_hist_merge(&dst->lat, &src->lat);
    ld_hist_merge(&dst->heavy_lat, &src->heavy_lat);
    if (!dst->why[0])
        memcpy(dst->why, src->why, sizeof dst->why);
}

void ld_result_why(struct ld_result *r, const char *fmt, ...)
{
    if (r->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

uint64_t ld_result_lost(const struct ld_result *r)
{
    return r->expected > r->deliveries ? r->expected - r->deliveries : 0;
}
