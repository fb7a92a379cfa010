/* backend_uring.c - the io_uring backend: completions, not readiness.
 *
 * Each worker owns one ring, created on its own thread (SINGLE_ISSUER,
 * DEFER_TASKRUN: completions are reaped only when the worker waits, never
 * behind its back). Per connection at most two operations are in flight:
 *  - a multishot recv that picks buffers from the worker's provided-buffer
 *    ring, so an idle connection costs no buffer at all; each buffer goes
 *    back to the ring as soon as the core has seen its bytes (the core
 *    copies only an unfinished frame). Where the kernel has them, a
 *    receive packs into part of a buffer (incremental, 6.12) and may fill
 *    several in one completion (a bundle, 6.10): fewer, fuller receives;
 *  - one sendmsg of the output queue's head segments. Short sends go on
 *    from where they stopped; the queue stays untouched until the
 *    completion, so order and the bytes under the kernel are safe.
 * user_data is the connection's tag (slot, generation) plus an op code, so
 * a completion for a closed and reused slot is recognised. A closed
 * connection is held (slot and queue) until its operations have completed
 * (cancelled by user_data on close).
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <liburing.h>

#include "io/fault.h"
#include "io/backend.h"
#include "io/uring.h"
#include "io/uring_ring.h"
#include "muxd/log.h"
#include "reactor/conn.h"

#define SQ_ENTRIES 256
#define CQ_ENTRIES 4096

/* --- ring ------------------------------------------------------------ */

int mx__uring_queue_init(struct io_uring *ring, unsigned sq, unsigned cq)
{
    /* Newest flags first; older kernels say -EINVAL and get fewer. */
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
        IORING_SETUP_CQSIZE,
        0,
    };
    int err = -EINVAL;
    for (size_t i = 0; i < sizeof tries / sizeof *tries && err == -EINVAL; i++) {
        struct io_uring_params p = { .flags = tries[i], .cq_entries = cq };
        err = io_uring_queue_init_params(sq, ring, &p);
    }
    /* The ring's fd registered with this thread (kernel 5.18): each
     * io_uring_enter then skips the fd table lookup and its reference.
     * The calling thread is the ring's only user. Optional: without it,
     * the plain fd serves. */
    if (err == 0)
        (void)io_uring_register_ring_fd(ring);
    return err;
}

static int arm_inbox(struct ur *u)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_multishot(sqe, u->wake_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, ud_of(0, OP_INBOX));
    return 0;
}

/* Between turns every receive buffer is back in the kernel's ring,
 * holding nothing of ours, and the kernel fills one only inside this
 * thread's own io_uring_enter (DEFER_TASKRUN; without it, still on this
 * thread): the pages a burst made resident can go, and come back as
 * zeroed pages when a receive next lands in them. */
static void ur_trim(struct mx_worker *w)
{
    struct ur *u = w->be_data;
    if (u->bufs)
        madvise(u->bufs, (size_t)u->nbufs * u->buf_size, MADV_DONTNEED);
}

static void ur_fini(struct mx_worker *w)
{
    struct ur *u = w->be_data;
    io_uring_queue_exit(&u->ring);
    mx__ur_bufs_free(u);
    while (u->free_sends) {
        struct send_ctx *s = u->free_sends;
        u->free_sends = s->next;
        free(s);
    }
    free(u->starved);
    free(u);
    w->be_data = NULL;
}

static int ur_init(struct mx_worker *w, const struct mx_backend_conf *conf)
{
    struct ur *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    /* cq_tiny: a ring whose completions overflow under any load. */
    bool tiny = MX_FAULT(MX_FAULT_CQ_TINY);
    int err = mx__uring_queue_init(&u->ring, tiny ? 8 : SQ_ENTRIES, tiny ? 8 : CQ_ENTRIES);
    if (err < 0) {
        free(u);
        return err;
    }
    w->be_data = u;
    u->wake_fd = conf->wake_fd;
    err = mx__ur_bufs_setup(u, conf->uring_buffers, conf->uring_buffer_size, conf->uring_incremental);
    if (err == 0)
        err = mx__ur_bundles_setup(u, conf->uring_bundles);
    if (err == 0) {
        mx__ur_bufs_fill(u);
        mx__ur_files_setup(u, conf->uring_fixed_files);
    }
    static atomic_bool told; /* the first worker speaks for all */
    if (err == 0 && !atomic_exchange(&told, true))
        mx_info("io_uring: receive buffers: %u x %u bytes per worker, %s; bundles %s; "
                "fixed files %s", u->nbufs, u->buf_size, u->how, u->bundles, u->fixed);
    if (err == 0)
        err = arm_inbox(u);
    if (err < 0)
        ur_fini(w);
    return err;
}

/* --- receive --------------------------------------------------------- */

static int arm_recv(struct mx_worker *w, struct mx_conn *c)
{
    struct ur *u = w->be_data;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    mx__ur_sqe_fd(sqe, c);
    if (u->pos)
        sqe->ioprio |= IORING_RECVSEND_BUNDLE;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, ud_of(mx__conn_tag(c), OP_RECV));
    c->backend_state |= U_RECV;
    return 0;
}

/* Re-arming for a live connection: failing to is fatal to it. */
static void rearm_recv(struct mx_worker *w, struct mx_conn *c)
{
    int err = arm_recv(w, c);
    if (err < 0)
        mx__conn_fail(c, err);
}

static void cancel_op(struct mx_worker *w, struct mx_conn *c, enum op op)
{
    struct io_uring_sqe *sqe = get_sqe(w->be_data);
    if (!sqe)
        return; /* the operation ends with the socket's shutdown below */
    io_uring_prep_cancel64(sqe, ud_of(mx__conn_tag(c), op), 0);
    io_uring_sqe_set_data64(sqe, ud_of(0, OP_CANCEL));
}

static int ur_attach(struct mx_worker *w, struct mx_conn *c)
{
    c->backend_state = U_WANT;
    mx__ur_file_add(w->be_data, c);
    return arm_recv(w, c);
}

static void ur_set_recv(struct mx_worker *w, struct mx_conn *c, bool on)
{
    c->backend_state = on ? c->backend_state | U_WANT : c->backend_state & ~U_WANT;
    if (on && !(c->backend_state & (U_RECV | U_STARVED)))
        rearm_recv(w, c);
    else if (!on && (c->backend_state & U_RECV) && !(c->backend_state & U_CANCEL)) {
        cancel_op(w, c, OP_RECV);
        c->backend_state |= U_CANCEL;
    }
    /* Other cases settle when the pending recv or cancel completes. */
}

static void starve(struct mx_worker *w, struct ur *u, struct mx_conn *c)
{
    mx__worker_note_enobufs(w);
    if (u->nstarved == u->starved_cap) {
        size_t cap = u->starved_cap ? u->starved_cap * 2 : 64;
        uint64_t *v = realloc(u->starved, cap * sizeof *v);
        if (!v) {
            mx__conn_fail(c, -ENOMEM);
            return;
        }
        u->starved = v;
        u->starved_cap = cap;
    }
    u->starved[u->nstarved++] = mx__conn_tag(c);
    c->backend_state |= U_STARVED;
}

/* Buffers come back as soon as each completion is handled, so by the end
 * of a batch the ring has room again: re-arm the starved then, never in a
 * loop on an empty ring, and only as many as the ring has buffers, oldest
 * first. Each re-armed receive takes a buffer at once (its bytes are
 * waiting), so re-arming all of a thousand starved connections at once
 * would have most of them find the ring empty again, each at the price
 * of a submission; the rest wait their turn. */
static void feed_starved(struct mx_worker *w, struct ur *u)
{
    size_t n = u->nstarved, i = 0;
    for (unsigned fed = 0; i < n && fed < u->nbufs; i++) {
        struct mx_conn *c = mx__worker_lookup(w, u->starved[i]);
        if (!c || !(c->backend_state & U_STARVED))
            continue;
        c->backend_state &= ~U_STARVED;
        if ((c->backend_state & (U_GONE | U_WANT)) == U_WANT) {
            rearm_recv(w, c);
            fed++;
        }
    }
    u->nstarved = n - i;
    if (u->nstarved > 0 && i > 0)
        memmove(u->starved, u->starved + i, u->nstarved * sizeof *u->starved);
}

static bool in_flight(const struct mx_conn *c)
{
    return c->backend_state & (U_RECV | U_SEND);
}


struct recv_to {
    struct mx_conn *c;
    bool open;
};

static bool recv_into(void *arg, char *data, size_t n)
{
    struct recv_to *to = arg;
    return to->open = mx__conn_recv(to->c, data, n);
}

static void on_recv(struct mx_worker *w, struct ur *u, struct mx_conn *c,
                    const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        c->backend_state &= ~(U_RECV | U_CANCEL);
    struct recv_to to = { c, !(c->backend_state & U_GONE) };
    if (mx__ur_bundled(u, cqe))
        mx__worker_note_bundle(w);
    /* Delivered even while paused: those bytes were already read from
     * the socket, and dropping them would lose data. */
    if ((cqe->flags & IORING_CQE_F_BUFFER) &&
        mx__ur_buf_walk(u, cqe, to.open ? recv_into : NULL, &to) > 0 && to.open) {
        mx_error("io_uring: a receive bundle's buffers could not be followed");
        mx__conn_fail(c, -EIO);
        return;
    }
    if (!to.open)
        return;
    if (cqe->res == 0)
        mx__conn_eof(c);
    else if (cqe->res == -ENOBUFS)
        starve(w, u, c);
    else if (cqe->res < 0 && cqe->res != -ECANCELED)
        mx__conn_fail(c, cqe->res);
    else if (!(c->backend_state & U_RECV) && (c->backend_state & U_WANT))
        rearm_recv(w, c); /* a multishot that ended for another reason */
}

/* --- send ------------------------------------------------------------ */

static void ur_flush(struct mx_worker *w, struct mx_conn *c)
{
    struct ur *u = w->be_data;
    if ((c->backend_state & (U_SEND | U_SUSP)) || c->out.bytes == 0)
        return; /* the completion of the send in flight goes on */
    struct send_ctx *s = u->free_sends;
    if (s)
        u->free_sends = s->next;
    else if (!(s = malloc(sizeof *s))) {
        mx__conn_fail(c, -ENOMEM);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe) {
        s->next = u->free_sends;
        u->free_sends = s;
        mx__conn_fail(c, -EBUSY);
        return;
    }
    s->msg = (struct msghdr){ .msg_iov = s->iov };
    s->msg.msg_iovlen = (size_t)mx__outq_iov(&c->out, s->iov, MAX_IOV);
    /* One segment (a fan-out's line, most replies) skips the kernel's
     * copy of the msghdr and iovec. */
    if (s->msg.msg_iovlen == 1)
        io_uring_prep_send(sqe, c->fd, s->iov[0].iov_base, s->iov[0].iov_len, MSG_NOSIGNAL);
    else
        io_uring_prep_sendmsg(sqe, c->fd, &s->msg, MSG_NOSIGNAL);
    mx__ur_sqe_fd(sqe, c);
    s->fixed = c->backend_state & U_FIXED;
    io_uring_sqe_set_data64(sqe, ud_of(mx__conn_tag(c), OP_SEND));
    c->backend_ctx = s;
    c->backend_state |= U_SEND;
    c->out.pinned = (uint32_t)s->msg.msg_iovlen;
}

static void on_send(struct mx_worker *w, struct ur *u, struct mx_conn *c, int res)
{
    struct send_ctx *s = c->backend_ctx;
    bool refused = res == -EBADF && s->fixed && !(c->backend_state & U_FIXED);
    s->next = u->free_sends;
    u->free_sends = s;
    c->backend_ctx = NULL;
    c->backend_state &= ~U_SEND;
    c->out.pinned = 0;
    if (c->backend_state & U_GONE)
        return;
    if (res == -ECANCELED && (c->backend_state & U_SUSP))
        return; /* nothing went out: the queue moves with c */
    /* Issued by table entry in the turn the table refused the socket
     * (mx__ur_file_result has seen that since): nothing went out, so the
     * queue goes again, by descriptor. */
    if (refused) {
        ur_flush(w, c);
        return;
    }
    if (res >= 0 && MX_FAULT(MX_FAULT_RESET))
        res = -EPIPE;   /* as if the peer had gone with this output queued */
    if (res < 0) {
        mx__conn_fail(c, res);
        return;
    }
    mx__outq_consume(&c->out, (size_t)res);
    if (mx__conn_sent(c, (size_t)res))
        ur_flush(w, c); /* the rest of a short send, or what came since */
}

/* --- close ----------------------------------------------------------- */

static void cancel_all(struct mx_worker *w, struct mx_conn *c)
{
    if ((c->backend_state & U_RECV) && !(c->backend_state & U_CANCEL)) {
        cancel_op(w, c, OP_RECV);
        c->backend_state |= U_CANCEL;
    }
    if (c->backend_state & U_SEND)
        cancel_op(w, c, OP_SEND);
}

/* Cancels what is in flight; the completions still report (received
 * bytes are delivered, a send that got through is counted). The fd is
 * submitted with the cancels, so it is never named after the move. */
static bool ur_suspend(struct mx_worker *w, struct mx_conn *c)
{
    c->backend_state = (c->backend_state & ~U_WANT) | U_SUSP;
    cancel_all(w, c);
    struct ur *u = w->be_data;
    mx__ur_file_drop(u, c);
    if (io_uring_sq_ready(&u->ring) > 0)
        io_uring_submit(&u->ring);
    return in_flight(c);
}

static bool ur_detach(struct mx_worker *w, struct mx_conn *c)
{
    c->backend_state |= U_GONE;
    cancel_all(w, c);
    /* A send already under way in the kernel may not be cancellable;
     * shutting the socket down ends it (and any recv) promptly. */
    /* Operations prepared this turn still name the fd by number: hand
     * them to the kernel before the core closes it, or a new connection
     * accepted onto the same number could receive them. */
    struct ur *u = w->be_data;
    mx__ur_file_drop(u, c);
    if (io_uring_sq_ready(&u->ring) > 0)
        io_uring_submit(&u->ring);
    if (!in_flight(c))
        return false;
    shutdown(c->fd, SHUT_RDWR);
    c->backend_state |= U_HELD;
    return true;
}

/* --- completions ----------------------------------------------------- */

static void on_cqe(struct mx_worker *w, struct ur *u, const struct io_uring_cqe *cqe)
{
    enum op op = op_of(cqe->user_data);
    if (op == OP_INBOX) {
        mx__worker_wakeup(w);
        if (!(cqe->flags & IORING_CQE_F_MORE) && arm_inbox(u) < 0)
            mx_error("cannot re-arm the inbox wake-up");
        return;
    }
    if (op == OP_FILE_IN || op == OP_FILE_OUT) {
        mx__ur_file_result(w, cqe);
        return;
    }
    if (op != OP_RECV && op != OP_SEND)
        return; /* cancel results: the cancelled op reports for itself */
    struct mx_conn *c = mx__worker_lookup(w, tag_of(cqe->user_data));
    if (!c) {
        /* Cannot happen while closed connections are held: still give
         * buffers back rather than leak them. */
        if (cqe->flags & IORING_CQE_F_BUFFER)
            mx__ur_buf_walk(u, cqe, NULL, NULL);
        return;
    }
    bool busy = in_flight(c);
    if (op == OP_RECV)
        on_recv(w, u, c, cqe);
    else
        on_send(w, u, c, cqe->res);
    if (in_flight(c))
        return;
    if (c->backend_state & U_HELD) {
        c->backend_state &= ~U_HELD;
        mx__conn_release(c);
    } else if (busy && (c->backend_state & (U_SUSP | U_GONE)) == U_SUSP) {
        mx__conn_quiet(c);
    }
}

static void check_overflow(struct mx_worker *w, struct ur *u)
{
    if (!io_uring_cq_has_overflow(&u->ring))
        return;
    mx__worker_note_cq_overflow(w);
    if (!u->overflow_logged) {
        u->overflow_logged = true;
        mx_warn("io_uring completion queue overflowed (the kernel keeps the rest); "
                "consider fewer connections per worker");
    }
}

static int ur_wait(struct mx_worker *w, int timeout_ms)
{
    struct ur *u = w->be_data;
    struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
                                    .tv_nsec = (long long)(timeout_ms % 1000) * 1000000 };
    struct io_uring_cqe *cqe;
    int err = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts,
                                               NULL);
    if (err < 0 && err != -ETIME && err != -EINTR)
        return err;
    return 0;
}

static void ur_dispatch(struct mx_worker *w)
{
    struct ur *u = w->be_data;
    struct io_uring_cqe *cqe;
    unsigned head, seen;
    do {
        seen = 0;
        io_uring_for_each_cqe(&u->ring, head, cqe) {
            on_cqe(w, u, cqe);
            seen++;
        }
        io_uring_cq_advance(&u->ring, seen);
    } while (seen > 0);
    while (u->nwithheld > 0)
        mx__ur_buf_return(u, u->withheld[--u->nwithheld]);
    feed_starved(w, u);
    check_overflow(w, u);
}

const struct mx_backend_ops mx__backend_uring = {
    .name = "io_uring",
    .accept_uring = true,
    /* No kernel TLS: the multishot recv keeps reading while the
     * handshake's last completions are handled, so ciphertext past the
     * client's Finished may already sit in posted completions, out of the
     * kernel TLS's reach; and a provided-buffer recv cannot carry the
     * record type that tells a TLS alert from an error. */
    .kernel_tls = false,
    .init = ur_init,
    .fini = ur_fini,
    .trim = ur_trim,
    .attach = ur_attach,
    .set_recv = ur_set_recv,
    .flush = ur_flush,
    .detach = ur_detach,
    .suspend = ur_suspend,
    .wait = ur_wait,
    .dispatch = ur_dispatch,
};

int mx__uring_probe(void)
{
    struct ur u = { 0 };
    int err = mx__uring_queue_init(&u.ring, 4, 8);
    if (err < 0)
        return err;
    err = mx__ur_bufs_setup(&u, 1, 512, false);
    if (err == 0)
        mx__ur_bufs_fill(&u);
    io_uring_queue_exit(&u.ring);
    mx__ur_bufs_free(&u);
    return err;
}
