/* backend.h - the transport seam between the reactor core and a kernel
 * event interface (epoll, io_uring, poll).
 *
 * The contract, both ways:
 *  - The core says what it wants: attach a socket (receiving on),
 *    receiving on or off (set_recv), write the output queue (flush),
 *    forget the socket (detach). It never asks how.
 *  - The backend owns the syscalls and its own state only (be_data, and
 *    per connection backend_state/backend_ctx). It reads a connection's
 *    fd, slot and tag (conn_id.h) and output queue, and nothing else of the core:
 *    no connection flags, no server options, no clock. It decides no
 *    policy; it reports what the kernel said through the upcalls below
 *    and lets the core decide.
 *  - Upcalls (reactor/conn.h): mx__conn_recv, mx__conn_eof,
 *    mx__conn_hangup, mx__conn_fail, mx__conn_sent, mx__conn_quiet; and (reactor/worker.h)
 *    mx__worker_lookup (tag -> connection; mx__worker_at for a slot
 *    that cannot have changed hands) and mx__worker_wakeup (the
 *    inbox fd fired); for the counters only, mx__worker_note_* (events
 *    of the backend's own, such as io_uring's empty buffer ring). The
 *    upcalls that may close the connection return false once it is
 *    closed: after that the backend only lets go of it.
 *  - wait blocks and gathers; dispatch reports. The worker reads its
 *    clock between the two, so everything dispatched sees a fresh clock.
 * Every op runs on the worker's own thread.
 */
#ifndef MUXD_IO_BACKEND_H
#define MUXD_IO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

struct mx_worker;
struct mx_conn;

/* What a worker gives its backend at init. */
struct mx_backend_conf {
    int wake_fd;                 /* the inbox's eventfd: watch for input */
    char *scratch;               /* receive space shared by all connections */
    size_t scratch_size;
    unsigned uring_buffers;      /* io_uring: provided buffers (power of 2) */
    unsigned uring_buffer_size;  /* and the size of each */
    bool uring_incremental;      /* receives take parts of buffers (6.12) */
    bool uring_bundles;          /* a receive may fill several (6.10) */
    bool uring_fixed_files;      /* connections' sockets registered (5.19) */
};

struct mx_backend_ops {
    const char *name;
    /* The acceptor accepts with io_uring too under this backend. */
    bool accept_uring;
    /* Its receives can carry a kernel TLS socket (conn_tls.c): they are
     * plain recv calls, each handed to the core before the next, and an
     * error (EIO: a TLS control record) reaches mx__conn_fail as is. */
    bool kernel_tls;
    /* Per-worker state (w->be_data). */
    int (*init)(struct mx_worker *w, const struct mx_backend_conf *conf);
    void (*fini)(struct mx_worker *w);
    /* Start watching c's socket, receiving on. */
    int (*attach)(struct mx_worker *w, struct mx_conn *c);
    /* Stop or resume receiving. Bytes the kernel had already handed over
     * may still be reported after off. */
    void (*set_recv)(struct mx_worker *w, struct mx_conn *c, bool on);
    /* Write what the output queue holds; keep writing later if the socket
     * is full. Reports progress with mx__conn_sent. */
    void (*flush)(struct mx_worker *w, struct mx_conn *c);
    /* Forget c's socket; the core closes the fd right after. Returns true
     * if operations are still in flight on c: the backend then calls
     * mx__conn_release once the last of them has completed. */
    bool (*detach)(struct mx_worker *w, struct mx_conn *c);
    /* Stop every operation on c but keep the socket: c is moving to
     * another worker, which attaches it afresh. Bytes already received
     * are still reported; nothing more is sent. Returns true if operations
     * are still in flight: the backend then calls mx__conn_quiet once the
     * last has completed (or mx__conn_release, if c was closed since). */
    bool (*suspend)(struct mx_worker *w, struct mx_conn *c);
    /* Optional: give memory the backend keeps for its life but is not
     * using now back to the system (after a burst). Between turns. */
    void (*trim)(struct mx_worker *w);
    /* Wait up to timeout_ms (-1 = no limit) for events; report nothing. */
    int (*wait)(struct mx_worker *w, int timeout_ms);
    /* Report what the last wait gathered. */
    void (*dispatch)(struct mx_worker *w);
};

extern const struct mx_backend_ops mx__backend_epoll;
extern const struct mx_backend_ops mx__backend_uring;
extern const struct mx_backend_ops mx__backend_poll;

/* "auto" or a backend name -> ops. *why gets a short reason when io_uring
 * could not be had (or NULL). NULL with *err = -EINVAL for an unknown
 * name, or the probe's -errno when io_uring was asked for by name. */
const struct mx_backend_ops *mx__backend_choose(const char *name, const char **why, int *err);

#endif
