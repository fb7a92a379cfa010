/* outq.h - a connection's output queue: a ring of (chunk, offset, length)
 * segments, written with one writev/sendmsg per flush.
 *
 * Copies are appended into the queue's own tail chunk while it has room, so
 * many small replies cost one allocation; shared chunks are queued by
 * reference. An empty queue holds no memory. Not thread-safe: the owner
 * worker alone touches a queue.
 */
#ifndef MUXD_IO_OUTQ_H
#define MUXD_IO_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct mx_chunk;

/* Size of the chunks that copied bytes are gathered into. */
#define MX_OUTQ_CHUNK 16384u

struct mx_outq_seg {
    struct mx_chunk *ch;
    uint32_t off;
    uint32_t len;
};

struct mx_outq {
    struct mx_outq_seg *seg;  /* ring; cap is a power of two */
    uint32_t head;
    uint32_t count;
    uint32_t cap;
    uint32_t pinned;          /* head segments the kernel may still read
                                 (an io_uring send in flight): never
                                 dropped or changed */
    size_t bytes;             /* queued and not yet written */
};

/* Queues a copy of p[0..n). -ENOMEM leaves the queue unchanged. */
int mx__outq_append(struct mx_outq *q, const void *p, size_t n);

/* Queues ch by reference (takes a reference of its own). */
int mx__outq_push(struct mx_outq *q, struct mx_chunk *ch);

/* Queues a copy of p[0..n) as a segment of its own, in a chunk of its
 * size: a message that mx__outq_drop can later remove whole. */
int mx__outq_append_msg(struct mx_outq *q, const void *p, size_t n);

/* Removes whole segments from index from on (the ones before it stay, in
 * order) until want bytes are gone or none is left; returns how many. */
uint32_t mx__outq_drop(struct mx_outq *q, uint32_t from, size_t want);

/* Puts ch (taking a reference of its own) at index at, ahead of what was
 * there; at <= count. -ENOMEM leaves the queue unchanged. */
int mx__outq_insert(struct mx_outq *q, uint32_t at, struct mx_chunk *ch);

/* Puts ch in place of the segment at index at (which must be whole). */
void mx__outq_replace(struct mx_outq *q, uint32_t at, struct mx_chunk *ch);

/* The segment at index i (< count). */
const struct mx_outq_seg *mx__outq_seg(const struct mx_outq *q, uint32_t i);

/* Fills up to max iovecs from the head; returns how many. */
int mx__outq_iov(const struct mx_outq *q, struct iovec *iov, int max);

/* n bytes were written: drop them from the head. */
void mx__outq_consume(struct mx_outq *q, size_t n);

/* Drops everything queued. */
void mx__outq_clear(struct mx_outq *q);

/* Frees the calling thread's cache of spare chunks (at thread exit, and
 * when a worker gives memory back after a burst: trim.c). */
void mx__outq_thread_cleanup(void);

#endif
