/* test_ip_burst.c - per-address refusals logged by the burst
 * (src/reactor/ip_burst.c): when a burst ends, and that a clock read a
 * little behind another thread's does not end one early. */
#include <criterion/criterion.h>

#include "muxd/log.h"
#include "reactor/ip_burst.h"

static void quiet(void) { mx_log_set_level(MX_LOG_ERROR); }
TestSuite(ip_burst, .init = quiet);

static uint64_t count(struct mx__ip_bursts *b, int kind)
{
    return atomic_load(&b->k[kind].n);
}

Test(ip_burst, ends_after_a_quiet_second)
{
    static struct mx__ip_bursts b;
    cr_assert_not(mx__ip_bursts_on(&b));
    for (uint64_t t = 1000; t <= 1200; t += 100)
        mx__ip_refused_log(&b, t, false, 2, 0, "10.0.0.7", "l", true);
    mx__ip_refused_log(&b, 1200, true, 0, 5, "10.0.0.7", "l", false);
    cr_assert(mx__ip_bursts_on(&b));
    cr_assert_eq(count(&b, MX__IP_BURST_LIMIT), 3);
    cr_assert_eq(count(&b, MX__IP_BURST_RATE), 1);
    mx__ip_bursts_over(&b, 2199, false);
    cr_assert_eq(count(&b, MX__IP_BURST_LIMIT), 3, "ended before a quiet second");
    mx__ip_bursts_over(&b, 2200, false);
    cr_assert_not(mx__ip_bursts_on(&b));
}

Test(ip_burst, a_clock_behind_the_last_refusal_is_not_quiet)
{
    static struct mx__ip_bursts b;
    mx__ip_untracked_log(&b, 5000);
    mx__ip_bursts_over(&b, 4990, false);
    cr_assert_eq(count(&b, MX__IP_BURST_FULL), 1);
    mx__ip_bursts_over(&b, 0, true);
    cr_assert_not(mx__ip_bursts_on(&b));
}
