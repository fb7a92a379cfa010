/* irc.c - IRC line splitting and load message texts (see irc.h). */
#include "irc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Skips blanks; RFC 1459 separates by one or more spaces. */
static char *skip_spaces(char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/* Cuts the word at p off with a NUL; returns what follows it. */
static char *cut_word(char *p)
{
    while (*p && *p != ' ')
        p++;
    if (*p)
        *p++ = '\0';
    return p;
}

int ld_irc_parse(char *line, struct ld_irc_line *m)
{
    *m = (struct ld_irc_line){ .prefix = "" };
    char *p = line;
    if (*p == '@') /* IRCv3 tags (--caps): not looked at */
        p = skip_spaces(cut_word(p));
    if (*p == ':') {
        m->prefix = p + 1;
        p = cut_word(p);
    }
    p = skip_spaces(p);
    if (!*p)
        return -1;
    m->cmd = p;
    p = cut_word(p);
    while (*(p = skip_spaces(p)) && m->nparams < LD_IRC_MAX_PARAMS) {
        if (*p == ':' || m->nparams == LD_IRC_MAX_PARAMS - 1) {
            m->params[m->nparams++] = *p == ':' ? p + 1 : p; /* the rest, blanks and all */
            break;
        }
        m->params[m->nparams++] = p;
        p = cut_word(p);
    }
    return 0;
}

/* Padding byte i of message (sender, seq): letters, never blank. */
static char pad_at(const struct ld_load_msg *m, size_t i)
{
    return (char)('a' + (m->sender + m->seq + i) % 26u);
}

size_t ld_load_format(char *buf, size_t cap, const struct ld_load_msg *m, size_t size)
{
    int n = snprintf(buf, cap, "%u %llu %llu ", m->sender, (unsigned long long)m->seq,
                     (unsigned long long)m->ts_ns);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    size_t len = (size_t)n;
    if (size >= cap)
        return 0;
    for (size_t i = 0; len < size; i++)
        buf[len++] = pad_at(m, i);
    buf[len] = '\0';
    return len;
}

size_t ld_load_len(const struct ld_load_msg *m, size_t size)
{
    int n = snprintf(NULL, 0, "%u %llu %llu ", m->sender, (unsigned long long)m->seq,
                     (unsigned long long)m->ts_ns);
    return (size_t)n > size ? (size_t)n : size;
}

/* A decimal number as ld_load_format writes it (no leading zero: "01"
 * is a corrupted "1", found by tests/fuzz) and the blank after it. */
static int take_number(const char **p, unsigned long long *v)
{
    char *end;
    if (!isdigit((unsigned char)**p) || ((*p)[0] == '0' && isdigit((unsigned char)(*p)[1])))
        return -1;
    errno = 0;
    *v = strtoull(*p, &end, 10);
    if (errno || *end != ' ')
        return -1;
    *p = end + 1;
    return 0;
}

int ld_load_parse(const char *text, struct ld_load_msg *m)
{
    unsigned long long s, q, t;
    const char *p = text;
    if (take_number(&p, &s) < 0 || take_number(&p, &q) < 0 || take_number(&p, &t) < 0 ||
        s > 0xffffffffull)
        return -1;
    *m = (struct ld_load_msg){ .sender = (unsigned)s, .seq = q, .ts_ns = t };
    for (size_t i = 0; p[i]; i++)
        if (p[i] != pad_at(m, i))
            return -2;
    return 0;
}
