/* buf.h - a connection's input buffer: only an unfinished frame lives here.
 * Empty means unallocated, so an idle connection holds no memory. */
#ifndef MUXD_IO_BUF_H
#define MUXD_IO_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mx_buf {
    char *data;
    uint32_t len;
    uint32_t cap;
};

/* Appends p[0..n). -ENOMEM; the buffer is unchanged on error. */
int mx__buf_append(struct mx_buf *b, const void *p, size_t n);

/* Drops the first n bytes; frees the storage when nothing is left. */
void mx__buf_consume(struct mx_buf *b, size_t n);

void mx__buf_free(struct mx_buf *b);

#endif
