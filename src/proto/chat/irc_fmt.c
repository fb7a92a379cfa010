/* irc_fmt.c - the IRC reply formatter (see irc.h).
 *
 * Replies are built printf-style straight into the caller's buffer and
 * always leave it holding one well-formed line: at most 510 bytes of text
 * and a CRLF, NUL-terminated, whatever the arguments were. Overlong text
 * is cut rather than refused, because a clipped reply is more useful to a
 * client than none, and because the 512-byte limit is the peer's, not ours.
 */
#include <stdarg.h>
#include <stdio.h>

#include "proto/chat/irc.h"

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
        text = room;
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
