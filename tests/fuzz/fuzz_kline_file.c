/* fuzz_kline_file.c - the K-line file's parser (src/proto/chat/irc_kline.c)
 * on any text. Properties: a file it takes, written back out by
 * kline_format and read again, gives the same K-lines (the daemon writes
 * the file it later reads); a refused one names a line within the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/kline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000

static void same(const struct kline_list *a, const struct kline_list *b)
{
    if (a->n != b->n)
        abort();
    for (unsigned i = 0; i < a->n; i++)
        if (strcmp(a->v[i].mask, b->v[i].mask) || strcmp(a->v[i].by, b->v[i].by) ||
            strcmp(a->v[i].reason, b->v[i].reason) || a->v[i].expires != b->v[i].expires ||
            a->v[i].set_at != b->v[i].set_at)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct kline_list l = { 0 }, again = { 0 };
    unsigned line = 0;
    char why[256];
    if (kline_parse_text(text, &l, 100, NOW, &line, why, sizeof why) == 0) {
        size_t len;
        char *out = kline_format(&l, NOW, &len);
        if (out) {
            if (kline_parse_text(out, &again, 100, NOW, &line, why, sizeof why) != 0)
                abort();
            same(&l, &again);
            free(out);
        }
    } else if (!why[0]) {
        abort();
    }
    kline_list_free(&l);
    kline_list_free(&again);
    free(text);
    return 0;
}
