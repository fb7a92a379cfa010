/* timing.h - clocks for echo_bench: monotonic time, sleeping, and the CPU
 * time of a process and of the whole machine. */
#ifndef ECHO_BENCH_TIMING_H
#define ECHO_BENCH_TIMING_H

#include <stdint.h>
#include <sys/types.h>

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);
/* Sleeps ns nanoseconds, through signals. */
void sleep_ns(uint64_t ns);
/* utime + stime of every thread of process pid, in seconds; -1 if the
 * process is gone or its stat cannot be read. */
double proc_cpu_s(pid_t pid);
/* Busy CPU seconds of the whole machine (every CPU, every process); -1 if
 * /proc/stat cannot be read. */
double machine_busy_s(void);

#endif
