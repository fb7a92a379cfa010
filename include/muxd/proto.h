/* muxd/proto.h - a protocol is a table of callbacks.
 *
 * Every callback runs on the worker thread that owns the connection, never
 * concurrently for one connection, and must not block: hand slow work to
 * mx_offload instead.
 *
 * Closing is deferred, like libuv's uv_close: on_close never runs inside
 * a call the protocol made (mx_conn_send or mx_conn_send_chunk going over
 * output_max, mx_conn_close, a failed flush, ...). A close is recorded,
 * the socket is shut at once (sends fail with -ECONNRESET from then on),
 * and on_close runs at the end of the loop turn, before the connection's
 * memory is freed. So a callback can close its own connection, or have it
 * cut under it, and still use the connection and its data until it
 * returns; a protocol that walks its own lists while sending needs no
 * guard against a member being freed mid-walk.
 */
#ifndef MUXD_PROTO_H
#define MUXD_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct mx_conn;
struct mx_metric;

/* Why a connection was refused before it reached a protocol (refuse). */
enum mx_refusal {
    MX_REFUSE_PER_IP_LIMIT,   /* its address holds max_connections_per_ip */
    MX_REFUSE_PER_IP_RATE,    /* its address connects faster than
                                 connect_rate_per_ip */
};

struct mx_proto {
    const char *name;
    /* A new connection (optional). Return 0, or -errno to refuse it: it is
     * closed at once, with a log line unless the error is -ECONNREFUSED.
     * on_close still runs for a refused connection. */
    int (*on_open)(struct mx_conn *c);
    /* Bytes arrived. Return how many were consumed (more than len counts
     * as len); the rest is kept and offered again, with more bytes
     * appended, on the next call. The kept part is capped by the server's
     * max_line: past it the connection is closed, so a protocol that frames
     * lines should reject long ones itself with a friendlier reply. data is
     * only valid during the call. Not called while paused or closing. */
    size_t (*on_data)(struct mx_conn *c, const char *data, size_t len);
    /* The output queue has emptied (optional; not called while closing). */
    void (*on_drain)(struct mx_conn *c);
    /* The connection has gone, whatever the reason (optional): free the
     * protocol's data here. Runs at the end of the loop turn in which the
     * connection closed, never inside another callback's call into muxd;
     * on_close calls of one turn run in the order the connections closed.
     * The getters still work; sends fail. No other callback follows. */
    void (*on_close)(struct mx_conn *c);
    /* The server is stopping gracefully (optional): the last chance to
     * queue a goodbye ("ERROR :Closing Link: ... (Server shutting
     * down)"); it goes out before the connection closes, within
     * shutdown_timeout. No input follows; on_close does. (Last in the
     * table, so tables written in order before it stay valid.) */
    void (*on_stop)(struct mx_conn *c);
    /* A change of the worker set (mx_server_set_workers), both optional.
     * They run while every worker is paused between two loop turns, so
     * they may touch state any worker keeps.
     * on_move: c has moved to another worker (mx_conn_worker and
     * mx_conn_id now give the new ones; old_id was its id). On the new
     * owner, before c sees any event there. Its input, output queue and
     * timer moved with it.
     * on_workers: the count is becoming n, once per (protocol,
     * proto_data), on the controlling thread: before new workers start
     * (a negative errno keeps them from starting), or after the retired
     * ones' connections have moved. */
    void (*on_move)(struct mx_conn *c, uint64_t old_id);
    int (*on_workers)(void *proto_data, unsigned n);
    /* The protocol's own metrics, for a metrics endpoint (optional; see
     * muxd/stats.h): call emit(sink, &metric) once per metric. Runs on
     * the thread that scrapes (a worker, for the admin listener), while
     * the protocol's callbacks run on theirs: read counters each worker
     * writes alone with relaxed atomic loads, and take a lock only
     * briefly. Must not block. Called once per scrape for each distinct
     * (proto, proto_data). */
    void (*metrics)(void *proto_data, void (*emit)(void *sink, const struct mx_metric *m),
                    void *sink);
    /* A connection is being refused before any worker has seen it
     * (optional): write the protocol's goodbye for a peer at address ip
     * ("192.0.2.7", "2001:db8::1"), terminator included, into buf (cap
     * bytes) and return its length; 0 sends nothing. It goes out in one
     * non-blocking send, best effort, then the socket closes. Runs on the
     * acceptor thread while workers run the other callbacks: only format,
     * reading nothing a worker writes. No connection exists: on_open and
     * on_close are not called. (Last in the table, like metrics before.) */
    size_t (*refuse)(void *proto_data, enum mx_refusal why, const char *ip, char *buf,
                     size_t cap);
    /* Optional, for overflow = drop_oldest: c's queue lost `dropped`
     * messages in a row (this gap so far). Format the note that stands in
     * their place (buf, at most cap bytes) and return its length; 0 puts
     * nothing there. Runs on c's worker, inside the send that overflowed:
     * only format, send nothing. */
    size_t (*overflow_note)(struct mx_conn *c, uint64_t dropped, char *buf, size_t cap);
};

#endif
