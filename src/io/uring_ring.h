/* uring_ring.h - what the io_uring backend's files share: a worker's ring
 * state (struct ur), the ops in user_data, a connection's backend_state
 * bits, and the prototypes of the buffer ring (uring_bufs.c) and the
 * fixed files (uring_files.c). Private to src/io: backend_uring.c drives
 * both; neither calls back into it. */
#ifndef MUXD_IO_URING_RING_H
#define MUXD_IO_URING_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <liburing.h>

#include "reactor/conn.h"

#define BGID 0
#define MAX_IOV 16

/* Kernel 6.12's incremental buffer consumption, newer than Debian's
 * liburing 2.3 headers. */
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif
/* Kernel 6.10's receive bundles, likewise. */
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif

enum op { OP_RECV = 1, OP_SEND, OP_CANCEL, OP_INBOX, OP_FILE_IN, OP_FILE_OUT };

/* backend_state bits */
enum {
    U_RECV = 1u << 0,      /* multishot recv armed */
    U_CANCEL = 1u << 1,    /* its cancel is on the way */
    U_SEND = 1u << 2,      /* sendmsg in flight */
    U_STARVED = 1u << 3,   /* recv ended on an empty buffer ring */
    U_HELD = 1u << 4,      /* closed; released when nothing is in flight */
    U_WANT = 1u << 5,      /* the core wants receiving on */
    U_GONE = 1u << 6,      /* detached: the core has closed it */
    U_SUSP = 1u << 7,      /* suspended: moving to another worker */
    U_FIXED = 1u << 8,     /* its socket is in the ring's file table */
};

struct send_ctx {
    struct msghdr msg;
    struct iovec iov[MAX_IOV];
    struct send_ctx *next;
    bool fixed;                 /* named the socket by its table entry */
};

struct ur {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    char *bufs;
    unsigned nbufs, buf_size;
    /* Incremental consumption: a receive takes only the bytes it needs
     * from the head buffer, so small receives pack into one buffer
     * instead of taking one each; used[bid] is where its next one lands. */
    uint32_t *used;
    const char *how;            /* for the log: incremental or whole */
    const char *bundles;        /* for the log: on or off, and why */
    /* Fixed files: entry i of the ring's file table holds the socket of
     * the connection in slot i, for slots below nfixed (0: none). */
    unsigned nfixed;
    const char *fixed;          /* for the log */
    /* Bundles: one receive may fill several buffers, the ring entries
     * after its first; pos[bid] is where bid was last put in the ring,
     * to find those entries. NULL without bundles. */
    uint16_t *pos;
    struct send_ctx *free_sends;
    uint64_t *starved;          /* tags of connections waiting for buffers */
    unsigned short *withheld;   /* buffers kept back this turn (fault.h) */
    unsigned nwithheld;
    size_t nstarved, starved_cap;
    int wake_fd;
    bool overflow_logged;
};

/* user_data: the connection's tag with the op in its spare bits. */
static inline uint64_t ud_of(uint64_t tag, enum op op) { return mx__tag_with_spare(tag, op); }
static inline uint64_t tag_of(uint64_t ud) { return mx__tag_strip(ud); }
static inline enum op op_of(uint64_t ud) { return (enum op)mx__tag_spare(ud); }

/* A full submission queue is submitted to make room; NULL only if the
 * kernel takes nothing. */
static inline struct io_uring_sqe *get_sqe(struct ur *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* uring_bufs.c: the provided-buffer ring. */
int mx__ur_bufs_setup(struct ur *u, unsigned nbufs, unsigned size, bool inc);
int mx__ur_bundles_setup(struct ur *u, bool want);
void mx__ur_bufs_fill(struct ur *u);
void mx__ur_bufs_free(struct ur *u);
void mx__ur_buf_return(struct ur *u, unsigned bid);
bool mx__ur_bundled(const struct ur *u, const struct io_uring_cqe *cqe);
size_t mx__ur_buf_walk(struct ur *u, const struct io_uring_cqe *cqe,
                       bool (*fn)(void *arg, char *data, size_t n), void *arg);

/* uring_files.c: the connections' sockets in the ring's file table. */
void mx__ur_files_setup(struct ur *u, bool want);
void mx__ur_file_add(struct ur *u, struct mx_conn *c);
void mx__ur_file_drop(struct ur *u, struct mx_conn *c);
void mx__ur_file_result(struct mx_worker *w, const struct io_uring_cqe *cqe);
void mx__ur_sqe_fd(struct io_uring_sqe *sqe, const struct mx_conn *c);

#endif
