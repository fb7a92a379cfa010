/* muxd/chunk.h - reference-counted byte chunks for output queues.
 *
 * A chunk is how bytes sit in a connection's output queue. A chunk sent to
 * many connections (a chat line fanned out to a channel) is one allocation
 * shared by reference, never copied per member.
 *
 * Any thread may create, ref and unref chunks. Fill data[0..len) before the
 * chunk is first sent; once sent it is immutable.
 */
#ifndef MUXD_CHUNK_H
#define MUXD_CHUNK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct mx_chunk {
    atomic_uint refs;
    uint32_t cap;  /* bytes allocated in data[] */
    uint32_t len;  /* bytes in use */
    /* The core's: these bytes as WebSocket messages (text, binary), made
     * by the first member on such a transport that is sent the chunk and
     * shared by the rest, so a fan-out is framed once per kind. */
    struct mx_chunk *_Atomic framed[2];
    char data[];
};

/* New chunk with room for cap bytes, len 0, one reference. NULL when out of
 * memory or cap is over 4 GiB - 1. */
struct mx_chunk *mx_chunk_new(size_t cap);

/* New chunk holding a copy of p[0..n). NULL on ENOMEM. */
struct mx_chunk *mx_chunk_copy(const void *p, size_t n);

static inline struct mx_chunk *mx_chunk_ref(struct mx_chunk *ch)
{
    atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
    return ch;
}

/* Takes one more reference; ch must not be NULL. */

/* Drop one reference; frees the chunk with the last one. NULL is allowed. */
void mx_chunk_unref(struct mx_chunk *ch);

#endif
