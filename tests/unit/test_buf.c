/* test_buf.c - unit tests for the capped input buffer (src/io/buf.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "io/buf.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

Test(buf, starts_empty_and_unallocated)
{
    struct mx_buf b = { 0 };
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
    mx__buf_free(&b);
    cr_assert_null(b.data);
}

Test(buf, append_then_read_back)
{
    struct mx_buf b = { 0 };
    cr_assert_eq(mx__buf_append(&b, "hello", 5), 0);
    cr_assert_not_null(b.data);
    cr_assert_eq(b.len, 5);
    cr_assert_geq(b.cap, 5);
    cr_assert_eq(memcmp(b.data, "hello", 5), 0);

    cr_assert_eq(mx__buf_append(&b, " world", 6), 0);
    cr_assert_eq(b.len, 11);
    cr_assert_eq(memcmp(b.data, "hello world", 11), 0);
    mx__buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
}

Test(buf, growth_preserves_content)
{
    struct mx_buf b = { 0 };
    enum { TOTAL = 100000 };
    static unsigned char ref[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        ref[i] = (unsigned char)(i * 131u + 7u);

    size_t off = 0;
    uint32_t last_cap = 0;
    unsigned grows = 0;
    size_t step = 1;
    while (off < TOTAL) {
        size_t n = step < TOTAL - off ? step : TOTAL - off;
        cr_assert_eq(mx__buf_append(&b, ref + off, n), 0);
        off += n;
        cr_assert_eq(b.len, off);
        cr_assert_geq(b.cap, b.len);
        if (b.cap != last_cap) {
            cr_assert_gt(b.cap, last_cap, "capacity never shrinks on append");
            grows++;
            last_cap = b.cap;
        }
        step = step * 3 % 997 + 1;
    }
    cr_assert_gt(grows, 1, "buffer grew more than once");
    cr_assert_eq(memcmp(b.data, ref, TOTAL), 0);
    mx__buf_free(&b);
}

Test(buf, single_large_append)
{
    struct mx_buf b = { 0 };
    static char big[70000];
    memset(big, 'q', sizeof big);
    big[0] = 'A';
    big[sizeof big - 1] = 'Z';
    cr_assert_eq(mx__buf_append(&b, big, sizeof big), 0);
    cr_assert_eq(b.len, sizeof big);
    cr_assert_geq(b.cap, sizeof big);
    cr_assert_eq(memcmp(b.data, big, sizeof big), 0);
    mx__buf_free(&b);
}

Test(buf, partial_consume_keeps_the_right_bytes)
{
    struct mx_buf b = { 0 };
    cr_assert_eq(mx__buf_append(&b, "0123456789", 10), 0);
    mx__buf_consume(&b, 3);
    cr_assert_eq(b.len, 7);
    cr_assert_not_null(b.data);
    cr_assert_eq(memcmp(b.data, "3456789", 7), 0);

    mx__buf_consume(&b, 0);
    cr_assert_eq(b.len, 7);
    cr_assert_eq(memcmp(b.data, "3456789", 7), 0);

    cr_assert_eq(mx__buf_append(&b, "abc", 3), 0);
    cr_assert_eq(b.len, 10);
    cr_assert_eq(memcmp(b.data, "3456789abc", 10), 0);

    mx__buf_consume(&b, 9);
    cr_assert_eq(b.len, 1);
    cr_assert_eq(b.data[0], 'c');
    mx__buf_free(&b);
}

Test(buf, consume_all_frees_storage)
{
    struct mx_buf b = { 0 };
    cr_assert_eq(mx__buf_append(&b, "abcdef", 6), 0);
    mx__buf_consume(&b, 6);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);

    /* Reusable after being emptied. */
    cr_assert_eq(mx__buf_append(&b, "xy", 2), 0);
    cr_assert_eq(b.len, 2);
    cr_assert_eq(memcmp(b.data, "xy", 2), 0);

    /* Consuming more than is there also frees. */
    mx__buf_consume(&b, 100);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
}

Test(buf, consume_in_steps_until_empty)
{
    struct mx_buf b = { 0 };
    char ref[1000];
    for (size_t i = 0; i < sizeof ref; i++)
        ref[i] = (char)('a' + i % 26);
    cr_assert_eq(mx__buf_append(&b, ref, sizeof ref), 0);
    size_t gone = 0;
    while (gone < sizeof ref) {
        size_t n = 37;
        mx__buf_consume(&b, n);
        gone = gone + n > sizeof ref ? sizeof ref : gone + n;
        cr_assert_eq(b.len, sizeof ref - gone);
        if (b.len)
            cr_assert_eq(memcmp(b.data, ref + gone, b.len), 0);
    }
    cr_assert_null(b.data);
    cr_assert_eq(b.cap, 0);
}

Test(buf, empty_append_keeps_buffer_unallocated)
{
    struct mx_buf b = { 0 };
    cr_assert_eq(mx__buf_append(&b, "", 0), 0);
    cr_assert_eq(b.len, 0);
    cr_assert_null(b.data, "an empty buffer holds no memory");
    cr_assert_eq(b.cap, 0);
    mx__buf_free(&b);
}
