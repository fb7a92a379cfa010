/* buf.c - the capped-by-caller input buffer (see buf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/fault.h"
#include "io/buf.h"

int mx__buf_append(struct mx_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    size_t need = (size_t)b->len + n;
    if (need > UINT32_MAX)
        return -ENOMEM;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap *= 2;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        char *d = MX_FAULT(MX_FAULT_ALLOC) ? NULL : realloc(b->data, cap);
        if (!d)
            return -ENOMEM;
        b->data = d;
        b->cap = (uint32_t)cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len = (uint32_t)need;
    return 0;
}

void mx__buf_consume(struct mx_buf *b, size_t n)
{
    if (n >= b->len) {
        mx__buf_free(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= (uint32_t)n;
}

void mx__buf_free(struct mx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
