/* proxy_hdr.c - the PROXY protocol header, versions 1 (a text line) and 2
 * (binary), as haproxy's proxy-protocol.txt describes them. Strict: the
 * spec says any sequence that does not exactly match is to be refused,
 * and a lenient parser is how a client spoofs its address. */
#include "reactor/proxy_hdr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

static const unsigned char v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char v1_sig[] = "PROXY ";

static enum mx__proxy_rc fail(struct mx__proxy_hdr *out, enum mx_proxy_refusal kind,
                              const char *why)
{
    out->refusal = kind;
    out->why = why;
    return MX__PROXY_ERROR;
}

/* Most refusals: the bytes start a header, but not one the spec allows. */
static enum mx__proxy_rc bad(struct mx__proxy_hdr *out, const char *why)
{
    return fail(out, MX_PROXY_REFUSED_MALFORMED, why);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Whether the n bytes we have agree with the first bytes of sig. */
static bool prefix_of(const void *p, size_t n, const void *sig, size_t siglen)
{
    return memcmp(p, sig, min_size(n, siglen)) == 0;
}

/* ---- version 1 ------------------------------------------------------ */

/* A decimal number of at most maxdigits digits, without a leading zero
 * (the spec forbids them: they read as octal to some). */
static bool v1_number(const char *s, size_t n, unsigned maxdigits, unsigned max, unsigned *out)
{
    if (n == 0 || n > maxdigits || (n > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return v <= max;
}

/* Exactly four dotted decimals: inet_pton would also take what the spec
 * does not ("01.2.3.4" on some libcs). */
static bool v1_ipv4(const char *s, size_t n, struct in_addr *out)
{
    unsigned char b[4];
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        size_t end = at;
        while (end < n && s[end] != '.')
            end++;
        unsigned v;
        if (!v1_number(s + at, end - at, 3, 255, &v) || (i < 3) != (end < n))
            return false;
        b[i] = (unsigned char)v;
        at = end + 1;
    }
    memcpy(out, b, sizeof b);
    return true;
}

/* Hex groups and colons (one "::" at most, which inet_pton checks); no
 * embedded IPv4 form, which the spec's format does not have. */
static bool v1_ipv6(const char *s, size_t n, struct in6_addr *out)
{
    char text[40];
    if (n == 0 || n >= sizeof text)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != ':')
            return false;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, out) == 1;
}

struct v1_field {
    const char *s;
    size_t n;
};

/* Splits the line (without its CR LF) at single spaces into at most max
 * fields; an empty field (two spaces, a space at either end) is an error. */
static int v1_split(const char *line, size_t n, struct v1_field *f, int max)
{
    int nf = 0;
    size_t at = 0;
    while (at <= n) {
        const char *sp = memchr(line + at, ' ', n - at);
        size_t end = sp ? (size_t)(sp - line) : n;
        if (end == at || nf == max)
            return -1;
        f[nf++] = (struct v1_field){ line + at, end - at };
        at = end + 1;
    }
    return nf;
}

static enum mx__proxy_rc v1_tcp(const struct v1_field *f, bool six, struct mx__proxy_hdr *out)
{
    unsigned sport, dport;
    struct in6_addr a6;
    struct in_addr a4;
    bool src_ok = six ? v1_ipv6(f[2].s, f[2].n, &out->src.v6.sin6_addr)
                      : v1_ipv4(f[2].s, f[2].n, &out->src.v4.sin_addr);
    bool dst_ok = six ? v1_ipv6(f[3].s, f[3].n, &a6) : v1_ipv4(f[3].s, f[3].n, &a4);
    if (!src_ok || !dst_ok)
        return bad(out, six ? "PROXY v1: bad TCP6 address" : "PROXY v1: bad TCP4 address");
    if (!v1_number(f[4].s, f[4].n, 5, 65535, &sport) ||
        !v1_number(f[5].s, f[5].n, 5, 65535, &dport))
        return bad(out, "PROXY v1: bad port");
    if (six) {
        out->src.v6.sin6_family = AF_INET6;
        out->src.v6.sin6_port = htons((uint16_t)sport);
    } else {
        out->src.v4.sin_family = AF_INET;
        out->src.v4.sin_port = htons((uint16_t)sport);
    }
    out->has_src = true;
    return MX__PROXY_DONE;
}

/* The line without its CR LF, which the caller has found. */
static enum mx__proxy_rc v1_line(const char *line, size_t n, struct mx__proxy_hdr *out)
{
    struct v1_field f[6];
    /* UNKNOWN: the rest of the line is to be ignored, whatever it is. */
    if (n >= 13 && memcmp(line, "PROXY UNKNOWN", 13) == 0 && (n == 13 || line[13] == ' '))
        return MX__PROXY_DONE;
    int nf = v1_split(line, n, f, 6);
    if (nf < 2 || f[0].n != 5 || memcmp(f[0].s, "PROXY", 5) != 0)
        return bad(out, "PROXY v1: malformed line");
    bool tcp4 = f[1].n == 4 && memcmp(f[1].s, "TCP4", 4) == 0;
    bool tcp6 = f[1].n == 4 && memcmp(f[1].s, "TCP6", 4) == 0;
    if (!tcp4 && !tcp6)
        return bad(out, "PROXY v1: protocol not TCP4, TCP6 or UNKNOWN");
    if (nf != 6)
        return bad(out, "PROXY v1: expected 4 fields after the protocol");
    return v1_tcp(f, tcp6, out);
}

static enum mx__proxy_rc parse_v1(const char *p, size_t n, struct mx__proxy_hdr *out)
{
    size_t scan = min_size(n, MX__PROXY_V1_MAX);
    for (size_t i = 0; i < scan; i++) {
        if (p[i] == '\n')
            return bad(out, "PROXY v1: LF without CR");
        if (p[i] != '\r' || i + 1 == n)
            continue;
        if (i + 2 > MX__PROXY_V1_MAX)
            break;
        if (p[i + 1] != '\n')
            return bad(out, "PROXY v1: CR without LF");
        out->version = 1;
        out->len = i + 2;
        return v1_line(p, i, out);
    }
    if (n >= MX__PROXY_V1_MAX)
        return fail(out, MX_PROXY_REFUSED_TOO_LONG, "PROXY v1: no CR LF within 107 bytes");
    return MX__PROXY_MORE;
}

/* ---- version 2 ------------------------------------------------------ */

/* TLVs (type, 16-bit length, value) fill the rest of the header: none is
 * used, but each must fit, or the header is not what it says. */
static enum mx__proxy_rc v2_tlvs(const unsigned char *p, size_t at, size_t end,
                                 struct mx__proxy_hdr *out)
{
    while (at < end) {
        if (end - at < 3)
            return bad(out, "PROXY v2: truncated TLV");
        size_t len = (size_t)p[at + 1] << 8 | p[at + 2];
        if (len > end - at - 3)
            return bad(out, "PROXY v2: TLV runs past the header");
        at += 3 + len;
    }
    return MX__PROXY_DONE;
}

static enum mx__proxy_rc v2_proxy(const unsigned char *p, size_t body, unsigned fam,
                                  unsigned proto, struct mx__proxy_hdr *out)
{
    const size_t at = MX__PROXY_V2_FIXED, end = at + body;
    /* TCP over IPv4 or IPv6 carries the client; UNSPEC, UNIX and
     * datagrams fall back to the real peer, as the spec asks of a
     * receiver that does not use them. */
    if (proto != 1 || (fam != 1 && fam != 2))
        return MX__PROXY_DONE;
    size_t alen = fam == 1 ? 4 : 16;
    if (body < 2 * alen + 4)
        return bad(out, "PROXY v2: address block shorter than its family needs");
    uint16_t port;
    memcpy(&port, p + at + 2 * alen, sizeof port);
    if (fam == 1) {
        out->src.v4.sin_family = AF_INET;
        out->src.v4.sin_port = port;
        memcpy(&out->src.v4.sin_addr, p + at, alen);
    } else {
        out->src.v6.sin6_family = AF_INET6;
        out->src.v6.sin6_port = port;
        memcpy(&out->src.v6.sin6_addr, p + at, alen);
    }
    out->has_src = true;
    return v2_tlvs(p, at + 2 * alen + 4, end, out);
}

static enum mx__proxy_rc parse_v2(const unsigned char *p, size_t n, struct mx__proxy_hdr *out)
{
    if (n > sizeof v2_sig && p[12] >> 4 != 2)
        return fail(out, MX_PROXY_REFUSED_VERSION, "PROXY v2: version is not 2");
    if (n < MX__PROXY_V2_FIXED)
        return MX__PROXY_MORE;
    unsigned cmd = p[12] & 0xF, fam = p[13] >> 4, proto = p[13] & 0xF;
    size_t body = (size_t)p[14] << 8 | p[15];
    if (cmd > 1)
        return bad(out, "PROXY v2: command neither LOCAL nor PROXY");
    if (fam > 3 || proto > 2)
        return bad(out, "PROXY v2: unknown address family or transport");
    if (body > MX__PROXY_V2_BODY_MAX)
        return fail(out, MX_PROXY_REFUSED_TOO_LONG, "PROXY v2: header longer than 528 bytes");
    if (n < MX__PROXY_V2_FIXED + body)
        return MX__PROXY_MORE;
    out->version = 2;
    out->len = MX__PROXY_V2_FIXED + body;
    /* LOCAL: the proxy's own connection (a health check); its address
     * block, whatever it holds, is to be skipped. */
    return cmd == 0 ? MX__PROXY_DONE : v2_proxy(p, body, fam, proto, out);
}

/* ---- either --------------------------------------------------------- */

enum mx__proxy_rc mx__proxy_parse(const void *p, size_t n, unsigned versions,
                                  struct mx__proxy_hdr *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return MX__PROXY_MORE;
    bool v2 = prefix_of(p, n, v2_sig, sizeof v2_sig);
    bool v1 = prefix_of(p, n, v1_sig, sizeof v1_sig - 1);
    if (v2 && !(versions & MX__PROXY_V2))
        return fail(out, MX_PROXY_REFUSED_VERSION, "PROXY v2 header where only v1 is accepted");
    if (v1 && !(versions & MX__PROXY_V1))
        return fail(out, MX_PROXY_REFUSED_VERSION, "PROXY v1 header where only v2 is accepted");
    if (v2)
        return parse_v2(p, n, out);
    if (v1)
        return n < sizeof v1_sig - 1 ? MX__PROXY_MORE : parse_v1(p, n, out);
    return fail(out, MX_PROXY_REFUSED_NOT_PROXY, "not a PROXY protocol header");
}
