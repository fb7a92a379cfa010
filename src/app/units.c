/* units.c - numbers with unit suffixes, as written in the config file. */
#include "app/units.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

/* Hand-rolled rather than strtoull: that one accepts leading blanks, a sign
 * (and negates "-1" into a huge value) and a 0x prefix, all of which a config
 * value must reject. */
static int parse_digits(const char **p, unsigned long long *out)
{
    const char *s = *p;
    unsigned long long v = 0;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

static int scale(unsigned long long v, unsigned long long mul, unsigned long long max,
                 unsigned long long *out)
{
    if (v > max / mul)
        return -ERANGE;
    *out = v * mul;
    return 0;
}

static int size_multiplier(const char *suffix, unsigned long long *mul)
{
    static const char letters[] = "kmg";

    if (suffix[0] == '\0') {
        *mul = 1;
        return 0;
    }
    if (suffix[1] != '\0')
        return -EINVAL;
    for (int i = 0; letters[i]; i++) {
        if ((suffix[0] | 0x20) == letters[i]) {
            *mul = 1ULL << (10 * (i + 1));
            return 0;
        }
    }
    return -EINVAL;
}

int mx_parse_size(const char *s, size_t *out)
{
    unsigned long long v, mul, bytes;
    int rc;

    if (!s)
        return -EINVAL;
    rc = parse_digits(&s, &v);
    if (rc == 0)
        rc = size_multiplier(s, &mul);
    if (rc == 0)
        rc = scale(v, mul, SIZE_MAX, &bytes);
    if (rc == 0)
        *out = (size_t)bytes;
    return rc;
}

static int duration_multiplier(const char *suffix, unsigned long long *mul)
{
    /* A bare number is seconds because that is what people mean by
     * "timeout = 30"; milliseconds need saying. */
    if (suffix[0] == '\0' || strcasecmp(suffix, "s") == 0)
        *mul = 1000;
    else if (strcasecmp(suffix, "ms") == 0)
        *mul = 1;
    else if (strcasecmp(suffix, "m") == 0)
        *mul = 60 * 1000;
    else
        return -EINVAL;
    return 0;
}

int mx_parse_duration_ms(const char *s, unsigned *out)
{
    unsigned long long v, mul, ms;
    int rc;

    if (!s)
        return -EINVAL;
    rc = parse_digits(&s, &v);
    if (rc == 0)
        rc = duration_multiplier(s, &mul);
    if (rc == 0)
        rc = scale(v, mul, UINT_MAX, &ms);
    if (rc == 0)
        *out = (unsigned)ms;
    return rc;
}

int mx_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long long v;
    int rc;

    if (!s)
        return -EINVAL;
    rc = parse_digits(&s, &v);
    if (rc == 0 && *s != '\0')
        rc = -EINVAL;
    if (rc == 0 && v > max)
        rc = -ERANGE;
    if (rc == 0)
        *out = (unsigned long)v;
    return rc;
}

void mx_format_size(size_t bytes, char *buf, size_t len)
{
    static const char suffix[] = "gmk";
    unsigned long long v = bytes;

    for (int i = 0; v && suffix[i]; i++) {
        unsigned long long unit = 1ULL << (10 * (3 - i));
        if (v % unit == 0) {
            snprintf(buf, len, "%llu%c", v / unit, suffix[i]);
            return;
        }
    }
    snprintf(buf, len, "%llu", v);
}

void mx_format_duration_ms(unsigned ms, char *buf, size_t len)
{
    if (ms == 0)
        snprintf(buf, len, "0");
    else if (ms % 1000)
        snprintf(buf, len, "%ums", ms);
    else
        snprintf(buf, len, "%us", ms / 1000);
}
