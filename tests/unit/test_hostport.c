/* test_hostport.c - "HOST:PORT" as [cluster] redis takes it: names,
 * IPv4, bracketed IPv6, ports 1 to 65535, and everything else refused. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "app/hostport.h"

struct good_case {
    const char *text, *host;
    unsigned port;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(hostport, names_v4_and_bracketed_v6)
{
    static const struct good_case cases[] = {
        { "127.0.0.1:6379", "127.0.0.1", 6379 },
        { "10.0.0.5:1", "10.0.0.5", 1 },
        { "0.0.0.0:65535", "0.0.0.0", 65535 },
        { "localhost:6379", "localhost", 6379 },
        { "redis:6379", "redis", 6379 },
        { "redis.internal.example:6380", "redis.internal.example", 6380 },
        { "Redis-1.EXAMPLE.org:7000", "Redis-1.EXAMPLE.org", 7000 },
        { "redis_1:6379", "redis_1", 6379 },        /* compose service names */
        { "1redis.example:6379", "1redis.example", 6379 },
        { "a.123b:6379", "a.123b", 6379 },
        { "[::1]:6379", "::1", 6379 },
        { "[::]:6379", "::", 6379 },
        { "[fd00::5]:6379", "fd00::5", 6379 },
        { "[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80 },
        { "[2001:db8:0:0:0:0:0:1]:6379", "2001:db8:0:0:0:0:0:1", 6379 },
        { "redis:06379", "redis", 6379 },
    };

    for (size_t i = 0; i < N(cases); i++) {
        char host[128];
        unsigned port = 0;
        int rc = mx_hostport_parse(cases[i].text, host, sizeof host, &port);
        cr_assert_eq(rc, 0, "'%s' refused", cases[i].text);
        cr_assert_str_eq(host, cases[i].host, "'%s'", cases[i].text);
        cr_assert_eq(port, cases[i].port, "'%s': port %u", cases[i].text, port);
    }
}

Test(hostport, bad_shapes_are_refused_and_nothing_written)
{
    static const char *const bad[] = {
        "", "redis", "6379", ":6379", "redis:", "redis:0", "redis:65536", "redis:99999999",
        "redis:-1", "redis:+6379", "redis: 6379", "redis:6379 ", " redis:6379", "redis:0x10",
        "redis:63a9", "re dis:6379", "redis..example:6379", ".redis:6379", "redis.:6379",
        "-redis:6379", "redis-:6379", "red!s:6379", "redis:6379:1", "*:6379",
        /* An all-digit last label is an IPv4 address or nothing. */
        "1.2.3:6379", "256.1.1.1:6379", "1.2.3.4.5:6379", "10.0.0.01:6379", "123:6379",
        /* IPv6 only in brackets, and a real one. */
        "::1:6379", "fe80::1:6379", "[::1]", "[::1]6379", "[::1]:", "[]:6379",
        "[1.2.3.4]:6379", "[::1:6379", "::1]:6379", "[redis]:6379", "[fe80::1%eth0]:6379",
        "[::1]:0", "[::1]:65536",
    };

    for (size_t i = 0; i < N(bad); i++) {
        char host[128] = "untouched";
        unsigned port = 4242;
        cr_assert_eq(mx_hostport_parse(bad[i], host, sizeof host, &port), -1,
                     "'%s' taken", bad[i]);
        cr_assert_str_eq(host, "untouched", "'%s': host written", bad[i]);
        cr_assert_eq(port, 4242, "'%s': port written", bad[i]);
    }
    cr_assert_eq(mx_hostport_parse(NULL, NULL, 0, NULL), -1);
}

/* Each label at most 63 characters, the whole name at most 253. */
Test(hostport, name_lengths)
{
    char text[400], label[70];

    memset(label, 'a', 63);
    label[63] = '\0';
    snprintf(text, sizeof text, "%s:1", label);
    cr_assert_eq(mx_hostport_parse(text, NULL, 0, NULL), 0);
    snprintf(text, sizeof text, "%sa:1", label);
    cr_assert_eq(mx_hostport_parse(text, NULL, 0, NULL), -1, "a 64-character label");

    /* 4 labels of 63 and a dot between: 255; cut to 253, then 254. */
    snprintf(text, sizeof text, "%s.%s.%s.%s", label, label, label, label);
    strcpy(text + 253, ":1");
    cr_assert_eq(mx_hostport_parse(text, NULL, 0, NULL), 0, "253 characters");
    text[253] = 'a';
    strcpy(text + 254, ":1");
    cr_assert_eq(mx_hostport_parse(text, NULL, 0, NULL), -1, "254 characters");
}

Test(hostport, host_must_fit)
{
    char host[10] = "untouched";
    unsigned port = 0;

    cr_assert_eq(mx_hostport_parse("abcdefghi:1", host, sizeof host, &port), 0);
    cr_assert_str_eq(host, "abcdefghi");
    strcpy(host, "untouched");
    cr_assert_eq(mx_hostport_parse("abcdefghij:1", host, sizeof host, &port), -1);
    cr_assert_str_eq(host, "untouched");
    cr_assert_eq(mx_hostport_parse("[::1]:9", host, 4, &port), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 9);
}

/* host and port may be left out to check the text alone. */
Test(hostport, check_only)
{
    unsigned port = 0;
    char host[16];

    cr_assert_eq(mx_hostport_parse("redis:6379", NULL, 0, NULL), 0);
    cr_assert_eq(mx_hostport_parse("redis:6379", NULL, 0, &port), 0);
    cr_assert_eq(port, 6379);
    cr_assert_eq(mx_hostport_parse("redis:6380", host, sizeof host, NULL), 0);
    cr_assert_str_eq(host, "redis");
    cr_assert_eq(mx_hostport_parse("redis", NULL, 0, NULL), -1);
}
