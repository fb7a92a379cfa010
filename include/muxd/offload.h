/* muxd/offload.h - hand heavy or blocking work to the offload pool.
 *
 * A protocol callback must never block its worker: every other connection
 * of that worker would wait. Instead it offloads: work(arg) runs on a pool
 * thread (muxd-offN), then done(c, arg) runs back on the connection's owner
 * worker, where it may send through the normal output queue.
 *
 * Jobs of one connection run one at a time, in the order offloaded, so
 * their completions keep that order. done is always called exactly once
 * per accepted job, with c == NULL when the connection closed (or the
 * server stopped) before the result could be delivered: arg is then the
 * caller's to free and nothing else may be touched.
 */
#ifndef MUXD_OFFLOAD_H
#define MUXD_OFFLOAD_H

struct mx_conn;

typedef void mx_work_fn(void *arg);
typedef void mx_done_fn(struct mx_conn *c, void *arg);

/* Owner thread only. Fill arg before the call: a pool thread may start on
 * it at once. 0 when accepted; -EBUSY when offload_queue_max jobs are
 * already outstanding server-wide (reply "busy" rather than queue without
 * bound); -ENOTSUP when the server has no offload pool (threads = 0);
 * -ECONNRESET when c is closing; -ENOMEM. On error nothing is called and
 * arg stays the caller's. done may get a connection that is closing; its
 * sends then fail with -ECONNRESET. */
int mx_offload(struct mx_conn *c, mx_work_fn *work, mx_done_fn *done, void *arg);

#endif
