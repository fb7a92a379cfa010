/* test_units.c - sizes, durations and plain numbers as the config spells them. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>

#include "app/units.h"

struct size_case {
    const char *text;
    int rc;
    size_t bytes;
};

struct dur_case {
    const char *text;
    int rc;
    unsigned ms;
};

static void check_sizes(const struct size_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t out = 12345;
        int rc = mx_parse_size(c[i].text, &out);
        cr_assert_eq(rc, c[i].rc, "'%s': rc %d, want %d", c[i].text, rc, c[i].rc);
        if (c[i].rc == 0)
            cr_assert_eq(out, c[i].bytes, "'%s': %zu, want %zu", c[i].text, out, c[i].bytes);
        else
            cr_assert_eq(out, 12345, "'%s': output written on error", c[i].text);
    }
}

static void check_durations(const struct dur_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned out = 12345;
        int rc = mx_parse_duration_ms(c[i].text, &out);
        cr_assert_eq(rc, c[i].rc, "'%s': rc %d, want %d", c[i].text, rc, c[i].rc);
        if (c[i].rc == 0)
            cr_assert_eq(out, c[i].ms, "'%s': %u, want %u", c[i].text, out, c[i].ms);
        else
            cr_assert_eq(out, 12345, "'%s': output written on error", c[i].text);
    }
}

#define CHECK(fn, cases) fn(cases, sizeof(cases) / sizeof(cases[0]))

Test(size, suffixes_any_case)
{
    static const struct size_case cases[] = {
        { "0", 0, 0 },          { "512", 0, 512 },
        { "8k", 0, 8192 },      { "8K", 0, 8192 },
        { "4m", 0, 4u << 20 },  { "4M", 0, 4u << 20 },
        { "1g", 0, 1u << 30 },  { "1G", 0, 1u << 30 },
        { "0k", 0, 0 },         { "007", 0, 7 },
    };
    CHECK(check_sizes, cases);
}

Test(size, rejects_junk)
{
    static const struct size_case cases[] = {
        { "", -EINVAL, 0 },     { "k", -EINVAL, 0 },    { "abc", -EINVAL, 0 },
        { "8kb", -EINVAL, 0 },  { "8 k", -EINVAL, 0 },  { " 8", -EINVAL, 0 },
        { "8 ", -EINVAL, 0 },   { "-1", -EINVAL, 0 },   { "+1", -EINVAL, 0 },
        { "0x10", -EINVAL, 0 }, { "1.5k", -EINVAL, 0 }, { "8kk", -EINVAL, 0 },
        { "1t", -EINVAL, 0 },   { "8s", -EINVAL, 0 },
    };
    CHECK(check_sizes, cases);
}

Test(size, overflow)
{
    static const struct size_case cases[] = {
        { "18446744073709551615", 0, SIZE_MAX },
        { "18446744073709551616", -ERANGE, 0 },
        { "99999999999999999999999", -ERANGE, 0 },
        { "17179869183g", 0, SIZE_MAX - (1ULL << 30) + 1 },
        { "17179869184g", -ERANGE, 0 },
        { "18014398509481984k", -ERANGE, 0 },
    };
    CHECK(check_sizes, cases);
}

Test(size, null)
{
    size_t out;
    cr_assert_eq(mx_parse_size(NULL, &out), -EINVAL);
}

Test(duration, suffixes_any_case)
{
    static const struct dur_case cases[] = {
        { "0", 0, 0 },            { "5", 0, 5000 },         { "5s", 0, 5000 },
        { "5S", 0, 5000 },        { "250ms", 0, 250 },      { "250MS", 0, 250 },
        { "250Ms", 0, 250 },      { "5m", 0, 300000 },      { "5M", 0, 300000 },
        { "0ms", 0, 0 },          { "0m", 0, 0 },           { "300s", 0, 300000 },
    };
    CHECK(check_durations, cases);
}

Test(duration, rejects_junk)
{
    static const struct dur_case cases[] = {
        { "", -EINVAL, 0 },     { "s", -EINVAL, 0 },     { "ms", -EINVAL, 0 },
        { "5h", -EINVAL, 0 },   { "5 s", -EINVAL, 0 },   { "-5", -EINVAL, 0 },
        { "5sec", -EINVAL, 0 }, { "1.5s", -EINVAL, 0 },  { "5mss", -EINVAL, 0 },
        { "5sm", -EINVAL, 0 },  { "+5s", -EINVAL, 0 },   { "5s ", -EINVAL, 0 },
    };
    CHECK(check_durations, cases);
}

Test(duration, overflow)
{
    static const struct dur_case cases[] = {
        { "4294967295ms", 0, UINT_MAX },      { "4294967296ms", -ERANGE, 0 },
        { "4294967s", 0, 4294967000u },       { "4294968s", -ERANGE, 0 },
        { "71582m", 0, 71582u * 60000u },     { "71583m", -ERANGE, 0 },
        { "99999999999999999999999s", -ERANGE, 0 },
    };
    CHECK(check_durations, cases);
}

Test(uint, bounds_and_junk)
{
    unsigned long out = 99;

    cr_assert_eq(mx_parse_uint("0", 10, &out), 0);
    cr_assert_eq(out, 0);
    cr_assert_eq(mx_parse_uint("10", 10, &out), 0);
    cr_assert_eq(out, 10);
    out = 99;
    cr_assert_eq(mx_parse_uint("11", 10, &out), -ERANGE);
    cr_assert_eq(mx_parse_uint("18446744073709551615", ULONG_MAX, &out), 0);
    cr_assert_eq(out, ULONG_MAX);
    cr_assert_eq(mx_parse_uint("18446744073709551616", ULONG_MAX, &out), -ERANGE);
    cr_assert_eq(out, ULONG_MAX, "output written on error");

    static const char *const junk[] = { "", "1k", "-1", " 1", "1 ", "+1", "0x1", "1.0", NULL };
    for (int i = 0; junk[i]; i++)
        cr_assert_eq(mx_parse_uint(junk[i], 1000, &out), -EINVAL, "'%s'", junk[i]);
    cr_assert_eq(mx_parse_uint(NULL, 1000, &out), -EINVAL);
}

Test(format, size_picks_largest_exact_suffix)
{
    static const struct { size_t v; const char *text; } cases[] = {
        { 0, "0" },           { 1000, "1000" },    { 1024, "1k" },
        { 1536, "1536" },     { 8192, "8k" },      { 1025, "1025" },
        { 4u << 20, "4m" },   { 1u << 30, "1g" },  { 3ULL << 30, "3g" },
        { (1u << 20) + 1024, "1025k" },
    };
    char buf[32];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mx_format_size(cases[i].v, buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].text);
    }
}

Test(format, duration)
{
    static const struct { unsigned v; const char *text; } cases[] = {
        { 0, "0" },  { 250, "250ms" },  { 1500, "1500ms" },  { 5000, "5s" },
        { 300000, "300s" },  { UINT_MAX, "4294967295ms" },
    };
    char buf[32];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mx_format_duration_ms(cases[i].v, buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].text);
    }
}

Test(format, reads_back)
{
    static const size_t sizes[] = { 0, 1, 16, 1023, 1024, 65536, 3u << 20, SIZE_MAX };
    static const unsigned durs[] = { 0, 1, 999, 1000, 60000, 86400000, UINT_MAX };
    char buf[32];

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t back = 0;
        mx_format_size(sizes[i], buf, sizeof buf);
        cr_assert_eq(mx_parse_size(buf, &back), 0, "'%s'", buf);
        cr_assert_eq(back, sizes[i], "'%s'", buf);
    }
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        unsigned back = 0;
        mx_format_duration_ms(durs[i], buf, sizeof buf);
        cr_assert_eq(mx_parse_duration_ms(buf, &back), 0, "'%s'", buf);
        cr_assert_eq(back, durs[i], "'%s'", buf);
    }
}
