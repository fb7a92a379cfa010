/* test_stats.c - the per-worker counters (src/reactor/stats.c): the loop
 * turn histogram's buckets and the snapshot. */
#include <criterion/criterion.h>

#include "reactor/stats.h"

Test(stats, turns_land_in_their_buckets)
{
    static struct mx__wstats st;
    mx__stats_turn(&st, 0);              /* <= 10 us */
    mx__stats_turn(&st, 10999);          /* 10.999 us: still <= 10 us whole */
    mx__stats_turn(&st, 11000);          /* <= 25 us */
    mx__stats_turn(&st, 1000000);        /* 1 ms: <= 1 ms */
    mx__stats_turn(&st, 50000000);       /* 50 ms: the last bound */
    mx__stats_turn(&st, 50001000);       /* above every bound */
    struct mx_worker_stats out;
    mx__stats_read(&st, &out);
    cr_assert_eq(out.turns, 6);
    cr_assert_eq(out.turn_ns_sum, 0 + 10999 + 11000 + 1000000 + 50000000 + 50001000);
    cr_assert_eq(out.turn_buckets[0], 2);
    cr_assert_eq(out.turn_buckets[1], 1);
    cr_assert_eq(out.turn_buckets[6], 1);
    cr_assert_eq(out.turn_buckets[MX_STATS_TURN_BUCKETS - 2], 1);
    cr_assert_eq(out.turn_buckets[MX_STATS_TURN_BUCKETS - 1], 1);
}

Test(stats, count_adds)
{
    static struct mx__wstats st;
    mx__count(&st.bytes_in, 5);
    mx__count(&st.bytes_in, 7);
    struct mx_worker_stats out;
    mx__stats_read(&st, &out);
    cr_assert_eq(out.bytes_in, 12);
}
