/* fuzz_load_irc.c - muxd-load's IRC line splitter and load message parser
 * (src/load/irc.c), on any line a server under test might send.
 * Properties: parameters lie inside the line; a load message text that
 * parses as good is exactly what ld_load_format makes of its numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_load(const char *text)
{
    struct ld_load_msg m;
    if (ld_load_parse(text, &m) != 0)
        return;
    size_t n = strlen(text);
    if (ld_load_len(&m, n) != n)
        return; /* the caller's length check refuses it */
    char *again = malloc(n + 64);
    if (!again)
        return;
    if (ld_load_format(again, n + 64, &m, n) != n || memcmp(again, text, n) != 0)
        abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    check_load(line);
    struct ld_irc_line m;
    if (ld_irc_parse(line, &m) == 0) {
        for (unsigned i = 0; i < m.nparams; i++)
            if (m.params[i] < line || m.params[i] > line + size)
                abort();
        if (m.nparams > LD_IRC_MAX_PARAMS)
            abort();
    }
    free(line);
    return 0;
}
