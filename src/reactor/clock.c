/* clock.c - the monotonic millisecond clock and each worker's cached
 * reading of it (muxd/clock.h). */
#include <time.h>

#include "muxd/clock.h"
#include "reactor/clock.h"

static _Thread_local const uint64_t *loop_clock;

uint64_t mx__clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mx__clock_ms(void)
{
    return mx__clock_ns() / 1000000u;
}

void mx__clock_bind(const uint64_t *now_ms)
{
    loop_clock = now_ms;
}

uint64_t mx_loop_now_ms(void)
{
    return loop_clock ? *loop_clock : mx__clock_ms();
}
