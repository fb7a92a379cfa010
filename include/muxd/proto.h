/* muxd/proto.h - a protocol is a table of callbacks.
 *
 * Every callback runs on the worker thread that owns the connection, never
 * concurrently for one connection, and must not block: hand slow work to
 * mx_offload instead. A callback may close its own connection
 * (mx_conn_close); the connection stays valid until the callback returns.
 * Beware that on_close can run inside a call the protocol makes itself
 * (mx_conn_close, or mx_conn_send going over output_max), so data freed in
 * on_close is gone when that call returns.
 */
#ifndef MUXD_PROTO_H
#define MUXD_PROTO_H

#include <stddef.h>

struct mx_conn;

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
    /* The connection is going away, whatever the reason (optional): free
     * the protocol's data here. No other callback follows. */
    void (*on_close)(struct mx_conn *c);
};

#endif
