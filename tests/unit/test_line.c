/* test_line.c - unit tests for the line splitter (src/proto/line.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/line.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static ssize_t next(const char *s, size_t max)
{
    return mx_line_next(s, strlen(s), max);
}

Test(line, lf)
{
    cr_assert_eq(next("hello\n", 100), 6);
}

Test(line, crlf)
{
    cr_assert_eq(next("hello\r\n", 100), 7);
}

Test(line, no_terminator_yet)
{
    cr_assert_eq(next("hello", 100), 0);
    cr_assert_eq(next("hello\r", 100), 0);
    cr_assert_eq(mx_line_next("", 0, 100), 0);
}

Test(line, empty_line)
{
    cr_assert_eq(next("\n", 100), 1);
    cr_assert_eq(next("\r\n", 100), 2);
    cr_assert_eq(next("\n", 0), 1, "an empty line fits max 0");
    cr_assert_eq(next("\r\n", 0), 2);
}

Test(line, several_lines_returns_first)
{
    const char *s = "one\ntwo\r\nthree\n";
    cr_assert_eq(next(s, 100), 4);
    cr_assert_eq(mx_line_next(s + 4, strlen(s + 4), 100), 5);
    cr_assert_eq(mx_line_next(s + 9, strlen(s + 9), 100), 6);
    /* A later too-long line does not spoil the first one. */
    cr_assert_eq(next("ab\nthis-line-is-long\n", 3), 3);
    cr_assert_eq(next("\n\n\n", 0), 1);
}

Test(line, exactly_max_is_ok)
{
    cr_assert_eq(next("abcde\n", 5), 6);
    cr_assert_eq(next("abcde\r\n", 5), 7);
    cr_assert_eq(next("abcde", 5), 0, "max bytes without terminator may still end");
    cr_assert_eq(next("abcde\r", 5), 0);
}

Test(line, max_plus_one_is_error)
{
    cr_assert_eq(next("abcdef\n", 5), -1);
    cr_assert_eq(next("abcdef\r\n", 5), -1);
    cr_assert_eq(next("abcdef", 5), -1, "no terminator but already too long");
    cr_assert_eq(next("abcdefghijk", 5), -1);
    cr_assert_eq(next("a\n", 0), -1);
    cr_assert_eq(next("a", 0), -1);
}

Test(line, trailing_cr_at_max_plus_one_is_not_yet_error)
{
    /* 5 bytes of body plus "\r": the "\r" belongs to the terminator. */
    cr_assert_eq(next("abcde\r", 5), 0);
    cr_assert_eq(next("\r", 0), 0);
    /* But a "\r" that is not at the end is body. */
    cr_assert_eq(next("abcd\rx", 5), -1);
    cr_assert_eq(next("abcd\r\r\n", 5), 7);
    cr_assert_eq(next("abcde\r\r\n", 5), -1);
}

Test(line, cr_inside_body_counts)
{
    cr_assert_eq(next("a\rb\n", 3), 4);
    cr_assert_eq(next("a\rb\n", 2), -1);
}

Test(line, looks_only_at_n_bytes)
{
    const char s[] = "abc\ndef";
    cr_assert_eq(mx_line_next(s, 3, 10), 0, "the newline past n is not seen");
    cr_assert_eq(mx_line_next(s, 4, 10), 4);
    cr_assert_eq(mx_line_next(s, 3, 2), -1);
}

Test(line, embedded_nul_is_body)
{
    const char s[] = { 'a', '\0', 'b', '\n' };
    cr_assert_eq(mx_line_next(s, sizeof s, 3), 4);
    cr_assert_eq(mx_line_next(s, sizeof s, 2), -1);
}
