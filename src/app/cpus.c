/* cpus.c - the CPUs this process may use (see cpus.h). */
#include "app/cpus.h"

#include <limits.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mx_cpu_max_parse(const char *text, unsigned *cpus)
{
    unsigned long long quota, period;
    char word[8];

    if (sscanf(text, "%7s", word) == 1 && strcmp(word, "max") == 0)
        return 1;
    if (sscanf(text, "%llu %llu", &quota, &period) != 2 || period == 0 || quota == 0)
        return -1;
    /* 1.5 CPUs of time: a second worker still gets half a CPU's work
     * done, and a loop per CPU beats one loop short. */
    unsigned long long n = (quota + period - 1) / period;
    *cpus = n > UINT_MAX ? UINT_MAX : (unsigned)n;
    return 0;
}

int mx_cgroup_v2_path(const char *text, char *out, size_t len)
{
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, "0::", 3) != 0)
            continue;
        size_t n = strcspn(line + 3, "\n");
        if (n == 0 || n >= len)
            return -1;
        memcpy(out, line + 3, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* A small file whole, NUL-terminated; false when it cannot be read. */
static bool read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* The tightest cpu.max from the cgroup up to the root: a parent's quota
 * binds all its children. 0 = no limit found. */
static unsigned quota_cpus(const char *root, char *cg)
{
    char path[PATH_MAX + 64], text[128];
    unsigned best = 0, n;

    for (;;) {
        snprintf(path, sizeof path, "%s/sys/fs/cgroup%s/cpu.max", root,
                 strcmp(cg, "/") == 0 ? "" : cg);
        if (read_small(path, text, sizeof text) && mx_cpu_max_parse(text, &n) == 0 &&
            (best == 0 || n < best))
            best = n;
        char *slash = strrchr(cg, '/');
        if (!slash || slash == cg)
            break;
        *slash = '\0';
    }
    if (strcmp(cg, "/") != 0) { /* the cgroup root itself, last */
        snprintf(path, sizeof path, "%s/sys/fs/cgroup/cpu.max", root);
        if (read_small(path, text, sizeof text) && mx_cpu_max_parse(text, &n) == 0 &&
            (best == 0 || n < best))
            best = n;
    }
    return best;
}

unsigned mx_cpus_usable_at(const char *root, unsigned affinity)
{
    char path[PATH_MAX], text[4096], cg[PATH_MAX];
    unsigned n = affinity ? affinity : 1;

    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    if (!read_small(path, text, sizeof text) || mx_cgroup_v2_path(text, cg, sizeof cg) < 0)
        return n;
    unsigned q = quota_cpus(root, cg);
    return q && q < n ? q : n;
}

/* The CPUs this thread may run on; sized for machines past CPU_SETSIZE. */
static unsigned affinity_cpus(void)
{
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    size_t ncpu = conf > CPU_SETSIZE ? (size_t)conf : CPU_SETSIZE;
    cpu_set_t *set = CPU_ALLOC(ncpu);
    size_t size = CPU_ALLOC_SIZE(ncpu);
    unsigned n = 0;

    if (set && sched_getaffinity(0, size, set) == 0)
        n = (unsigned)CPU_COUNT_S(size, set);
    CPU_FREE(set);
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (unsigned)online : 1;
    }
    return n;
}

unsigned mx_cpus_usable(void)
{
    return mx_cpus_usable_at("", affinity_cpus());
}
