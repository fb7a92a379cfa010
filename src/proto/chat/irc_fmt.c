/* irc_fmt.c - the IRC reply formatter (see irc.h).
 *
 * Replies are built printf-style straight into the caller's buffer and
 * always leave it holding one well-formed line: at most 510 bytes of text
 * and a CRLF, NUL-terminated, whatever the arguments were. Overlong text
 * is cut rather than refused, because a clipped reply is more useful to a
 * client than none, and because the 512-byte limit is the peer's, not ours.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/chat/irc.h"

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t irc_utf8_cut(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!is_cont(u[n]))
        return n;
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = u[n - back];
        if (c >= 0xC0)
            return n - back;
        if (!is_cont(c))
            break;
    }
    return n;
}

/* The length of the sequence led by c, and the least code point it may
 * carry (a smaller one is an overlong form); 0 for a byte that cannot
 * lead one. */
static unsigned seq_len(unsigned char c, uint32_t *min)
{
    if (c < 0x80)
        return *min = 0, 1;
    if (c >= 0xC2 && c <= 0xDF)
        return *min = 0x80, 2;
    if (c >= 0xE0 && c <= 0xEF)
        return *min = 0x800, 3;
    if (c >= 0xF0 && c <= 0xF4)
        return *min = 0x10000, 4;
    return 0;
}

bool irc_utf8_valid(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        uint32_t min, cp;
        unsigned n = seq_len(*u, &min);
        if (n == 0)
            return false;
        cp = n == 1 ? *u : *u & (0x7Fu >> n);
        for (unsigned i = 1; i < n; i++) {
            if (!is_cont(u[i]))
                return false;
            cp = cp << 6 | (u[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        u += n;
    }
    return true;
}

/* Appends fmt at buf + used (used may already exceed cap when a prefix
 * was clipped), then cuts the text to what both the line limit and cap
 * allow and ends it with CRLF. */
static size_t finish_line(char *buf, size_t cap, size_t used, const char *fmt,
                          va_list ap)
{
    /* Three bytes is the least that holds an (empty) line: CR, LF, NUL.
     * Below that no line fits, so hand back an empty string. */
    if (cap < 3) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    size_t text = used;
    if (used < cap) {
        int n = vsnprintf(buf + used, cap - used, fmt, ap);
        if (n > 0)
            text += (size_t)n;
    }
    size_t room = cap - 3;
    if (room > IRC_LINE_MAX - 2)
        room = IRC_LINE_MAX - 2;
    if (text > room)
        text = irc_utf8_cut(buf, room);
    buf[text] = '\r';
    buf[text + 1] = '\n';
    buf[text + 2] = '\0';
    return text + 2;
}

size_t irc_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    return finish_line(buf, cap, 0, fmt, ap);
}

size_t irc_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = finish_line(buf, cap, 0, fmt, ap);
    va_end(ap);
    return n;
}

size_t irc_vnumeric(char *buf, size_t cap, const char *server, unsigned num,
                    const char *target, const char *fmt, va_list ap)
{
    int head = cap ? snprintf(buf, cap, ":%s %03u %s ", server, num, target) : 0;
    return finish_line(buf, cap, head > 0 ? (size_t)head : 0, fmt, ap);
}

size_t irc_numeric(char *buf, size_t cap, const char *server, unsigned num,
                   const char *target, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = irc_vnumeric(buf, cap, server, num, target, fmt, ap);
    va_end(ap);
    return n;
}
