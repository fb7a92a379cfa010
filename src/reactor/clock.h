/* clock.h - the clock behind muxd/clock.h (private to src/). */
#ifndef MUXD_REACTOR_CLOCK_H
#define MUXD_REACTOR_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds, read now. */
uint64_t mx__clock_ms(void);
/* Monotonic nanoseconds, read now. */
uint64_t mx__clock_ns(void);

/* Makes now_ms this thread's loop clock (a worker's, updated each turn). */
void mx__clock_bind(const uint64_t *now_ms);

#endif
