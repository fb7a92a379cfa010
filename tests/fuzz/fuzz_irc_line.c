/* fuzz_irc_line.c - the chat service's line checks and parser
 * (src/proto/chat/irc_parse.c) on any bytes, as chat.c hands them over:
 * irc_line_check on the raw line, then irc_parse on a NUL-terminated copy
 * of at most IRC_LINE_MAX bytes. Properties beyond "no crash": every
 * parameter lies inside the line and none but the last is empty or holds
 * a space. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/irc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_params(const char *buf, size_t n, const struct irc_msg *m)
{
    for (int i = 0; i < m->nparams; i++) {
        const char *p = m->params[i];
        if (p < buf || p > buf + n)
            abort();
        if (i + 1 < m->nparams && (!*p || strchr(p, ' ')))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[IRC_LINE_MAX + 1];
    if (irc_line_check((const char *)data, size) != IRC_OK)
        return 0;
    size_t n = size < IRC_LINE_MAX ? size : IRC_LINE_MAX;
    if (n > 0 && data[n - 1] == '\r')
        n--; /* as chat.c does */
    memcpy(buf, data, n);
    buf[n] = '\0';
    struct irc_msg m;
    if (irc_parse(buf, &m) == IRC_OK)
        check_params(buf, n, &m);
    return 0;
}
