/* test_admin_http.c - the admin listener's request head parser
 * (src/io/http.c): every malformed form gets its status. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "muxd/http.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static struct mx_http_req req;

static int parse_max(const char *s, size_t max)
{
    return mx_http_parse(s, strlen(s), max, &req);
}

static int parse(const char *s)
{
    return parse_max(s, 8192);
}

Test(http, get_with_host)
{
    const char *s = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
    cr_assert_eq(parse(s), 200);
    cr_assert_str_eq(req.method, "GET");
    cr_assert_str_eq(req.path, "/metrics");
    cr_assert_not(req.http10);
    cr_assert_eq(req.head_len, strlen(s));
}

Test(http, query_is_cut_from_the_path)
{
    cr_assert_eq(parse("GET /metrics?x=1&y HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    cr_assert_str_eq(req.path, "/metrics");
}

Test(http, bare_lf_lines_and_http10_without_host)
{
    cr_assert_eq(parse("GET /healthz HTTP/1.0\n\n"), 200);
    cr_assert(req.http10);
    cr_assert_str_eq(req.path, "/healthz");
}

Test(http, other_methods_parse_for_the_router_to_refuse)
{
    cr_assert_eq(parse("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"), 200);
    cr_assert_str_eq(req.method, "POST");
}

Test(http, incomplete_heads_want_more)
{
    cr_assert_eq(parse(""), 0);
    cr_assert_eq(parse("GET / HTTP/1.1"), 0);
    cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n"), 0);
    cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\r"), 0);
}

Test(http, over_the_size_limit_is_431)
{
    char big[200];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(parse_max(big, 100), 431);
    cr_assert_eq(parse_max(big, 8192), 0);
    /* a complete head past the limit counts as too large too */
    cr_assert_eq(parse_max("GET / HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxx\r\n\r\n", 20), 431);
}

Test(http, malformed_request_lines_are_400)
{
    const char *bad[] = {
        "\r\n\r\n",                               /* empty request line */
        "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",  /* leading blank line */
        "GET\r\nHost: x\r\n\r\n",                 /* no target, no version */
        "GET /\r\nHost: x\r\n\r\n",               /* HTTP/0.9 style */
        " GET / HTTP/1.1\r\nHost: x\r\n\r\n",     /* empty method */
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",     /* two spaces */
        "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",     /* trailing space */
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",      /* method not a token */
        "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", /* not origin-form */
        "GET http://h/ HTTP/1.1\r\nHost: x\r\n\r\n", /* absolute-form */
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",      /* asterisk-form */
        "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", /* control byte in target */
        "GET / http/1.1\r\nHost: x\r\n\r\n",      /* lower-case version */
        "GET / HTTP/1\r\nHost: x\r\n\r\n",        /* short version */
        "GET / HTTP/1.1x\r\nHost: x\r\n\r\n",     /* long version */
        "GET / HTTP/a.b\r\nHost: x\r\n\r\n",      /* not digits */
        "GET / HTTP/1.1\rX\r\nHost: x\r\n\r\n",   /* bare CR */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(parse(bad[i]), 400, "case %zu: %s", i, bad[i]);
}

Test(http, malformed_headers_are_400)
{
    const char *bad[] = {
        "GET / HTTP/1.1\r\n\r\n",                          /* 1.1 without Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",    /* two Hosts */
        "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",              /* space before colon */
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX(: b\r\n\r\n",      /* name not a token */
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\x01\r\n\r\n",   /* control byte in value */
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\x7f\r\n\r\n",   /* DEL in value */
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n",    /* bare CR in value */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(parse(bad[i]), 400, "case %zu: %s", i, bad[i]);
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n";
    cr_assert_eq(mx_http_parse(nul, sizeof nul - 1, 8192, &req), 400, "NUL in a value");
}

Test(http, long_target_is_414_and_long_method_501)
{
    char s[600];
    char path[300];
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    snprintf(s, sizeof s, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    cr_assert_eq(parse(s), 414);
    cr_assert_eq(parse("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: x\r\n\r\n"), 501);
}

Test(http, other_versions_are_505)
{
    cr_assert_eq(parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
    cr_assert_eq(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), 505);
    cr_assert_eq(parse("GET / HTTP/0.9\r\nHost: x\r\n\r\n"), 505);
}

Test(http, header_values_may_hold_tabs_and_obs_text)
{
    cr_assert_eq(parse("GET / HTTP/1.1\r\nHost:x\r\nX: a\tb \xc3\xa9\r\n\r\n"), 200);
}

Test(http, reasons)
{
    cr_assert_str_eq(mx_http_reason(404), "Not Found");
    cr_assert_str_eq(mx_http_reason(431), "Request Header Fields Too Large");
}
