/* irc_case.c - rfc1459 casemapping and the name rules built on it (see
 * irc.h).
 *
 * Nicks and channels are identities, so every comparison, hash and mask
 * match here goes through irc_tolower: "Nick[a]" and "nick{a}" must land
 * on the same user. Length checks stop at the limit plus one byte, so a
 * hostile megabyte-long name costs no more than a legal one.
 */
#include <string.h>

#include "proto/chat/irc.h"

void irc_casefold(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; i + 1 < cap && src[i]; i++)
        dst[i] = irc_tolower(src[i]);
    dst[i] = '\0';
}

int irc_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)irc_tolower(*a);
        unsigned char cb = (unsigned char)irc_tolower(*b);
        if (ca != cb || ca == '\0')
            return ca - cb;
    }
}

uint64_t irc_casehash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) {
        h ^= (unsigned char)irc_tolower(*s);
        h *= 0x100000001b3u;
    }
    return h;
}

static bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
/* RFC 2812 special: [ ] \ ` _ ^ { | } */
static bool is_special(char c) { return (c >= '[' && c <= '`') || (c >= '{' && c <= '}'); }

/* The length of s, but looking at no more than max + 1 bytes: enough to
 * tell "too long" from "fits". SIZE_MAX means no limit and must not wrap. */
static size_t len_upto(const char *s, size_t max)
{
    return strnlen(s, max == SIZE_MAX ? max : max + 1);
}

bool irc_nick_valid(const char *s, size_t nicklen)
{
    size_t n = len_upto(s, nicklen);
    if (n == 0 || n > nicklen)
        return false;
    if (!is_letter(s[0]) && !is_special(s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!is_letter(c) && !is_digit(c) && !is_special(c) && c != '-')
            return false;
    }
    return true;
}

bool irc_channel_valid(const char *s, size_t chanlen)
{
    size_t n = len_upto(s, chanlen);
    if (n < 2 || n > chanlen || s[0] != '#')
        return false;
    /* ',' splits JOIN lists and ':' starts a trailing parameter, so either
     * inside a name would make it unparseable; NUL is excluded by strnlen. */
    return strcspn(s + 1, "\a\r\n ,:") == n - 1;
}

static bool byte_matches(char m, char c)
{
    return m == '?' || irc_tolower(m) == irc_tolower(c);
}

/* Greedy matching that remembers only the last '*': on a mismatch it lets
 * that star swallow one more byte and retries. Earlier stars never need
 * revisiting, since the last one can absorb anything they could, which
 * bounds the work by len(mask) * len(s) instead of exponential. */
bool irc_mask_match(const char *mask, const char *s)
{
    const char *star = NULL;
    const char *resume = s;
    while (*s) {
        if (*mask == '*') {
            star = mask++;
            resume = s;
        } else if (*mask && byte_matches(*mask, *s)) {
            mask++;
            s++;
        } else if (star) {
            mask = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*mask == '*')
        mask++;
    return *mask == '\0';
}

bool irc_mask_list_match(const char *list, const char *s)
{
    char mask[256];
    while (*list) {
        size_t n = strcspn(list, ",");
        if (n && n < sizeof mask) {
            memcpy(mask, list, n);
            mask[n] = '\0';
            if (irc_mask_match(mask, s))
                return true;
        }
        list += n + (list[n] == ',');
    }
    return false;
}

/* Would s survive as a middle parameter of every line that carries it? */
static bool mask_bytes_ok(const char *s)
{
    if (s[0] == '\0' || s[0] == ':')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

/* One part of a mask, '*' when empty. */
struct mask_part {
    const char *p;
    size_t n;
};

static void part_set(struct mask_part *part, const char *p, size_t n)
{
    part->p = n ? p : "*";
    part->n = n ? n : 1;
}

/* Splits as ratbox-descended servers do: the first '@' ends the user
 * part, and only a '!' before it ends the nick; a bare word is a host
 * when it looks like one, else a nick. */
static void mask_split(const char *in, struct mask_part part[3])
{
    size_t len = strlen(in);
    const char *at = strchr(in, '@');
    const char *ex = memchr(in, '!', at ? (size_t)(at - in) : len);
    const char *user = ex ? ex + 1 : in;
    part_set(&part[0], in, ex ? (size_t)(ex - in) : 0);
    part_set(&part[1], user, at ? (size_t)(at - user) : ex ? len - (size_t)(user - in) : 0);
    part_set(&part[2], at ? at + 1 : in, at ? len - (size_t)(at + 1 - in) : 0);
    if (!at && !ex) {
        bool host = strpbrk(in, ".:") != NULL;
        part_set(&part[host ? 2 : 0], in, len);
    }
}

size_t irc_mask_normalise(const char *in, char *out, size_t cap)
{
    if (!mask_bytes_ok(in))
        return 0;
    struct mask_part part[3];
    mask_split(in, part);
    size_t n = part[0].n + 1 + part[1].n + 1 + part[2].n;
    if (n >= cap)
        return 0;
    char *o = out;
    for (int i = 0; i < 3; i++) {
        memcpy(o, part[i].p, part[i].n);
        o += part[i].n;
        if (i < 2)
            *o++ = i == 0 ? '!' : '@';
    }
    *o = '\0';
    return n;
}
