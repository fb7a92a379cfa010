/* muxd/server.h - create, run and stop a server.
 *
 * Call these from one controlling thread (the daemon's main thread).
 * Errors are -errno.
 */
#ifndef MUXD_SERVER_H
#define MUXD_SERVER_H

#include <stddef.h>

#include <stdint.h>

struct mx_conn;
struct mx_proto;
struct mx_server;

struct mx_server_opts {
    unsigned workers;            /* >= 1, at most MX_MAX_WORKERS */
    const char *backend;         /* "auto", "epoll", "io_uring" or "poll" */
    int listen_backlog;
    unsigned shutdown_timeout_ms;
    size_t max_connections;      /* across all workers */
    size_t max_line;             /* cap on kept (unconsumed) input per conn */
    size_t output_high_water;    /* stop reading above this */
    size_t output_low_water;     /* resume reading below this */
    size_t output_max;           /* disconnect above this */
    unsigned idle_timeout_ms;    /* 0 = never */
    unsigned uring_buffers;      /* io_uring receive buffers per worker (2^n) */
    size_t uring_buffer_size;    /* bytes each */
    unsigned offload_threads;    /* 0 = no offload pool */
    size_t offload_queue_max;    /* jobs outstanding at most */
};

#define MX_MAX_WORKERS 256

/* Fills o with the documented defaults. */
void mx_server_opts_default(struct mx_server_opts *o);

/* Resolves a backend name: "auto" gives io_uring where a probe ring can be
 * set up (and MUXD_DISABLE_IO_URING is not 1), else epoll. *chosen gets
 * the name in use; *why, when not NULL, says why auto fell back.
 * -EINVAL for an unknown name, -errno of the probe when io_uring was asked
 * for by name and cannot run here. */
int mx_backend_pick(const char *name, const char **chosen, const char **why);

/* NULL with errno set (see mx_backend_pick; EINVAL for bad options). */
struct mx_server *mx_server_new(const struct mx_server_opts *o);

/* Binds addr ("127.0.0.1:7000", "[::1]:7000", "*:7000", port 0 for an
 * ephemeral one) now, serving it with proto once started. proto and
 * proto_data must outlive the server. */
int mx_server_listen(struct mx_server *s, const char *name, const char *addr,
                     const struct mx_proto *proto, void *proto_data);

/* Starts the acceptor and worker threads. */
int mx_server_start(struct mx_server *s);

/* Graceful stop: stop accepting, flush queued output up to
 * shutdown_timeout, close everything. Returns at once. */
void mx_server_stop(struct mx_server *s);

/* 1 once every worker has finished after mx_server_stop, else 0. */
int mx_server_finished(struct mx_server *s);

/* Joins all threads (after mx_server_stop) and frees the server. */
void mx_server_free(struct mx_server *s);

/* Runs fn(c, arg) on the worker that owns connection id (mx_conn_id), with
 * c == NULL if that connection is gone by then. Any thread. -ENOENT for an
 * id no worker of s can own, -ENOMEM. */
typedef void mx_post_fn(struct mx_conn *c, void *arg);
int mx_server_post(struct mx_server *s, uint64_t conn_id, mx_post_fn *fn, void *arg);

/* The backend name actually in use. */
const char *mx_server_backend(const struct mx_server *s);

#endif
