/* uring_files.c - fixed files: each connection's socket in its worker
 * ring's file table, at the connection's slot, so its receives and sends
 * skip the descriptor lookup. Called only by backend_uring.c, on the
 * worker's own thread. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "io/fault.h"
#include "io/uring_ring.h"
#include "muxd/log.h"

/* A table as long as the descriptor limit (capped): every connection of
 * the worker can have its entry, at its slot. Kernel memory, 8 bytes an
 * entry. */
#define FIXED_MAX 32768u

void mx__ur_files_setup(struct ur *u, bool want)
{
    u->fixed = "off (uring_fixed_files = off)";
    if (!want)
        return;
    struct rlimit rl;
    unsigned n = FIXED_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
        n = (unsigned)rl.rlim_cur;
    int err = io_uring_register_files_sparse(&u->ring, n);
    if (err < 0) {
        u->fixed = err == -EINVAL ? "off (this kernel has no sparse file table, 5.19)"
                                  : "off (the kernel refused a file table)";
        return;
    }
    u->nfixed = n;
    u->fixed = "on";
}

/* The socket into the table at the connection's slot, by an SQE that goes
 * to the kernel with the receive linked after it: no system call of its
 * own. Its operations then skip the descriptor lookup and the reference
 * each one takes. Optional: a connection whose slot does not fit goes by
 * its fd, and one the kernel refuses too (file_result). */
void mx__ur_file_add(struct ur *u, struct mx_conn *c)
{
    if (c->slot >= u->nfixed)
        return;
    /* Room for the receive too: a submission that ends on an open link
     * sends its head to an io-wq thread, so the receive, submitted next,
     * could run before the socket is in the table (EBADF). A reload that
     * moves a hundred connections in at once fills the queue. */
    if (io_uring_sq_space_left(&u->ring) < 2)
        io_uring_submit(&u->ring);
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe)
        return;
    /* The fault: a ring's own fd, which the kernel never takes into a
     * file table (EBADF). */
    int *fd = MX_FAULT(MX_FAULT_FILE_IN) ? &u->ring.ring_fd : &c->fd;
    io_uring_prep_files_update(sqe, fd, 1, (int)c->slot);
    /* Its completion is not skipped on success: a link head that skips
     * it takes the completions of the requests its failure cancels with
     * it, and the receive would be gone without a word. */
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, ud_of(mx__conn_tag(c), OP_FILE_IN));
    c->backend_state |= U_FIXED;
}

/* Out of the table, or the socket would outlive the core's close(2); the
 * caller submits before the core closes it. Operations still in flight
 * keep their own reference. */
void mx__ur_file_drop(struct ur *u, struct mx_conn *c)
{
    static int none = -1;
    if (!(c->backend_state & U_FIXED))
        return;
    c->backend_state &= ~U_FIXED;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe) {
        if (io_uring_register_files_update(&u->ring, c->slot, &none, 1) != 1)
            mx_error("io_uring: could not take a socket out of the file table");
        return;
    }
    io_uring_prep_files_update(sqe, &none, 1, (int)c->slot);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, ud_of(0, OP_FILE_OUT));
}

/* A socket out of the table reports only failures (CQE_SKIP_SUCCESS); one
 * going in reports either way. A refused entry: the linked receive comes
 * back cancelled right after and is armed again by fd. */
void mx__ur_file_result(struct mx_worker *w, const struct io_uring_cqe *cqe)
{
    if (cqe->res >= 0)
        return;
    if (op_of(cqe->user_data) == OP_FILE_OUT) {
        mx_error("io_uring: could not take a socket out of the file table: %s",
                 strerror(-cqe->res));
        return;
    }
    struct mx_conn *c = mx__worker_lookup(w, tag_of(cqe->user_data));
    if (c)
        c->backend_state &= ~U_FIXED;
}

/* The connection's socket in an SQE: its table entry when it has one. */
void mx__ur_sqe_fd(struct io_uring_sqe *sqe, const struct mx_conn *c)
{
    if (c->backend_state & U_FIXED) {
        sqe->fd = (int)c->slot;
        sqe->flags |= IOSQE_FIXED_FILE;
    }
}
