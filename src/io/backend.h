/* backend.h - the transport seam between the reactor core and the kernel
 * event interface (epoll now; io_uring and poll plug in here too).
 *
 * A backend owns the syscalls: it registers sockets, receives into the
 * worker's scratch space, writes the output queue, and waits. It holds no
 * connection logic: everything it learns it reports through the upcalls
 * declared in reactor/conn.h (mx__conn_recv, mx__conn_eof, mx__conn_fail,
 * mx__conn_sent) and reactor/worker.h (mx__worker_lookup,
 * mx__worker_wakeup). Every op runs on the worker's own thread.
 */
#ifndef MUXD_IO_BACKEND_H
#define MUXD_IO_BACKEND_H

#include <stdbool.h>

struct mx_worker;
struct mx_conn;

struct mx_backend_ops {
    const char *name;
    /* Per-worker state (w->be_data); watches the inbox wake-up fd. */
    int (*init)(struct mx_worker *w);
    void (*fini)(struct mx_worker *w);
    /* Start watching c's socket, receiving on. */
    int (*attach)(struct mx_worker *w, struct mx_conn *c);
    /* Backpressure: stop or resume receiving. */
    void (*set_recv)(struct mx_worker *w, struct mx_conn *c, bool on);
    /* Write what the output queue holds; keep writing later if the socket
     * is full. Reports progress with mx__conn_sent. */
    void (*flush)(struct mx_worker *w, struct mx_conn *c);
    /* Forget c's socket; the core closes the fd right after. Returns true
     * if operations are still in flight on c: the backend then calls
     * mx__conn_release once the last of them has completed. */
    bool (*detach)(struct mx_worker *w, struct mx_conn *c);
    /* Wait up to timeout_ms (-1 = no limit) and dispatch what happened. */
    int (*wait)(struct mx_worker *w, int timeout_ms);
};

extern const struct mx_backend_ops mx_backend_epoll;
extern const struct mx_backend_ops mx_backend_uring;
extern const struct mx_backend_ops mx_backend_poll;

/* "auto" or a backend name -> ops. *why gets a short reason when io_uring
 * could not be had (or NULL). NULL with *err = -EINVAL for an unknown
 * name, or the probe's -errno when io_uring was asked for by name. */
const struct mx_backend_ops *mx_backend_choose(const char *name, const char **why, int *err);

#endif
