/* chunk.c - refcounted output chunks (see include/muxd/chunk.h). */
#include <stdlib.h>
#include <string.h>

#include "io/fault.h"
#include "muxd/chunk.h"

struct mx_chunk *mx_chunk_new(size_t cap)
{
    if (cap > UINT32_MAX || MX_FAULT(MX_FAULT_ALLOC))
        return NULL;
    struct mx_chunk *ch = malloc(sizeof *ch + cap);
    if (!ch)
        return NULL;
    atomic_init(&ch->refs, 1);
    ch->cap = (uint32_t)cap;
    ch->len = 0;
    atomic_init(&ch->framed[0], NULL);
    atomic_init(&ch->framed[1], NULL);
    return ch;
}

struct mx_chunk *mx_chunk_copy(const void *p, size_t n)
{
    struct mx_chunk *ch = mx_chunk_new(n);
    if (ch) {
        memcpy(ch->data, p, n);
        ch->len = (uint32_t)n;
    }
    return ch;
}

void mx_chunk_unref(struct mx_chunk *ch)
{
    /* acq_rel: the thread freeing must see every write made before the
     * other threads dropped their references. */
    if (ch && atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) == 1) {
        mx_chunk_unref(atomic_load_explicit(&ch->framed[0], memory_order_relaxed));
        mx_chunk_unref(atomic_load_explicit(&ch->framed[1], memory_order_relaxed));
        free(ch);
    }
}
