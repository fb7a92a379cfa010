/* test_outq_drop.c - the output queue's operations for drop_oldest
 * (src/reactor/conn_overflow.c): one segment per message, dropping whole
 * messages, a note standing in their place. */
#include "outq_fixture.h"

static void queue_msgs(struct mx_outq *q, const char *const *msgs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(mx__outq_append_msg(q, msgs[i], strlen(msgs[i])), 0);
}

Test(outq, append_msg_keeps_one_segment_per_message)
{
    struct mx_outq q = { 0 };
    static const char *const m[] = { "a\n", "bb\n", "ccc\n" };
    queue_msgs(&q, m, 3);
    cr_assert_eq(q.count, 3);
    expect_content(&q, "a\nbb\nccc\n", 9);
    mx__outq_clear(&q);
    done();
}

Test(outq, drop_removes_whole_segments_and_keeps_the_rest_in_order)
{
    struct mx_outq q = { 0 };
    static const char *const m[] = { "head\n", "one\n", "two\n", "three\n", "four\n" };
    queue_msgs(&q, m, 5);
    /* 5 bytes wanted from index 1: "one\n" (4) is not enough, "two\n" too. */
    cr_assert_eq(mx__outq_drop(&q, 1, 5), 2);
    cr_assert_eq(q.count, 3);
    expect_content(&q, "head\nthree\nfour\n", 16);
    mx__outq_clear(&q);
    done();
}

Test(outq, drop_stops_at_the_end)
{
    struct mx_outq q = { 0 };
    static const char *const m[] = { "x\n", "y\n" };
    queue_msgs(&q, m, 2);
    cr_assert_eq(mx__outq_drop(&q, 1, 1000), 1);
    cr_assert_eq(mx__outq_drop(&q, 1, 1000), 0, "nothing past the end");
    expect_content(&q, "x\n", 2);
    mx__outq_clear(&q);
    done();
}

Test(outq, drop_everything_from_zero_releases_the_ring)
{
    struct mx_outq q = { 0 };
    static const char *const m[] = { "x\n", "y\n" };
    queue_msgs(&q, m, 2);
    cr_assert_eq(mx__outq_drop(&q, 0, 4), 2);
    cr_assert_eq(q.count, 0);
    cr_assert_eq(q.bytes, 0);
    cr_assert_null(q.seg, "an empty queue holds no memory");
    done();
}

Test(outq, insert_and_replace_stand_in_place)
{
    struct mx_outq q = { 0 };
    static const char *const m[] = { "a\n", "b\n", "c\n", "d\n" };
    queue_msgs(&q, m, 4);
    cr_assert_eq(mx__outq_drop(&q, 1, 3), 2);  /* b and c */
    struct mx_chunk *note = mx_chunk_copy("[2]\n", 4);
    cr_assert_eq(mx__outq_insert(&q, 1, note), 0);
    expect_content(&q, "a\n[2]\nd\n", 8);
    struct mx_chunk *note2 = mx_chunk_copy("[3 gone]\n", 9);
    mx__outq_replace(&q, 1, note2);
    expect_content(&q, "a\n[3 gone]\nd\n", 13);
    cr_assert_eq(refs(note), 1, "the queue let go of the first note");
    cr_assert_eq(refs(note2), 2);
    mx_chunk_unref(note);
    mx_chunk_unref(note2);
    mx__outq_clear(&q);
    done();
}

Test(outq, drop_and_insert_across_the_ring_wrap)
{
    struct mx_outq q = { 0 };
    char buf[8];
    /* Move the head near the end of the ring, then queue past it. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(mx__outq_append_msg(&q, "zz", 2), 0);
    mx__outq_consume(&q, 4);
    for (int i = 0; i < 6; i++) {
        snprintf(buf, sizeof buf, "%d;", i);
        cr_assert_eq(mx__outq_append_msg(&q, buf, 2), 0);
    }
    expect_content(&q, "zz0;1;2;3;4;5;", 14);
    cr_assert_eq(mx__outq_drop(&q, 2, 5), 3);  /* 1; 2; 3; */
    struct mx_chunk *note = mx_chunk_copy("!", 1);
    cr_assert_eq(mx__outq_insert(&q, 2, note), 0);
    expect_content(&q, "zz0;!4;5;", 9);
    mx_chunk_unref(note);
    mx__outq_clear(&q);
    done();
}
