/* clock.c - clocks and CPU time (see clock.h). */
#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t ld_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void ld_sleep_ns(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

uint64_t ld_secs_ns(double s)
{
    return (uint64_t)(s * (double)NS_PER_S);
}

/* The command name may hold blanks and parentheses, so fields are counted
 * from the last ')': utime and stime are the 12th and 13th after it
 * (fields 14 and 15 of proc(5)). */
double ld_proc_cpu_s(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1.0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    for (int field = 0; p && field < 12; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return -1.0;
    char *end;
    unsigned long ut = strtoul(p + 1, &end, 10);
    unsigned long st = strtoul(end, &end, 10);
    if (*end != ' ')
        return -1.0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double ld_procs_cpu_s(const int *pids, unsigned n)
{
    double sum = 0.0;
    for (unsigned i = 0; i < n; i++) {
        double s = ld_proc_cpu_s(pids[i]);
        if (s < 0)
            return -1.0;
        sum += s;
    }
    return sum;
}

/* Set once epoll_pwait2 said ENOSYS (kernels before 5.11). */
static atomic_bool no_pwait2;

int ld_epoll_wait(int ep, struct epoll_event *evs, int max, uint64_t timeout_ns)
{
    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec ts = { .tv_sec = (time_t)(timeout_ns / NS_PER_S),
                               .tv_nsec = (long)(timeout_ns % NS_PER_S) };
        int n = epoll_pwait2(ep, evs, max, &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store(&no_pwait2, true);
    }
    uint64_t ms = (timeout_ns + NS_PER_MS - 1) / NS_PER_MS;
    return epoll_wait(ep, evs, max, ms > 1000 ? 1000 : (int)ms);
}
