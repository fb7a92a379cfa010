/* utf8.c - strict UTF-8 validation and repair (utf8.h). */
#include "io/utf8.h"

#include <string.h>

/* The length of the valid sequence at p (n bytes available), or 0 with
 * *bad set to how many bytes the invalid prefix spans (at least 1). */
static size_t seq_len(const unsigned char *p, size_t n, size_t *bad)
{
    unsigned char b = p[0];
    *bad = 1;
    if (b < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;   /* the second byte's range */
    if (b >= 0xc2 && b <= 0xdf)
        len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        if (b == 0xe0)
            lo = 0xa0;                    /* no overlong forms */
        else if (b == 0xed)
            hi = 0x9f;                    /* no surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;                    /* nothing past U+10FFFF */
    } else
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xbf;
        if (i >= n || p[i] < min || p[i] > max) {
            *bad = i;
            return 0;
        }
    }
    return len;
}

bool mx__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t bad;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = seq_len(p + i, n - i, &bad);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t mx__utf8_scrub(const char *s, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, bad;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(p + i, n - i, &bad);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += bad;
        }
    }
    return o;
}
