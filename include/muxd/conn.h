/* muxd/conn.h - calls on a connection.
 *
 * A connection belongs to one worker thread for its whole life. Every call
 * here is for that owner thread only (protocol callbacks run there); debug
 * builds abort when another thread makes one. Errors are -errno.
 */
#ifndef MUXD_CONN_H
#define MUXD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct mx_conn;
struct mx_chunk;
struct mx_server;

/* Queue a copy of p[0..n) for the peer. -ECONNRESET if the connection is
 * closing, -ENOMEM. Going over output_max closes the connection and
 * returns -ENOBUFS. */
int mx_conn_send(struct mx_conn *c, const void *p, size_t n);

/* Queue a shared chunk; takes a reference of its own (the caller keeps its). */
int mx_conn_send_chunk(struct mx_conn *c, struct mx_chunk *ch);

/* Stop reading, flush queued output, then close. reason (a static string or
 * NULL) is logged. Safe from inside callbacks; idempotent. */
void mx_conn_close(struct mx_conn *c, const char *reason);

/* Stop / resume reading from the peer (independent of the server's own
 * backpressure on output high water). While paused the protocol gets no
 * on_data calls; bytes that had already arrived are kept (up to max_line
 * plus one read) and offered again after mx_conn_resume, at the end of
 * the current loop turn. A protocol that answers requests in order pauses
 * while one is offloaded. */
void mx_conn_pause(struct mx_conn *c);
void mx_conn_resume(struct mx_conn *c);

/* Per-connection pointer for the protocol; NULL at on_open. */
void mx_conn_set_data(struct mx_conn *c, void *data);
void *mx_conn_data(const struct mx_conn *c);

/* One timer per connection: fn(c, arg) runs on the owner thread once, ms
 * milliseconds from now (rounded to the loop's millisecond clock). Setting
 * it again replaces the previous one; closing the connection cancels it.
 * 0, -ENOMEM, -ECONNRESET once closed. */
typedef void mx_conn_timer_fn(struct mx_conn *c, void *arg);
int mx_conn_timer(struct mx_conn *c, unsigned ms, mx_conn_timer_fn *fn, void *arg);
void mx_conn_timer_stop(struct mx_conn *c);

/* The server c belongs to (for mx_server_post). Any thread that holds c
 * legitimately, i.e. the owner. */
struct mx_server *mx_conn_server(const struct mx_conn *c);

/* The proto_data given to mx_server_listen for this connection's listener. */
void *mx_conn_listener_data(const struct mx_conn *c);

/* Server-unique id (generation-tagged: never reused for a later connection
 * on the same slot while the server runs). */
uint64_t mx_conn_id(const struct mx_conn *c);

/* The peer's address, and as text like "127.0.0.1:5000" or "[::1]:5000". */
const struct sockaddr *mx_conn_peer(const struct mx_conn *c, socklen_t *len);
const char *mx_conn_peer_str(const struct mx_conn *c);

/* Bytes queued and not yet written. */
size_t mx_conn_pending(const struct mx_conn *c);

#endif
