/* irc_tags.c - IRCv3 message tags (https://ircv3.net/specs/extensions/
 * message-tags): value escaping, picking a client's `+` tags out of a
 * line, reading one tag, the server-time stamp, and packing words into
 * lines (CAP LS). Pure functions on caller buffers (see irc.h).
 *
 * A client's tags are relayed in one canonical form (unescaped, then
 * escaped again) so a receiver never sees an escape the spec leaves
 * undefined, such as a lone trailing backslash.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto/chat/irc.h"

/* The escape letter of c in a tag value, or 0 if c stands for itself. */
static char escape_of(char c)
{
    switch (c) {
    case ';': return ':';
    case ' ': return 's';
    case '\\': return '\\';
    case '\r': return 'r';
    case '\n': return 'n';
    default: return 0;
    }
}

static char unescape_of(char e)
{
    switch (e) {
    case ':': return ';';
    case 's': return ' ';
    case 'r': return '\r';
    case 'n': return '\n';
    default: return e; /* "\\" and the undefined "\x" alike: x */
    }
}

size_t irc_tag_escape(const char *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char e = escape_of(v[i]);
        size_t need = e ? 2 : 1;
        if (o + need >= cap)
            return SIZE_MAX;
        if (e) {
            out[o++] = '\\';
            out[o++] = e;
        } else {
            out[o++] = v[i];
        }
    }
    if (cap)
        out[o] = '\0';
    return cap ? o : SIZE_MAX;
}

size_t irc_tag_unescape(const char *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '\\') {
            if (++i == n)
                break; /* a lone trailing backslash is dropped */
            c = unescape_of(v[i]);
        }
        if (o + 1 >= cap)
            return SIZE_MAX;
        out[o++] = c;
    }
    if (cap)
        out[o] = '\0';
    return cap ? o : SIZE_MAX;
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

static bool vendor_char(char c)
{
    return key_char(c) || c == '.';
}

bool irc_tag_key_valid(const char *k, size_t n)
{
    size_t i = (n && k[0] == '+') ? 1 : 0;
    const char *slash = memchr(k + i, '/', n - i);
    if (slash) {
        size_t end = (size_t)(slash - k);
        if (end == i)
            return false;
        for (; i < end; i++)
            if (!vendor_char(k[i]))
                return false;
        i = end + 1;
    }
    if (i == n)
        return false;
    for (; i < n; i++)
        if (!key_char(k[i]))
            return false;
    return true;
}

/* One tag of a list: its key and value (without '='), and where the
 * next one starts. false at the end. */
struct tag_it {
    const char *p;
};

static bool tag_next(struct tag_it *it, const char **k, size_t *kn, const char **v, size_t *vn)
{
    while (*it->p == ';')
        it->p++;
    if (*it->p == '\0')
        return false;
    const char *s = it->p;
    size_t len = strcspn(s, ";");
    it->p = s + len;
    const char *eq = memchr(s, '=', len);
    *k = s;
    *kn = eq ? (size_t)(eq - s) : len;
    *v = eq ? eq + 1 : s + len;
    *vn = eq ? len - *kn - 1 : 0;
    return true;
}

size_t irc_client_tags(const char *tags, char *out, size_t cap)
{
    struct tag_it it = { tags };
    const char *k, *v;
    size_t kn, vn, o = 0;
    char val[IRC_CLIENT_TAGS_MAX + 1], esc[IRC_CLIENT_TAGS_MAX + 1];
    if (cap)
        out[0] = '\0';
    while (tag_next(&it, &k, &kn, &v, &vn)) {
        if (k[0] != '+' || !irc_tag_key_valid(k, kn))
            continue;
        size_t un = irc_tag_unescape(v, vn, val, sizeof val);
        size_t en = un == SIZE_MAX ? SIZE_MAX : irc_tag_escape(val, un, esc, sizeof esc);
        if (en == SIZE_MAX)
            return SIZE_MAX;
        /* ";" key ["=" value] NUL */
        if (o + 1 + kn + 1 + en + 1 > cap)
            return SIZE_MAX;
        if (o)
            out[o++] = ';';
        memcpy(out + o, k, kn);
        o += kn;
        if (en) { /* an empty value is the same as none (the spec) */
            out[o++] = '=';
            memcpy(out + o, esc, en);
            o += en;
        }
        out[o] = '\0';
    }
    return o;
}

bool irc_tag_get(const char *tags, const char *key, char *out, size_t cap)
{
    struct tag_it it = { tags };
    const char *k, *v;
    size_t kn, vn, klen = strlen(key);
    bool found = false;
    /* The last one counts when a key repeats (the spec). */
    while (tag_next(&it, &k, &kn, &v, &vn)) {
        if (kn == klen && memcmp(k, key, kn) == 0)
            found = irc_tag_unescape(v, vn, out, cap) != SIZE_MAX;
    }
    return found;
}

size_t irc_time_fmt(const struct timespec *ts, char *out, size_t cap)
{
    struct tm tm;
    time_t s = ts->tv_sec;
    if (!gmtime_r(&s, &tm) || cap < IRC_TIME_LEN + 1)
        return 0;
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts->tv_nsec / 1000000);
    return n == IRC_TIME_LEN ? (size_t)n : 0;
}

unsigned irc_words_fit(const char *const *w, unsigned n, size_t width)
{
    size_t len = 0;
    unsigned i = 0;
    for (; i < n; i++) {
        size_t add = strlen(w[i]) + (i ? 1 : 0);
        if (i && len + add > width)
            break;
        len += add;
    }
    return i;
}
