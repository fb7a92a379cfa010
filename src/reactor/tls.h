/* tls.h - TLS contexts and connections inside the core (private). */
#ifndef MUXD_REACTOR_TLS_H
#define MUXD_REACTOR_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "muxd/tls.h"

struct mx_conn;

/* tls.c: an SSL for a new connection from the current context, and the
 * context's handshake timeout. NULL on ENOMEM. Any worker. */
SSL *mx__tls_ssl_new(struct mx_tls *t, unsigned *handshake_timeout_ms);
/* Whether handshakes go to the offload pool (fixed at mx_tls_new). */
bool mx__tls_offload_handshakes(const struct mx_tls *t);
/* Whether this context's connections try kernel TLS after their
 * handshake: the kernel has it and the listener did not turn it off. */
bool mx__tls_kernel(const struct mx_tls *t);
/* Logs once per process whether the kernel could carry the records. */
void mx__tls_kernel_probe(void);

/* conn_tls.c: the layer between a connection's socket and its protocol.
 * Owner worker only. */
/* c's listener has TLS: the handshake begins (the protocol hears of c
 * once it is done). 0 or -ENOMEM. */
int mx__tls_start(struct mx_conn *c, struct mx_tls *t);
/* Ciphertext arrived: whether c is still open. */
bool mx__tls_recv(struct mx_conn *c, const char *p, size_t n);
/* Plaintext from the protocol, as records in the queue. */
int mx__tls_send(struct mx_conn *c, const void *p, size_t n);
/* A graceful close: close_notify goes out ahead of the close. */
void mx__tls_close_notify(struct mx_conn *c);
/* The output queue is empty: the moment kernel TLS may take over. */
void mx__tls_sent_all(struct mx_conn *c);
/* After the switch (MX_C_KTLS, c->tls gone): the kernel makes the records.
 * A close sends close_notify through it (best effort); a receive error
 * err is read as the kernel means it: whether it was handled (logged and
 * closed) here. */
void mx__tls_kernel_close_notify(struct mx_conn *c);
bool mx__tls_kernel_fail(struct mx_conn *c, int err);
void mx__tls_free(struct mx_conn *c);

#endif
