/* muxd/server.h - create, run and stop a server.
 *
 * Life: mx_server_new, mx_server_listen (one or more), mx_server_start,
 * then mx_server_stop and mx_server_free (or mx_server_serve in place of
 * start and stop). Those calls are for one controlling thread (the
 * daemon's main thread); mx_server_post is for any thread. Errors are
 * -errno.
 */
#ifndef MUXD_SERVER_H
#define MUXD_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct mx_conn;
struct mx_proto;
struct mx_server;

struct mx_server_opts {
    unsigned workers;            /* 1 .. MX_MAX_WORKERS */
    const char *backend;         /* "auto", "epoll", "io_uring" or "poll" */
    int listen_backlog;
    unsigned shutdown_timeout_ms;
    size_t max_connections;      /* across all workers */
    size_t max_line;             /* cap on kept (unconsumed) input per conn */
    size_t output_high_water;    /* stop reading above this */
    size_t output_low_water;     /* resume reading at or below this */
    size_t output_max;           /* disconnect above this */
    unsigned idle_timeout_ms;    /* no input for this long closes; 0 = never */
    unsigned uring_buffers;      /* io_uring receive buffers per worker: a
                                    power of two, at most 32768; 0 = 32
                                    with incremental receives, else 256 */
    size_t uring_buffer_size;    /* bytes each */
    bool uring_incremental;      /* a receive takes only what it needs of a
                                    buffer, when the kernel can (6.12) */
    bool uring_bundles;          /* one receive completion may fill several
                                    buffers, when the kernel can (6.10) */
    bool uring_fixed_files;      /* connections' sockets registered with the
                                    worker's ring, when the kernel can (5.19) */
    unsigned offload_threads;    /* 0 = no offload pool */
    size_t offload_queue_max;    /* offload jobs outstanding, server-wide */
    /* Per-address admission (an IPv4 address, an IPv6 /64), counted per
     * listener; 0 = no limit. A listener may set its own (mx_listen_opts). */
    unsigned max_connections_per_ip;  /* open connections per address */
    unsigned connect_rate_per_ip;     /* new connections per second per
                                         address, with a burst as large */
};

#define MX_MAX_WORKERS 256
#define MX_MAX_LISTENERS_PER_SERVER 64   /* over the server's life */

/* Fills o with the documented defaults (docs/config.md). */
void mx_server_opts_default(struct mx_server_opts *o);

/* Resolves a backend name: "auto" gives io_uring where a probe ring can be
 * set up (and MUXD_DISABLE_IO_URING is not 1), else epoll. *chosen gets
 * the name in use; *why, when not NULL, says why io_uring could not be
 * had (a static string). -EINVAL for an unknown name, the probe's -errno
 * when io_uring was asked for by name and cannot run here. Any thread. */
int mx_backend_pick(const char *name, const char **chosen, const char **why);

/* *out gets a new server (not started, no listener). 0, or -EINVAL for
 * bad options or an unknown backend, the probe's -errno for io_uring by
 * name where it cannot run, -ENOMEM; *out is then NULL. */
int mx_server_new(const struct mx_server_opts *o, struct mx_server **out);

/* Binds addr ("127.0.0.1:7000", "[::1]:7000", "*:7000", port 0 for an
 * ephemeral one) now and logs "listener NAME on ADDR:PORT (protocol P)"
 * with the real port; serves it with proto once started, or at once if
 * s runs (a reload adding a listener). proto and proto_data must outlive
 * the server. -EINVAL for a bad address or a name already listening,
 * -ENOSPC past MX_MAX_LISTENERS_PER_SERVER listeners over s's life, or
 * bind/listen's -errno (-EADDRINUSE ...). The controlling thread. */
int mx_server_listen(struct mx_server *s, const char *name, const char *addr,
                     const struct mx_proto *proto, void *proto_data);

/* The same with what sits between the socket and the protocol, per
 * listener. Zeroed fields keep today's behaviour: plain TCP, no PROXY
 * header, the server's per-address limits. */
enum mx_proxy_mode { MX_PROXY_OFF, MX_PROXY_V1, MX_PROXY_V2, MX_PROXY_ANY };
/* What a connection's output queue does past output_max (muxd/conn.h). */
enum mx_overflow {
    MX_OVERFLOW_DISCONNECT,      /* the connection is cut (the IRC norm) */
    MX_OVERFLOW_DROP_OLDEST,     /* whole queued messages go, oldest first */
    MX_OVERFLOW_PAUSE_PRODUCER,  /* the protocol stops its producers */
};
/* What carries the protocol's bytes above TCP (and TLS). */
enum mx_transport {
    MX_TRANSPORT_TCP,            /* the bytes as they are */
    MX_TRANSPORT_WEBSOCKET,      /* RFC 6455: one line per message */
};
struct mx_listen_opts {
    const char *name;
    const char *addr;
    const struct mx_proto *proto;
    void *proto_data;
    /* PROXY protocol. */
    enum mx_proxy_mode proxy;
    const char *proxy_from;        /* comma-separated CIDRs; copied */
    unsigned proxy_timeout_ms;     /* for the whole header; 0 = 5000 */
    /* Per-address admission. */
    unsigned max_conns_per_ip;     /* 0 = the server's */
    unsigned connect_rate_per_ip;  /* per second; 0 = the server's */
    /* TLS. */
    struct mx_tls *tls;            /* NULL = plain; muxd/tls.h */
    /* Past output_max. MX_OVERFLOW_DROP_OLDEST cannot go with tls (a
     * sealed record cannot be dropped): -EINVAL. */
    enum mx_overflow overflow;
    /* WebSocket: an HTTP upgrade (any path), then each line the protocol
     * sends is one message (text frames, or binary ones when the client
     * asks for binary.ircv3.net) and each message the client sends is
     * one line to the protocol, CR LF added. A request without Upgrade
     * for / or /index.html gets web_page, anything else 404. */
    enum mx_transport transport;
    const char *allowed_origins;   /* comma-separated Origin values a
                                      browser may come from; NULL or ""
                                      allows any; copied (< 1024 bytes) */
    size_t ws_max_message;         /* bytes of one message; 0 = 16 KiB */
    unsigned ws_timeout_ms;        /* the upgrade request's; 0 = 10000 */
    const char *web_page;          /* HTML served at /; NULL: none. Not
                                      copied: it must outlive the server */
    size_t web_page_len;
    /* Output that reaches a connection from elsewhere (other connections'
     * fan-out, posts) may wait this long for more to join it in one send;
     * its own replies never wait. 0 (today's behaviour) to
     * MX_FANOUT_DELAY_MAX_MS, else -EINVAL. */
    unsigned fanout_delay_ms;
};
#define MX_FANOUT_DELAY_MAX_MS 1000u
int mx_server_listen_with(struct mx_server *s, const struct mx_listen_opts *o);

/* A reload of listener o->name's live options: today its per-address
 * limits (max_conns_per_ip, connect_rate_per_ip; 0 = the server's) and
 * fanout_delay_ms. Every other field of o but name is ignored. New
 * connections are judged by them at once; open ones stay; output already
 * waiting keeps its deadline, later output waits the new delay. 0,
 * -ENOENT for no open listener of that name, -EINVAL for a delay out of
 * range. The controlling thread. */
int mx_server_listen_update(struct mx_server *s, const struct mx_listen_opts *o);
/* PROXY protocol (haproxy's proxy-protocol.txt): a listener with proxy
 * other than MX_PROXY_OFF takes connections only from the sources in
 * proxy_from ("10.0.0.0/8, ::1": IPv4 and IPv6 addresses or ranges, at
 * most 32), refusing every other one, and each must start with a header
 * of the version(s) asked for, whole within proxy_timeout_ms, or it is
 * closed (with a log line saying why). The protocol's on_open runs once
 * the header is in; the address it carries is then the connection's peer
 * (mx_conn_peer). A header is never optional on such a listener (that
 * would let any client name its own address), and an empty proxy_from
 * makes mx_server_listen_with fail with -EINVAL.
 * mx_proxy_from_check: whether list is such a list: 0, or -EINVAL with
 * the reason (naming the bad entry) in why. Any thread. */
int mx_proxy_from_check(const char *list, char *why, size_t len);

/* Stops accepting on listener name and closes its socket (connections
 * waiting in its backlog are refused); its open connections stay until
 * they close, so its proto and proto_data must still outlive the server.
 * Returns once the acceptor has let go of it. 0, or -ENOENT. The
 * controlling thread. */
int mx_server_unlisten(struct mx_server *s, const char *name);

/* Starts the offload pool, the workers (each has set up its backend when
 * this returns) and the acceptor. -EINVAL if already started or without a
 * listener; a backend's or pthread's -errno. After a failure the server
 * must still be freed. */
int mx_server_start(struct mx_server *s);

/* What mx_server_serve calls on the way (each may be NULL). */
struct mx_serve_hooks {
    /* s has started (the place for a "ready" log line or notification). */
    void (*started)(struct mx_server *s, void *arg);
    /* SIGHUP: reread the configuration and apply it (mx_server_update
     * and the program's own settings). Its result is the caller's to
     * log; serving goes on either way. Without it SIGHUP is logged and
     * ignored, never fatal. */
    void (*reload)(struct mx_server *s, void *arg);
    /* SIGINT, SIGTERM or SIGQUIT came: s is about to stop (a "stopping"
     * notice). */
    void (*stopping)(struct mx_server *s, void *arg);
    void *arg;
};

/* Runs s until SIGINT, SIGTERM or SIGQUIT, for a program's main thread:
 * blocks SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2 in the
 * calling thread, starts s (so every muxd thread inherits the mask), calls
 * hooks->started, then waits: each SIGHUP calls hooks->reload on this
 * thread; SIGUSR1 logs one line of stats (connections open, per worker,
 * RSS); SIGUSR2 is logged and ignored; SIGINT, SIGTERM or SIGQUIT is
 * logged, stops s and waits until every worker has finished. Call it from
 * the thread that created s, after mx_server_listen, and before starting
 * threads of your own that leave these signals unblocked (they could take
 * the signal instead). All six stay blocked on return. hooks may be
 * NULL. 0 after a graceful stop; mx_server_start's -errno if it could not
 * start (or pthread_sigmask's); -EINTR when a second SIGINT/SIGTERM/SIGQUIT
 * came during the stop: it is logged, the workers are still closing, and
 * the caller should leave at once (the daemon calls _exit(1)) rather than
 * free s. After 0 or a start error, free s with mx_server_free. */
int mx_server_serve(struct mx_server *s, const struct mx_serve_hooks *hooks);

/* Graceful stop: stop accepting, stop reading, flush queued output up to
 * shutdown_timeout, wait for running offload jobs, close everything.
 * Returns at once; idempotent. */
void mx_server_stop(struct mx_server *s);

/* 1 once every worker has finished (or none was started), else 0. */
int mx_server_finished(struct mx_server *s);

/* Stops (if not yet stopped), joins every thread and frees the server.
 * Posts still queued then get fn(NULL, arg) on the calling thread. NULL is
 * allowed. */
void mx_server_free(struct mx_server *s);

/* Runs fn(c, arg) on the worker that owns connection id (mx_conn_id), with
 * c == NULL if that connection is gone by then (c may also be closing:
 * sends then fail with -ECONNRESET). Posts from one thread to one worker
 * run in the order posted. Any thread, until mx_server_free begins.
 * 0; -ENOENT for an id no worker of s can own, -ENOMEM: on error fn is
 * never called and arg stays the caller's. */
typedef void mx_post_fn(struct mx_conn *c, void *arg);
int mx_server_post(struct mx_server *s, uint64_t conn_id, mx_post_fn *fn, void *arg);

/* Runs fn(arg) on worker `worker` (0 .. mx_server_workers - 1), after
 * everything this thread posted to that worker before: the way to reach
 * state a worker keeps for all its connections (a chat channel's local
 * members, say). A post still queued when the server is freed runs then,
 * on the freeing thread, after every connection has gone, so it finds
 * nothing to deliver to and only releases what it holds. Any thread,
 * until mx_server_free begins. 0; -ENOENT for no such worker, -ENOMEM:
 * fn is then never called. */
typedef void mx_run_fn(void *arg);
int mx_server_run(struct mx_server *s, unsigned worker, mx_run_fn *fn, void *arg);

/* A reload: applies o's live settings to a running (or not yet started)
 * server: max_connections, max_line, output_high_water, output_low_water,
 * output_max, idle_timeout_ms, shutdown_timeout_ms, offload_queue_max,
 * max_connections_per_ip and connect_rate_per_ip (a per-address limit
 * turned on by a reload counts only connections opened after it).
 * Every other field of o is ignored (those need a restart). Each worker
 * switches to the whole new set between two loop turns, and the call
 * returns once all have: what a client sends after it is measured by the
 * new set. Connections keep what they hold (a queue over a lowered
 * output_max is cut at its next send, input over a lowered max_line at
 * its next read). For the thread that controls s. 0, or -ENOMEM (some
 * workers may then keep the old limits: call again). */
int mx_server_update(struct mx_server *s, const struct mx_server_opts *o);

/* mx_server_run, and wait until fn has returned on that worker: for a
 * change every worker must have taken before the caller goes on (a
 * reload). Never from a worker thread of s (-EDEADLK): a worker waiting
 * for a worker could wait for itself. Errors as mx_server_run. */
int mx_server_run_sync(struct mx_server *s, unsigned worker, mx_run_fn *fn, void *arg);

/* Changes the number of workers of a running s to n (1 .. MX_MAX_WORKERS):
 * growing starts new workers, which get new connections from then on;
 * shrinking retires the highest-numbered ones and moves their connections
 * to the others with everything they hold (socket, unread input, output
 * queue, timer, protocol state: see on_move and on_workers in proto.h),
 * closing none and losing or reordering no byte. Every worker pauses
 * between two turns for the move itself. A post (mx_server_post) racing
 * a move may find its connection gone. For the thread that controls s
 * (-EDEADLK from a worker). 0; -EINVAL, -EAGAIN (not running), -ENOMEM
 * or a protocol's on_workers error (s then keeps the count it had). */
int mx_server_set_workers(struct mx_server *s, unsigned n);

/* How many workers s runs (its opts.workers). Any thread. */
unsigned mx_server_workers(const struct mx_server *s);

/* The backend name actually in use. */
const char *mx_server_backend(const struct mx_server *s);

#endif
