/* test_proxy_hdr.c - the PROXY protocol parser (versions 1 and 2) on whole,
 * truncated and malformed headers, and proxy_from's address ranges. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reactor/cidr.h"
#include "reactor/proxy_hdr.h"

#define BOTH (MX__PROXY_V1 | MX__PROXY_V2)
/* A string literal as pointer and length (NUL bytes inside count). */
#define LIT(s) (s), sizeof(s) - 1

static enum mx__proxy_rc parse(const void *p, size_t n, unsigned v, struct mx__proxy_hdr *h)
{
    return mx__proxy_parse(p, n, v, h);
}

/* Every proper prefix of a header that parses whole must ask for more:
 * the reactor calls again as bytes trickle in. */
static void require_more_before(const void *p, size_t hdr_len, unsigned v)
{
    struct mx__proxy_hdr h;
    for (size_t n = 0; n < hdr_len; n++) {
        enum mx__proxy_rc rc = parse(p, n, v, &h);
        cr_assert_eq(rc, MX__PROXY_MORE, "prefix of %zu of %zu bytes: rc %d (%s)", n, hdr_len,
                     rc, h.why ? h.why : "");
    }
}

static void require_error(const void *p, size_t n, unsigned v, const char *why_part)
{
    struct mx__proxy_hdr h;
    enum mx__proxy_rc rc = parse(p, n, v, &h);
    cr_assert_eq(rc, MX__PROXY_ERROR, "'%.*s': rc %d, want an error", (int)n, (const char *)p, rc);
    cr_assert(h.why && strstr(h.why, why_part), "'%.*s': reason '%s', want '%s'", (int)n,
              (const char *)p, h.why ? h.why : "(none)", why_part);
}

static void require_v4(const struct mx__proxy_hdr *h, const char *addr, unsigned port)
{
    char text[INET_ADDRSTRLEN];
    cr_assert(h->has_src);
    cr_assert_eq(h->src.sa.sa_family, AF_INET);
    inet_ntop(AF_INET, &h->src.v4.sin_addr, text, sizeof text);
    cr_assert_str_eq(text, addr);
    cr_assert_eq(ntohs(h->src.v4.sin_port), port);
}

static void require_v6(const struct mx__proxy_hdr *h, const char *addr, unsigned port)
{
    char text[INET6_ADDRSTRLEN];
    cr_assert(h->has_src);
    cr_assert_eq(h->src.sa.sa_family, AF_INET6);
    inet_ntop(AF_INET6, &h->src.v6.sin6_addr, text, sizeof text);
    cr_assert_str_eq(text, addr);
    cr_assert_eq(ntohs(h->src.v6.sin6_port), port);
}

/* ---- version 1 ---------------------------------------------------------- */

Test(proxy_v1, tcp4_with_data_after)
{
    static const char msg[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    size_t hdr = strlen("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
    struct mx__proxy_hdr h;
    require_more_before(msg, hdr, BOTH);
    cr_assert_eq(parse(LIT(msg), BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, hdr);
    cr_assert_eq(h.version, 1);
    require_v4(&h, "192.168.0.1", 56324);
    /* v1 alone takes it too. */
    cr_assert_eq(parse(LIT(msg), MX__PROXY_V1, &h), MX__PROXY_DONE);
}

Test(proxy_v1, tcp4_extremes)
{
    struct mx__proxy_hdr h;
    cr_assert_eq(parse(LIT("PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n"), BOTH, &h),
                 MX__PROXY_DONE);
    require_v4(&h, "255.255.255.255", 65535);
}

Test(proxy_v1, tcp6_full_and_compressed)
{
    static const char full[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    struct mx__proxy_hdr h;
    cr_assert_eq(sizeof full - 1, 104, "the spec's longest TCP6 line");
    require_more_before(full, sizeof full - 1, BOTH);
    cr_assert_eq(parse(LIT(full), BOTH, &h), MX__PROXY_DONE);
    require_v6(&h, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    cr_assert_eq(parse(LIT("PROXY TCP6 2001:DB8::1 ::1 1234 80\r\nx"), BOTH, &h), MX__PROXY_DONE);
    require_v6(&h, "2001:db8::1", 1234);
    cr_assert_eq(h.len, sizeof("PROXY TCP6 2001:DB8::1 ::1 1234 80\r\n") - 1);
}

Test(proxy_v1, unknown_keeps_the_peer)
{
    static const char worst[] = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    struct mx__proxy_hdr h;
    cr_assert_eq(parse(LIT("PROXY UNKNOWN\r\nhello"), BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, 15);
    cr_assert(!h.has_src);
    /* The longest line the spec allows: 107 bytes, CR LF included. */
    cr_assert_eq(sizeof worst - 1, MX__PROXY_V1_MAX);
    cr_assert_eq(parse(LIT(worst), BOTH, &h), MX__PROXY_DONE);
    cr_assert(!h.has_src);
    /* Whatever follows UNKNOWN is to be ignored. */
    cr_assert_eq(parse(LIT("PROXY UNKNOWN whatever 1 2\r\n"), BOTH, &h), MX__PROXY_DONE);
    require_error(LIT("PROXY UNKNOWNX\r\n"), BOTH, "protocol not TCP4");
}

Test(proxy_v1, malformed_lines)
{
    static const struct { const char *line, *why; } bad[] = {
        { "PROXY TCP4 192.168.0.01 10.0.0.1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP4 256.0.0.1 10.0.0.1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP4 1.2.3.4. 10.0.0.1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP4 1.2.3.4.5 10.0.0.1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP4 ::1 10.0.0.1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP4 1.2.3.4 ::1 1 2\r\n", "bad TCP4 address" },
        { "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "bad TCP6 address" },
        { "PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n", "bad TCP6 address" },
        { "PROXY TCP6 1::2::3 ::1 1 2\r\n", "bad TCP6 address" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "bad port" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "bad port" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", "bad port" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "malformed" },
        { "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "malformed" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "4 fields" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "malformed" },
        { "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "protocol not" },
        { "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "protocol not" },
        { "PROXY \r\n", "malformed" },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "LF without CR" },
        { "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n", "CR without LF" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        require_error(bad[i].line, strlen(bad[i].line), BOTH, bad[i].why);
}

Test(proxy_v1, too_long_without_crlf)
{
    char line[200];
    memset(line, 'x', sizeof line);
    memcpy(line, "PROXY UNKNOWN ", 14);
    struct mx__proxy_hdr h;
    cr_assert_eq(parse(line, MX__PROXY_V1_MAX - 1, BOTH, &h), MX__PROXY_MORE);
    require_error(line, MX__PROXY_V1_MAX, BOTH, "no CR LF within 107");
    /* A CR as byte 107 needs its LF as byte 108: too late. */
    line[MX__PROXY_V1_MAX - 1] = '\r';
    line[MX__PROXY_V1_MAX] = '\n';
    require_error(line, MX__PROXY_V1_MAX + 1, BOTH, "no CR LF within 107");
    /* A CR last in what came so far waits for its LF. */
    cr_assert_eq(parse(LIT("PROXY UNKNOWN\r"), BOTH, &h), MX__PROXY_MORE);
}

Test(proxy_any, not_a_header)
{
    struct mx__proxy_hdr h;
    require_error(LIT("GET / HTTP/1.1\r\n"), BOTH, "not a PROXY");
    require_error(LIT("NICK alice\r\n"), BOTH, "not a PROXY");
    require_error(LIT("PROXX"), BOTH, "not a PROXY");
    require_error(LIT("PROXYTCP4"), BOTH, "not a PROXY");
    require_error(LIT("\r\n\r\n\x01"), BOTH, "not a PROXY");
    cr_assert_eq(parse(LIT("PROX"), BOTH, &h), MX__PROXY_MORE);
    cr_assert_eq(parse(LIT("\r\n\r\n\0"), BOTH, &h), MX__PROXY_MORE);
}

Test(proxy_any, version_not_accepted)
{
    require_error(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), MX__PROXY_V2, "only v2");
    require_error(LIT("PROX"), MX__PROXY_V2, "only v2");
    require_error(LIT("\r\n\r\n\0\r\nQUIT\n\x21\x11\0\0"), MX__PROXY_V1, "only v1");
    require_error(LIT("\r"), MX__PROXY_V1, "only v1");
}

/* ---- version 2 ---------------------------------------------------------- */

#define SIG "\r\n\r\n\0\r\nQUIT\n"

/* A v2 header: signature, ver_cmd, fam, the body's length, then body. */
static size_t v2(unsigned char *out, unsigned ver_cmd, unsigned fam, const void *body,
                 size_t blen)
{
    memcpy(out, SIG, 12);
    out[12] = (unsigned char)ver_cmd;
    out[13] = (unsigned char)fam;
    out[14] = (unsigned char)(blen >> 8);
    out[15] = (unsigned char)blen;
    if (blen)
        memcpy(out + 16, body, blen);
    return 16 + blen;
}

static const unsigned char tcp4_body[12] = { 127, 0, 0, 5, 127, 0, 0, 1, 0x9c, 0x40, 0x1f, 0x90 };

Test(proxy_v2, tcp4_with_data_after)
{
    unsigned char b[64];
    size_t n = v2(b, 0x21, 0x11, tcp4_body, sizeof tcp4_body);
    memcpy(b + n, "hello", 5);
    struct mx__proxy_hdr h;
    require_more_before(b, n, BOTH);
    require_more_before(b, n, MX__PROXY_V2);
    cr_assert_eq(parse(b, n + 5, BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, 28);
    cr_assert_eq(h.version, 2);
    require_v4(&h, "127.0.0.5", 40000);
}

Test(proxy_v2, tcp6)
{
    unsigned char body[36] = { 0 }, b[64];
    inet_pton(AF_INET6, "2001:db8::42", body);
    inet_pton(AF_INET6, "::1", body + 16);
    body[32] = 0x01; body[33] = 0xbb; /* 443 */
    size_t n = v2(b, 0x21, 0x21, body, sizeof body);
    struct mx__proxy_hdr h;
    require_more_before(b, n, BOTH);
    cr_assert_eq(parse(b, n, BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, 52);
    require_v6(&h, "2001:db8::42", 443);
}

Test(proxy_v2, tlvs_are_skipped)
{
    /* ALPN "h2", NOOP of 0 bytes, a custom 0xE0 of 3: all framed right. */
    unsigned char body[64], b[96];
    memcpy(body, tcp4_body, 12);
    static const unsigned char tlvs[] = { 0x01, 0, 2, 'h', '2', 0x04, 0, 0, 0xE0, 0, 3, 1, 2, 3 };
    memcpy(body + 12, tlvs, sizeof tlvs);
    size_t n = v2(b, 0x21, 0x11, body, 12 + sizeof tlvs);
    struct mx__proxy_hdr h;
    require_more_before(b, n, BOTH);
    cr_assert_eq(parse(b, n, BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, n);
    require_v4(&h, "127.0.0.5", 40000);
}

Test(proxy_v2, malformed_tlvs)
{
    unsigned char body[32], b[64];
    memcpy(body, tcp4_body, 12);
    /* Two bytes left: not even a TLV's type and length. */
    body[12] = 0x04; body[13] = 0;
    size_t n = v2(b, 0x21, 0x11, body, 14);
    require_error(b, n, BOTH, "truncated TLV");
    /* A length past the header's end. */
    body[12] = 0x01; body[13] = 0; body[14] = 5; body[15] = 'x';
    n = v2(b, 0x21, 0x11, body, 16);
    require_error(b, n, BOTH, "TLV runs past");
}

Test(proxy_v2, local_keeps_the_peer)
{
    unsigned char b[64];
    struct mx__proxy_hdr h;
    /* What haproxy's health checks send: LOCAL, UNSPEC, no body. */
    size_t n = v2(b, 0x20, 0x00, NULL, 0);
    cr_assert_eq(parse(b, n, BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, 16);
    cr_assert(!h.has_src);
    /* LOCAL with an address block (and junk for TLVs): skipped whole. */
    unsigned char body[15];
    memcpy(body, tcp4_body, 12);
    memset(body + 12, 0xff, 3);
    n = v2(b, 0x20, 0x11, body, sizeof body);
    cr_assert_eq(parse(b, n, BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, 31);
    cr_assert(!h.has_src);
}

Test(proxy_v2, families_not_carried_keep_the_peer)
{
    unsigned char body[216] = { 0 }, b[256];
    struct mx__proxy_hdr h;
    static const unsigned fams[] = { 0x00, 0x01, 0x10, 0x12, 0x22, 0x31, 0x32 };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        size_t n = v2(b, 0x21, fams[i], body, sizeof body);
        cr_assert_eq(parse(b, n, BOTH, &h), MX__PROXY_DONE, "fam 0x%02x", fams[i]);
        cr_assert(!h.has_src, "fam 0x%02x", fams[i]);
        cr_assert_eq(h.len, n);
    }
}

Test(proxy_v2, malformed_fixed_part)
{
    unsigned char b[64];
    size_t n = v2(b, 0x11, 0x11, tcp4_body, 12);
    require_error(b, 13, BOTH, "version is not 2");
    require_error(b, n, BOTH, "version is not 2");
    n = v2(b, 0x22, 0x11, tcp4_body, 12);
    require_error(b, n, BOTH, "neither LOCAL nor PROXY");
    n = v2(b, 0x21, 0x41, tcp4_body, 12);
    require_error(b, n, BOTH, "unknown address family");
    n = v2(b, 0x21, 0x13, tcp4_body, 12);
    require_error(b, n, BOTH, "unknown address family or transport");
    n = v2(b, 0x21, 0x11, tcp4_body, 8);
    require_error(b, n, BOTH, "address block shorter");
    unsigned char six[20] = { 0 };
    n = v2(b, 0x21, 0x21, six, sizeof six);
    require_error(b, n, BOTH, "address block shorter");
}

Test(proxy_v2, size_cap)
{
    static unsigned char body[600], b[700];
    struct mx__proxy_hdr h;
    memcpy(body, tcp4_body, 12);
    /* 512 bytes after the fixed part: one NOOP TLV filling the rest. */
    body[12] = 0x04; body[13] = (500 - 3) >> 8; body[14] = (500 - 3) & 0xff;
    size_t n = v2(b, 0x21, 0x11, body, 512);
    cr_assert_eq(parse(b, n, BOTH, &h), MX__PROXY_DONE);
    cr_assert_eq(h.len, MX__PROXY_MAX);
    /* One more is refused as soon as the length is seen, not waited for. */
    v2(b, 0x21, 0x11, body, 513);
    require_error(b, 16, BOTH, "longer than 528");
    b[14] = 0xff; b[15] = 0xff;
    require_error(b, 16, BOTH, "longer than 528");
}

/* ---- the kind of a refusal, for the counters ------------------------------ */

static void require_kind(const void *p, size_t n, unsigned v, enum mx_proxy_refusal kind)
{
    struct mx__proxy_hdr h;
    cr_assert_eq(parse(p, n, v, &h), MX__PROXY_ERROR, "'%.*s': not an error", (int)n,
                 (const char *)p);
    cr_assert_eq(h.refusal, kind, "'%s': kind %d, want %d", h.why, h.refusal, kind);
}

Test(proxy_any, every_refusal_has_its_kind)
{
    unsigned char b[64];
    require_kind(LIT("GET / HTTP/1.1\r\n"), BOTH, MX_PROXY_REFUSED_NOT_PROXY);
    require_kind(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), MX__PROXY_V2,
                 MX_PROXY_REFUSED_VERSION);
    require_kind(LIT(SIG "\x21\x11\0\0"), MX__PROXY_V1, MX_PROXY_REFUSED_VERSION);
    require_kind(b, v2(b, 0x11, 0x11, tcp4_body, 12), BOTH, MX_PROXY_REFUSED_VERSION);
    require_kind(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), BOTH, MX_PROXY_REFUSED_MALFORMED);
    require_kind(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), BOTH, MX_PROXY_REFUSED_MALFORMED);
    require_kind(b, v2(b, 0x22, 0x11, tcp4_body, 12), BOTH, MX_PROXY_REFUSED_MALFORMED);
    require_kind(b, v2(b, 0x21, 0x11, tcp4_body, 8), BOTH, MX_PROXY_REFUSED_MALFORMED);
    char line[MX__PROXY_V1_MAX];
    memset(line, 'x', sizeof line);
    memcpy(line, "PROXY UNKNOWN ", 14);
    require_kind(line, sizeof line, BOTH, MX_PROXY_REFUSED_TOO_LONG);
    require_kind(LIT(SIG "\x21\x11\x02\x01"), BOTH, MX_PROXY_REFUSED_TOO_LONG);
}

/* ---- proxy_from ---------------------------------------------------------- */

static struct sockaddr_in6 addr(const char *text)
{
    struct sockaddr_in6 ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        ss.sin6_family = AF_INET6;
        cr_assert_eq(inet_pton(AF_INET6, text, &ss.sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        cr_assert_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
    }
    return ss;
}

static bool in_list(const char *list, const char *a)
{
    struct mx__cidr c[MX__CIDR_MAX];
    unsigned n;
    char why[160];
    cr_assert_eq(mx__cidr_parse_list(list, c, MX__CIDR_MAX, &n, why, sizeof why), 0,
                 "'%s': %s", list, why);
    struct sockaddr_in6 ss = addr(a);
    return mx__cidr_match(c, n, (const struct sockaddr *)&ss);
}

Test(proxy_from, matching)
{
    cr_assert(in_list("127.0.0.1", "127.0.0.1"));
    cr_assert(!in_list("127.0.0.1", "127.0.0.5"));
    cr_assert(in_list("10.0.0.0/8, 192.168.1.0/24", "10.200.3.4"));
    cr_assert(in_list("10.0.0.0/8, 192.168.1.0/24", "192.168.1.255"));
    cr_assert(!in_list("10.0.0.0/8, 192.168.1.0/24", "192.168.2.1"));
    cr_assert(in_list("172.16.0.0/12", "172.31.255.255"));
    cr_assert(!in_list("172.16.0.0/12", "172.32.0.0"));
    cr_assert(in_list("0.0.0.0/0", "8.8.8.8"));
    cr_assert(!in_list("0.0.0.0/0", "::1"));
    cr_assert(in_list("::1", "::1"));
    cr_assert(in_list("fd00::/8", "fdab::1"));
    cr_assert(!in_list("fd00::/8", "fe80::1"));
    cr_assert(in_list("2001:db8::/33", "2001:db8:7fff::1"));
    cr_assert(!in_list("2001:db8::/33", "2001:db8:8000::1"));
    /* A dual-stack socket's view of an IPv4 client. */
    cr_assert(in_list("127.0.0.0/8", "::ffff:127.0.0.1"));
    cr_assert(!in_list("", "127.0.0.1"));
}

Test(proxy_from, parsing_errors)
{
    static const struct { const char *list, *why; } bad[] = {
        { "10.0.0.1/8", "bits set past its /8" },
        { "fd00::1/8", "bits set past" },
        { "10.0.0.0/33", "prefix length from 0 to 32" },
        { "::/129", "prefix length from 0 to 128" },
        { "10.0.0.0/", "prefix length" },
        { "10.0.0.0/x", "prefix length" },
        { "localhost", "not a numeric" },
        { "10.0.0", "not a numeric" },
        { "10.0.0.0/8,", "comma-separated" },
        { ",10.0.0.0/8", "comma-separated" },
        { "10.0.0.0/8,,::1", "comma-separated" },
        { "/8", "expected an address" },
    };
    struct mx__cidr c[MX__CIDR_MAX];
    unsigned n;
    char why[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        cr_assert_eq(mx__cidr_parse_list(bad[i].list, c, MX__CIDR_MAX, &n, why, sizeof why),
                     -EINVAL, "'%s' parsed", bad[i].list);
        cr_assert(strstr(why, bad[i].why), "'%s': '%s', want '%s'", bad[i].list, why,
                  bad[i].why);
    }
    cr_assert_eq(mx__cidr_parse_list("  ", c, MX__CIDR_MAX, &n, why, sizeof why), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(mx__cidr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", c, 2, &n, why, sizeof why),
                 -EINVAL);
    cr_assert(strstr(why, "more than 2"), "%s", why);
}
