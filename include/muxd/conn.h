/* muxd/conn.h - calls on a connection.
 *
 * A connection belongs to one worker thread for its whole life. Every call
 * here is for that owner thread only (protocol callbacks, timer and offload
 * completions and mx_server_post functions all run there). Builds with
 * MUXD_ASSERT_OWNER (the default) abort when another thread calls one of
 * the checked calls; the few pure getters are not checked. To reach a
 * connection from another thread, use mx_server_post with its id.
 * Errors are -errno.
 */
#ifndef MUXD_CONN_H
#define MUXD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "muxd/server.h"

struct mx_conn;
struct mx_chunk;
struct mx_server;

/* Queues a copy of p[0..n) for the peer; it leaves in one write with
 * everything else queued this loop turn. n == 0 does nothing.
 * -ECONNRESET once the connection is closing or closed; -ENOMEM.
 * Going over output_max cuts the connection at once (its queue is dropped)
 * and returns -ENOBUFS; on_close runs at the end of the turn (proto.h). */
int mx_conn_send(struct mx_conn *c, const void *p, size_t n);

/* Queues a shared chunk without copying: takes a reference of its own,
 * and the caller keeps its reference in every case, error or not. The
 * chunk must not change once sent. A chunk of len 0 does nothing. Errors
 * as mx_conn_send. */
int mx_conn_send_chunk(struct mx_conn *c, struct mx_chunk *ch);

/* Graceful close: stop reading, flush what is queued, then close; a
 * peer that does not take the queued bytes within shutdown_timeout is cut
 * off then (the protocol's timer is replaced by that deadline). reason
 * (a string that outlives the call, or NULL for none) is logged at WARN
 * with the peer. With nothing queued the socket closes inside this call
 * and its timer is cancelled; offload jobs not yet started get done(NULL)
 * and then on_close runs, both at the end of the loop turn (proto.h).
 * Safe from inside callbacks; idempotent. */
void mx_conn_close(struct mx_conn *c, const char *reason);

/* Stop / resume reading from the peer (independent of the server's own
 * backpressure on output high water); both idempotent. While paused the
 * protocol gets no on_data calls; bytes that had already arrived are kept
 * (up to max_line plus one read, past which the connection is cut) and
 * offered again after mx_conn_resume, at the end of the current loop
 * turn. A protocol that answers requests in order pauses while one is
 * offloaded. A peer's EOF waits until the protocol resumes and has taken
 * its kept whole requests; a partial one left at EOF is dropped. */
void mx_conn_pause(struct mx_conn *c);
void mx_conn_resume(struct mx_conn *c);

/* Per-connection pointer for the protocol; NULL at on_open. The protocol
 * owns what it points to (free it in on_close). */
void mx_conn_set_data(struct mx_conn *c, void *data);
void *mx_conn_data(const struct mx_conn *c);

/* One timer per connection: fn(c, arg) runs on the owner thread once, ms
 * milliseconds from now (the loop's millisecond clock). Setting it again
 * replaces the previous one; mx_conn_timer_stop cancels it; closing the
 * connection cancels it. arg stays the caller's throughout: nothing is
 * called for a timer that is replaced or cancelled.
 * 0, -ENOMEM, -ECONNRESET once closing or closed. */
typedef void mx_conn_timer_fn(struct mx_conn *c, void *arg);
int mx_conn_timer(struct mx_conn *c, unsigned ms, mx_conn_timer_fn *fn, void *arg);
void mx_conn_timer_stop(struct mx_conn *c);

/* Getters (owner thread; not checked). */

/* The index of the worker that owns c (for mx_server_run), 0 based. */
unsigned mx_conn_worker(const struct mx_conn *c);
/* The server c belongs to (for mx_server_post). */
struct mx_server *mx_conn_server(const struct mx_conn *c);

/* The proto_data given to mx_server_listen for this connection's listener. */
void *mx_conn_listener_data(const struct mx_conn *c);

/* Server-unique id: generation, worker and slot. An id is never reused by
 * a later connection while the server runs (until a slot's 32-bit
 * generation wraps), so it is safe to hold in other threads. */
uint64_t mx_conn_id(const struct mx_conn *c);

/* The peer's address (len may be NULL), and as text like "127.0.0.1:5000"
 * or "[::1]:5000" in a thread-local buffer that the next call on the same
 * thread overwrites. */
const struct sockaddr *mx_conn_peer(const struct mx_conn *c, socklen_t *len);
const char *mx_conn_peer_str(const struct mx_conn *c);

/* Does c speak TLS (its listener's `tls = on`)? Known from the accept on,
 * so a protocol may note it in on_open. */
bool mx_conn_tls(const struct mx_conn *c);

/* The server's max_line as c's worker applies it now (a reload may
 * change it): a line protocol's cap for its own "line too long" reply. */
size_t mx_conn_max_line(const struct mx_conn *c);

/* Bytes queued and not yet written (checked). */
size_t mx_conn_pending(const struct mx_conn *c);

/* What its queue does past output_max: its listener's overflow policy
 * (muxd/server.h). On MX_OVERFLOW_PAUSE_PRODUCER the core cuts at
 * output_max as with disconnect; the protocol is to pause the
 * connections that feed a congested one before that, and resume them
 * from on_drain. On MX_OVERFLOW_DROP_OLDEST every send is a message that
 * may be dropped whole, never in part. */
enum mx_overflow mx_conn_overflow(const struct mx_conn *c);

#endif
