/* ws.h - the WebSocket layer of a connection (conn_ws.c): between TLS (or
 * the socket) and the protocol, on a listener with transport websocket.
 * The protocol's lines travel as messages, one line each, without CR LF
 * (the IRCv3 WebSocket spec), so a line protocol serves browsers without
 * knowing it. */
#ifndef MUXD_REACTOR_WS_H
#define MUXD_REACTOR_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mx_conn;
struct mx_chunk;
struct mx_listen_opts;

/* A listener's WebSocket options (from mx_listen_opts). */
struct mx__ws_cfg {
    bool on;
    uint32_t max_message;         /* bytes of one message, either way */
    unsigned timeout_ms;          /* for the upgrade request */
    char origins[1024];           /* allowed_origins; "" allows any */
    const char *page;             /* served at GET /, or NULL */
    size_t page_len;
};
/* -EINVAL for options it cannot take (an origins list over 1023 bytes). */
int mx__ws_cfg_set(struct mx__ws_cfg *cfg, const struct mx_listen_opts *o);

/* Set up at accept, freed with the connection. */
int mx__ws_new(struct mx_conn *c);
void mx__ws_free(struct mx_conn *c);
/* What sits below has opened (TCP, TLS): true while the upgrade is
 * still to come (its timer is armed; the protocol waits), false once it
 * is done and the protocol may be opened. */
bool mx__ws_begin(struct mx_conn *c);
/* Bytes from below: whether c is still open. */
bool mx__ws_recv(struct mx_conn *c, const char *p, size_t n);
/* The protocol's bytes, as messages, one per line. */
int mx__ws_send(struct mx_conn *c, const char *p, size_t n);
/* A shared chunk in this connection's framing (made once per chunk and
 * kind, then shared by reference), or NULL for no memory. Not a new
 * reference: ch holds it. */
struct mx_chunk *mx__ws_chunk(struct mx_conn *c, struct mx_chunk *ch);
/* p[0..n) framed for c, in a new chunk (one reference, the caller's):
 * for what the core itself puts in a queue (drop_oldest's note). Sends
 * nothing. NULL for no memory. */
struct mx_chunk *mx__ws_frame_copy(struct mx_conn *c, const char *p, size_t n);
/* A graceful close: the close frame goes before the socket closes. */
void mx__ws_close(struct mx_conn *c);

#endif
