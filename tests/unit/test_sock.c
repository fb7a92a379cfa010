/* test_sock.c - unit tests for address parsing/formatting (src/io/sock.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "io/sock.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static void parse_ok(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0x5A, sizeof *ss);
    *len = 0;
    int r = mx__sock_parse_addr(s, ss, len);
    cr_assert_eq(r, 0, "\"%s\" should parse (got %d)", s, r);
}

static void parse_bad(const char *s)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int r = mx__sock_parse_addr(s, &ss, &len);
    cr_assert_eq(r, -EINVAL, "\"%s\" should be rejected with -EINVAL (got %d)", s, r);
}

static void roundtrip(const char *s)
{
    struct sockaddr_storage ss;
    socklen_t len;
    parse_ok(s, &ss, &len);
    char out[MX_ADDRSTRLEN];
    mx__sock_format_addr((struct sockaddr *)&ss, out, sizeof out);
    cr_assert_str_eq(out, s);
}

Test(sock, parse_v4)
{
    struct sockaddr_storage ss;
    socklen_t len;
    parse_ok("127.0.0.1:7000", &ss, &len);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(a->sin_family, AF_INET);
    cr_assert_eq(ntohs(a->sin_port), 7000);
    cr_assert_eq(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
    cr_assert_eq(memcmp(a->sin_zero, "\0\0\0\0\0\0\0\0", 8), 0, "sin_zero cleared");
}

Test(sock, parse_v4_any)
{
    struct sockaddr_storage ss;
    socklen_t len;
    parse_ok("*:80", &ss, &len);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(a->sin_family, AF_INET);
    cr_assert_eq(ntohs(a->sin_port), 80);
    cr_assert_eq(a->sin_addr.s_addr, htonl(INADDR_ANY));

    parse_ok("0.0.0.0:65535", &ss, &len);
    cr_assert_eq(ntohs(a->sin_port), 65535);
}

Test(sock, parse_v6_loopback)
{
    struct sockaddr_storage ss;
    socklen_t len;
    parse_ok("[::1]:7000", &ss, &len);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(a->sin6_family, AF_INET6);
    cr_assert_eq(ntohs(a->sin6_port), 7000);
    cr_assert(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
    cr_assert_eq(a->sin6_flowinfo, 0);
    cr_assert_eq(a->sin6_scope_id, 0);
}

Test(sock, parse_v6_any_port0)
{
    struct sockaddr_storage ss;
    socklen_t len;
    parse_ok("[::]:0", &ss, &len);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(a->sin6_family, AF_INET6);
    cr_assert_eq(a->sin6_port, 0);
    cr_assert(IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr));
}

Test(sock, reject_bad)
{
    parse_bad("127.0.0.1");
    parse_bad("1.2.3.4:70000");
    parse_bad("1.2.3.4:65536");
    parse_bad("[::1]7000");
    parse_bad("host:80");
    parse_bad(":80");
    parse_bad("1.2.3.4:-1");
    parse_bad("1.2.3.4:8x");
    parse_bad("1.2.3.4:");
    parse_bad("");
    parse_bad("[::1]:");
    parse_bad("[::1]");
    parse_bad("[]:80");
    parse_bad("[::1:80");
    parse_bad("::1:80");
    parse_bad("[1.2.3.4]:80");
    parse_bad("[::1]:80x");
    parse_bad("1.2.3:80");
    parse_bad("256.1.1.1:80");
    parse_bad("1.2.3.4:+80");
    parse_bad("localhost:80");
    parse_bad("*:");
    parse_bad("[*]:80");
}

Test(sock, reject_port_with_whitespace_or_sign)
{
    /* Ports are plain digits; strtoul() alone would skip leading blanks
     * and take a sign after them. */
    static const char *bad[] = {
        "1.2.3.4: 80", "1.2.3.4:\t80", "1.2.3.4: +80", "1.2.3.4: -0",
        "[::1]: 80", "*: 80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        int r = mx__sock_parse_addr(bad[i], &ss, &len);
        cr_expect_eq(r, -EINVAL, "\"%s\" should be rejected with -EINVAL (got %d)",
                     bad[i], r);
    }
}

Test(sock, format_v4)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5) };
    a.sin_addr.s_addr = htonl(0x01020304);
    char out[MX_ADDRSTRLEN];
    mx__sock_format_addr((struct sockaddr *)&a, out, sizeof out);
    cr_assert_str_eq(out, "1.2.3.4:5");
}

Test(sock, format_v6)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(5),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    char out[MX_ADDRSTRLEN];
    mx__sock_format_addr((struct sockaddr *)&a, out, sizeof out);
    cr_assert_str_eq(out, "[::1]:5");
}

Test(sock, format_longest_v6_fits)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(65535) };
    cr_assert_eq(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
                           &a.sin6_addr), 1);
    char out[MX_ADDRSTRLEN];
    mx__sock_format_addr((struct sockaddr *)&a, out, sizeof out);
    char want[MX_ADDRSTRLEN];
    char host[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    snprintf(want, sizeof want, "[%s]:65535", host);
    cr_assert_str_eq(out, want);
}

Test(sock, roundtrip)
{
    roundtrip("127.0.0.1:7000");
    roundtrip("0.0.0.0:0");
    roundtrip("255.255.255.255:65535");
    roundtrip("10.20.30.40:1");
    roundtrip("[::1]:7000");
    roundtrip("[::]:0");
    roundtrip("[2001:db8::8a2e:370:7334]:443");
    roundtrip("[fe80::1]:65535");
    roundtrip("[::ffff:1.2.3.4]:80");
}

Test(sock, format_truncates_safely)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7000) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char out[8];
    memset(out, 'X', sizeof out);
    mx__sock_format_addr((struct sockaddr *)&a, out, 5);
    cr_assert_str_eq(out, "127.");
    cr_assert_eq(out[5], 'X', "no write past outlen");
}
