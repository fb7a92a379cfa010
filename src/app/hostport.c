/* hostport.c - "HOST:PORT" for addresses muxd connects to (hostport.h). */
#include "app/hostport.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#define NAME_MAX_LEN 253  /* a DNS name, RFC 1035 */
#define LABEL_MAX_LEN 63

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Digits only: no sign, blank or 0x a config value could hide. */
static int parse_port(const char *s, unsigned *out)
{
    unsigned v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 5 || !all_digits(s, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static bool label_ok(const char *l, size_t n)
{
    if (n == 0 || n > LABEL_MAX_LEN || l[0] == '-' || l[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!label_char(l[i]))
            return false;
    return true;
}

/* A name whose last label is all digits is an IPv4 address or nothing
 * (RFC 3696, 2): the resolver would read "1.2.3" as 1.2.0.3. */
static bool name_or_v4(const char *h, size_t n)
{
    char buf[NAME_MAX_LEN + 1];
    unsigned char addr[4];

    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    const char *label = h;
    for (const char *p = h; p <= h + n; p++) {
        if (p < h + n && *p != '.')
            continue;
        if (!label_ok(label, (size_t)(p - label)))
            return false;
        if (p < h + n)
            label = p + 1;
    }
    if (!all_digits(label, n - (size_t)(label - h)))
        return true;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1;
}

static bool v6_ok(const char *h, size_t n)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char addr[16];

    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* HOST's text in s and where its port starts, brackets left out; NULL
 * when the shape is wrong. */
static const char *split(const char *s, const char **h, size_t *n)
{
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return NULL;
        *h = s + 1;
        *n = (size_t)(close - *h);
        return v6_ok(*h, *n) ? close + 2 : NULL;
    }
    const char *colon = strchr(s, ':');
    if (!colon)
        return NULL;
    *h = s;
    *n = (size_t)(colon - s);
    return name_or_v4(*h, *n) ? colon + 1 : NULL;
}

int mx_hostport_parse(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *h, *ptext;
    size_t n;
    unsigned p;

    if (!s || !(ptext = split(s, &h, &n)) || parse_port(ptext, &p) < 0)
        return -1;
    if (host && n >= hostlen)
        return -1;
    if (host) {
        memcpy(host, h, n);
        host[n] = '\0';
    }
    if (port)
        *port = p;
    return 0;
}
