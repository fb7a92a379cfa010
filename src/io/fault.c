/* fault.c - the fault injector (fault.h). */
#include "io/fault.h"
#include "muxd/stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[MX_FAULT_SITES] = {
    "alloc", "emfile", "reset", "short_io", "enobufs", "cq_tiny", "offload", "file_in",
    "accept_late",
};

static struct site {
    uint32_t threshold;          /* a draw below it fails; 0: healthy */
    uint64_t max;                /* 0: no limit */
    atomic_uint_fast64_t hits;
} sites[MX_FAULT_SITES];

const char *mx__fault_name(enum mx_fault_site site) { return names[site]; }

uint64_t mx__fault_count(enum mx_fault_site site)
{
    return atomic_load_explicit(&sites[site].hits, memory_order_relaxed);
}

#ifdef MX_FAULTS
bool mx__faults_armed;
static uint64_t seed = 0x9e3779b97f4a7c15u;

/* Per thread, so draws need no lock; seeded apart per thread. */
static uint32_t draw(void)
{
    static _Thread_local uint64_t x;
    if (!x)
        x = seed ^ (uint64_t)(uintptr_t)&x;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uint32_t)(x >> 32);
}

bool mx__fault_hit(enum mx_fault_site site)
{
    struct site *s = &sites[site];
    if (!s->threshold || draw() >= s->threshold)
        return false;
    uint64_t n = atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
    if (s->max && n >= s->max) {
        atomic_fetch_sub_explicit(&s->hits, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

/* "SITE=RATE[:MAX]" into its site. */
static int parse_one(const char *item, char *why, size_t len)
{
    char name[32];
    double rate = 0;
    unsigned long long max = 0;
    int n = 0;
    if (sscanf(item, "%31[a-z_]=%lf%n", name, &rate, &n) != 2 || rate < 0 || rate > 1 ||
        (item[n] == ':' && sscanf(item + n + 1, "%llu", &max) != 1) ||
        (item[n] && item[n] != ':')) {
        snprintf(why, len, "MUXD_FAULTS: expected SITE=RATE[:MAX] with RATE 0 to 1, got '%s'",
                 item);
        return -EINVAL;
    }
    for (int i = 0; i < MX_FAULT_SITES; i++) {
        if (strcmp(name, names[i]) == 0) {
            sites[i].threshold = rate >= 1 ? UINT32_MAX : (uint32_t)(rate * 4294967296.0);
            if (rate > 0 && !sites[i].threshold)
                sites[i].threshold = 1;
            sites[i].max = max;
            return 0;
        }
    }
    snprintf(why, len, "MUXD_FAULTS: no site '%s' (alloc, emfile, reset, short_io, enobufs, "
             "cq_tiny, offload, file_in)", name);
    return -EINVAL;
}
#endif

int mx__faults_init(char *why, size_t len)
{
    const char *env = getenv("MUXD_FAULTS");
    if (!env || !*env)
        return 0;
#ifndef MX_FAULTS
    snprintf(why, len, "MUXD_FAULTS is set, but this build has no fault injection "
             "(configured with MUXD_FAULTS=OFF)");
    return -EINVAL;
#else
    const char *s = getenv("MUXD_FAULTS_SEED");
    if (s)
        seed = strtoull(s, NULL, 0) | 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", env);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save))
        if (parse_one(item, why, len) < 0)
            return -EINVAL;
    mx__faults_armed = true;
    return 0;
#endif
}

size_t mx_fault_counts(const char **names_out, uint64_t *counts, size_t max)
{
    for (size_t i = 0; i < MX_FAULT_SITES && i < max; i++) {
        names_out[i] = names[i];
        counts[i] = mx__fault_count((enum mx_fault_site)i);
    }
    return MX_FAULT_SITES;
}
