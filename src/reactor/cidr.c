/* cidr.c - parsing and matching address ranges (cidr.h). */
#include "reactor/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static bool blank(char c) { return c == ' ' || c == '\t'; }

/* The prefix length after '/': 1 to 3 digits, at most max. */
static int parse_bits(const char *s, unsigned max, uint8_t *out)
{
    size_t n = strlen(s);
    unsigned v = 0;
    if (n == 0 || n > 3)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint8_t)v;
    return 0;
}

/* Whether every bit of a past the first bits is zero. */
static bool host_bits_clear(const unsigned char *a, unsigned bits, unsigned total)
{
    for (unsigned i = bits; i < total; i++)
        if (a[i / 8] & (0x80u >> (i % 8)))
            return false;
    return true;
}

/* One range, NUL-terminated and without blanks. */
static int parse_one(const char *s, struct mx__cidr *c, char *why, size_t len)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof addr) {
        snprintf(why, len, "expected an address or address/bits, got '%s'", s);
        return -EINVAL;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(c, 0, sizeof *c);
    c->v6 = strchr(addr, ':') != NULL;
    unsigned total = c->v6 ? 128 : 32;
    if (inet_pton(c->v6 ? AF_INET6 : AF_INET, addr, c->addr) != 1) {
        snprintf(why, len, "'%s' is not a numeric IPv4 or IPv6 address", addr);
        return -EINVAL;
    }
    c->bits = (uint8_t)total;
    if (slash && parse_bits(slash + 1, total, &c->bits) < 0) {
        snprintf(why, len, "expected a prefix length from 0 to %u in '%s'", total, s);
        return -EINVAL;
    }
    if (!host_bits_clear(c->addr, c->bits, total)) {
        snprintf(why, len, "'%s' has bits set past its /%u prefix", s, c->bits);
        return -EINVAL;
    }
    return 0;
}

int mx__cidr_parse_list(const char *text, struct mx__cidr *out, unsigned max, unsigned *n,
                        char *why, size_t len)
{
    *n = 0;
    const char *p = text;
    while (blank(*p))
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        char one[80];
        const char *comma = strchr(p, ',');
        size_t end = comma ? (size_t)(comma - p) : strlen(p);
        size_t start = 0;
        while (start < end && blank(p[start]))
            start++;
        while (end > start && blank(p[end - 1]))
            end--;
        if (end == start || end - start >= sizeof one) {
            snprintf(why, len, "expected comma-separated addresses or address/bits, got '%s'",
                     text);
            return -EINVAL;
        }
        if (*n == max) {
            snprintf(why, len, "more than %u ranges", max);
            return -EINVAL;
        }
        memcpy(one, p + start, end - start);
        one[end - start] = '\0';
        int err = parse_one(one, &out[*n], why, len);
        if (err < 0)
            return err;
        (*n)++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static bool in_range(const struct mx__cidr *c, const unsigned char *a)
{
    unsigned whole = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, a, whole) != 0)
        return false;
    unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
    return rest == 0 || (c->addr[whole] & mask) == (a[whole] & mask);
}

bool mx__cidr_match(const struct mx__cidr *list, unsigned n, const struct sockaddr *sa)
{
    unsigned char a[16];
    bool v6;
    if (sa->sa_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        v6 = false;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        /* A dual-stack socket shows an IPv4 client as ::ffff:a.b.c.d. */
        v6 = !IN6_IS_ADDR_V4MAPPED(a6);
        memcpy(a, v6 ? a6->s6_addr : a6->s6_addr + 12, v6 ? 16 : 4);
    } else {
        return false;
    }
    for (unsigned i = 0; i < n; i++)
        if (list[i].v6 == v6 && in_range(&list[i], a))
            return true;
    return false;
}
