/* irc_parse.c - the IRC line checker and message parser (see irc.h).
 *
 * The grammar is RFC 2812 section 2.3.1, read leniently where real clients
 * stray: spaces may repeat between parts and before the first one. The
 * parser works in place, writing NULs over the separators, so a message
 * costs no allocation and its fields live exactly as long as the line.
 * Both functions trust nothing about the bytes except what irc.h states.
 */
#include <string.h>

#include "proto/chat/irc.h"

int irc_line_check(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0')
            return IRC_ENUL;
        /* A CR before the end would let a client smuggle a second line
         * past anyone who splits on CR as well as LF. */
        if (p[i] == '\r' && i + 1 < n)
            return IRC_EBARECR;
    }
    return IRC_OK;
}

static char *skip_spaces(char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/* Ends the word at p with a NUL and returns what follows it. */
static char *cut_word(char *p)
{
    char *sp = strchr(p, ' ');
    if (!sp)
        return p + strlen(p);
    *sp = '\0';
    return sp + 1;
}

static bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A command is letters (upper-cased here, so callers compare with strcmp)
 * or exactly three digits; anything mixed is refused. */
static bool command_take(char *cmd)
{
    if (is_digit(cmd[0]))
        return is_digit(cmd[1]) && is_digit(cmd[2]) && cmd[3] == '\0';
    if (cmd[0] == '\0')
        return false;
    for (char *c = cmd; *c; c++) {
        if (!is_letter(*c))
            return false;
        if (*c >= 'a')
            *c = (char)(*c - 32);
    }
    return true;
}

/* Past the command: middles until a ':' or the 14th, then one last
 * parameter that keeps its spaces. */
static void params_take(char *p, struct irc_msg *m)
{
    for (;;) {
        p = skip_spaces(p);
        if (*p == '\0')
            return;
        if (*p == ':' || m->nparams == IRC_MAX_PARAMS - 1) {
            if (*p == ':')
                p++;
            m->params[m->nparams++] = p;
            m->trailing = true;
            return;
        }
        m->params[m->nparams++] = p;
        p = cut_word(p);
    }
}

int irc_parse(char *line, struct irc_msg *m)
{
    *m = (struct irc_msg){ 0 };
    char *p = skip_spaces(line);
    if (*p == '\0')
        return IRC_EEMPTY;
    if (*p == '@') {
        m->tags = p + 1;
        p = skip_spaces(cut_word(p));
        if (*p == '\0')
            return IRC_ENOCMD;
    }
    if (*p == ':') {
        m->prefix = p + 1;
        p = skip_spaces(cut_word(p));
        if (*p == '\0')
            return IRC_ENOCMD;
    }
    m->cmd = p;
    p = cut_word(p);
    if (!command_take(m->cmd))
        return IRC_EBADCMD;
    params_take(p, m);
    return IRC_OK;
}
