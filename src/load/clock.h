/* clock.h - muxd-load's clocks: monotonic time, sleeping, a process's CPU
 * time, and an epoll wait with a nanosecond timeout. */
#ifndef MUXD_LOAD_CLOCK_H
#define MUXD_LOAD_CLOCK_H

#include <stdint.h>
#include <sys/epoll.h>

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

/* CLOCK_MONOTONIC in nanoseconds: the clock every timestamp uses, also
 * the ones chat messages carry between processes on one host. */
uint64_t ld_now_ns(void);
void ld_sleep_ns(uint64_t ns);
/* utime + stime of every thread of process pid, in seconds; -1 if the
 * process is gone or its stat cannot be read. */
double ld_proc_cpu_s(int pid);
/* The sum of ld_proc_cpu_s over n processes; -1 if any cannot be read. */
double ld_procs_cpu_s(const int *pids, unsigned n);
/* epoll_wait with a timeout in nanoseconds (epoll_pwait2 where the kernel
 * has it: an open loop that wakes a millisecond late measures its own
 * lateness, not the server). */
int ld_epoll_wait(int ep, struct epoll_event *evs, int max, uint64_t timeout_ns);
/* Seconds to nanoseconds. */
uint64_t ld_secs_ns(double s);

#endif
