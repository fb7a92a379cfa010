/* outq.c - output queue of chunk segments (see outq.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/outq.h"
#include "muxd/chunk.h"

/* Spare gather chunks per thread: an echo reply would otherwise malloc
 * and free a 16 KiB chunk per message, and glibc answers a burst of such
 * frees by trimming the thread's heap and faulting it back in (with 8
 * spares, 100 connections x 16 x 4 KiB in flight cost 13,600 madvise calls
 * in 2 s; with 64, 1,200). At most 1 MiB per thread. Only chunks no one
 * else references land here, so a thread-local list is safe. */
#define SPARE_MAX 64
static _Thread_local struct mx_chunk *spare[SPARE_MAX];
static _Thread_local unsigned nspare;

static struct mx_chunk *gather_chunk_new(size_t need)
{
    if (need <= MX_OUTQ_CHUNK && nspare > 0)
        return spare[--nspare];
    return mx_chunk_new(need > MX_OUTQ_CHUNK ? need : MX_OUTQ_CHUNK);
}

static void chunk_release(struct mx_chunk *ch)
{
    if (ch->cap == MX_OUTQ_CHUNK && nspare < SPARE_MAX &&
        atomic_load_explicit(&ch->refs, memory_order_acquire) == 1) {
        ch->len = 0;
        spare[nspare++] = ch;
        return;
    }
    mx_chunk_unref(ch);
}

void mx__outq_thread_cleanup(void)
{
    while (nspare > 0)
        mx_chunk_unref(spare[--nspare]);
}

static struct mx_outq_seg *seg_at(const struct mx_outq *q, uint32_t i)
{
    return &q->seg[(q->head + i) & (q->cap - 1)];
}

static int reserve_seg(struct mx_outq *q)
{
    if (q->count < q->cap)
        return 0;
    uint32_t cap = q->cap ? q->cap * 2 : 4;
    struct mx_outq_seg *v = malloc(cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (uint32_t i = 0; i < q->count; i++)
        v[i] = *seg_at(q, i);
    free(q->seg);
    q->seg = v;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static void push_seg(struct mx_outq *q, struct mx_chunk *ch, uint32_t off, uint32_t len)
{
    *seg_at(q, q->count++) = (struct mx_outq_seg){ ch, off, len };
    q->bytes += len;
}

/* Room left in the tail chunk, if we may write into it: it must be ours
 * alone and the tail segment must end where the chunk's bytes end. */
static size_t tail_room(const struct mx_outq *q)
{
    if (q->count == 0)
        return 0;
    const struct mx_outq_seg *t = seg_at(q, q->count - 1);
    if (t->off + t->len != t->ch->len ||
        atomic_load_explicit(&t->ch->refs, memory_order_acquire) != 1)
        return 0;
    return t->ch->cap - t->ch->len;
}

static void tail_fill(struct mx_outq *q, const char *p, size_t n)
{
    struct mx_outq_seg *t = seg_at(q, q->count - 1);
    memcpy(t->ch->data + t->ch->len, p, n);
    t->ch->len += (uint32_t)n;
    t->len += (uint32_t)n;
    q->bytes += n;
}

int mx__outq_append(struct mx_outq *q, const void *p, size_t n)
{
    size_t room = tail_room(q);
    size_t first = n < room ? n : room;
    size_t rest = n - first;
    struct mx_chunk *ch = NULL;

    /* Allocate everything before copying anything, so failure changes
     * nothing. */
    if (rest > 0) {
        if (rest > UINT32_MAX || reserve_seg(q) < 0)
            return -ENOMEM;
        if (!(ch = gather_chunk_new(rest)))
            return -ENOMEM;
    }
    if (first > 0)
        tail_fill(q, p, first);
    if (ch) {
        memcpy(ch->data, (const char *)p + first, rest);
        ch->len = (uint32_t)rest;
        push_seg(q, ch, 0, (uint32_t)rest);
    }
    return 0;
}

int mx__outq_push(struct mx_outq *q, struct mx_chunk *ch)
{
    if (ch->len == 0)
        return 0;
    if (reserve_seg(q) < 0)
        return -ENOMEM;
    push_seg(q, mx_chunk_ref(ch), 0, ch->len);
    return 0;
}

static void release_if_empty(struct mx_outq *q)
{
    if (q->count > 0)
        return;
    free(q->seg);
    *q = (struct mx_outq){ 0 };
}

int mx__outq_append_msg(struct mx_outq *q, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > UINT32_MAX || reserve_seg(q) < 0)
        return -ENOMEM;
    struct mx_chunk *ch = mx_chunk_copy(p, n);
    if (!ch)
        return -ENOMEM;
    push_seg(q, ch, 0, (uint32_t)n);
    return 0;
}

const struct mx_outq_seg *mx__outq_seg(const struct mx_outq *q, uint32_t i)
{
    return seg_at(q, i);
}

int mx__outq_insert(struct mx_outq *q, uint32_t at, struct mx_chunk *ch)
{
    if (reserve_seg(q) < 0)
        return -ENOMEM;
    /* The segments ahead of at (a few: what is being written) move one
     * slot back; the rest stay where they are. */
    q->head = (q->head - 1) & (q->cap - 1);
    q->count++;
    for (uint32_t i = 0; i < at; i++)
        *seg_at(q, i) = *seg_at(q, i + 1);
    *seg_at(q, at) = (struct mx_outq_seg){ mx_chunk_ref(ch), 0, ch->len };
    q->bytes += ch->len;
    return 0;
}

void mx__outq_replace(struct mx_outq *q, uint32_t at, struct mx_chunk *ch)
{
    struct mx_outq_seg *s = seg_at(q, at);
    q->bytes -= s->len;
    chunk_release(s->ch);
    *s = (struct mx_outq_seg){ mx_chunk_ref(ch), 0, ch->len };
    q->bytes += ch->len;
}

uint32_t mx__outq_drop(struct mx_outq *q, uint32_t from, size_t want)
{
    uint32_t n = 0;
    size_t freed = 0;
    while (freed < want && from + n < q->count) {
        struct mx_outq_seg *s = seg_at(q, from + n++);
        freed += s->len;
        chunk_release(s->ch);
    }
    q->bytes -= freed;
    /* Close the hole by moving the few segments ahead of it forward. */
    for (uint32_t i = from; i-- > 0;)
        *seg_at(q, i + n) = *seg_at(q, i);
    q->head = (q->head + n) & (q->cap - 1);
    q->count -= n;
    release_if_empty(q);
    return n;
}

int mx__outq_iov(const struct mx_outq *q, struct iovec *iov, int max)
{
    int n = 0;
    for (; n < max && (uint32_t)n < q->count; n++) {
        const struct mx_outq_seg *s = seg_at(q, (uint32_t)n);
        iov[n] = (struct iovec){ s->ch->data + s->off, s->len };
    }
    return n;
}

static void drop_head(struct mx_outq *q)
{
    struct mx_outq_seg *s = seg_at(q, 0);
    q->bytes -= s->len;
    chunk_release(s->ch);
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
}

void mx__outq_consume(struct mx_outq *q, size_t n)
{
    while (n > 0 && q->count > 0) {
        struct mx_outq_seg *s = seg_at(q, 0);
        if (n < s->len) {
            s->off += (uint32_t)n;
            s->len -= (uint32_t)n;
            q->bytes -= n;
            break;
        }
        n -= s->len;
        drop_head(q);
    }
    release_if_empty(q);
}

void mx__outq_clear(struct mx_outq *q)
{
    while (q->count > 0)
        drop_head(q);
    release_if_empty(q);
}
