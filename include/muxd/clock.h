/* muxd/clock.h - the loop's clock.
 *
 * A worker reads the monotonic clock once as each loop turn wakes up, and
 * everything that turn does (timers, idle timeouts, callbacks) sees that
 * one reading: cheaper than a clock call per use, and consistent within a
 * turn, so a protocol's own time checks agree with mx_conn_timer's.
 */
#ifndef MUXD_CLOCK_H
#define MUXD_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC as of this loop turn, on a worker
 * thread; on any other thread, read now. */
uint64_t mx_loop_now_ms(void);

#endif
