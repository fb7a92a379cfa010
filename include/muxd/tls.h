/* muxd/tls.h - TLS on a listener (mx_listen_opts.tls).
 *
 * A context holds the certificate, key and protocol settings. Put it on a
 * listener and its connections speak TLS: the protocol's callbacks see
 * plaintext only, on every backend; mx_conn_send takes plaintext and
 * queues records, so output_max bounds what is queued (in ciphertext,
 * which is the plaintext plus a few percent). A connection's protocol
 * hears of it (on_open) once its handshake is done; one that fails its
 * handshake or stalls past handshake_timeout is closed with a log line
 * and never reaches the protocol.
 */
#ifndef MUXD_TLS_H
#define MUXD_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct mx_tls;

struct mx_tls_opts {
    const char *cert_file;          /* PEM: the certificate, then its chain */
    const char *key_file;           /* PEM: its private key */
    const char *min_version;        /* "1.2" (NULL: 1.2) or "1.3" */
    const char *ciphers;            /* TLS 1.2 cipher list (NULL: OpenSSL's) */
    unsigned handshake_timeout_ms;  /* 0: 10 s */
    /* The key exchange and signature of each handshake run on the
     * offload pool (so a storm of handshakes does not stall the worker's
     * established clients), unless this is set or the pool is busy or
     * absent. */
    bool inline_handshakes;
    /* After its handshake a connection's records go to kernel TLS when
     * the kernel has it, the backend can carry it (epoll, poll) and the
     * cipher is AES-GCM or ChaCha20-Poly1305, unless this is set. Fixed
     * at mx_tls_new. */
    bool no_kernel_tls;
};

/* A context from o's files. 0, or -1 with why in err (the file and
 * OpenSSL's reason). The controlling thread. */
int mx_tls_new(const struct mx_tls_opts *o, struct mx_tls **out, char *err, size_t errlen);

/* Reads o's files again (a reload): connections that start after it get
 * the new certificate; those open keep theirs. On error (-1, err) the
 * context keeps what it had. The controlling thread, while the server
 * runs. */
int mx_tls_reload(struct mx_tls *t, const struct mx_tls_opts *o, char *err, size_t errlen);

/* After the server that used it is freed. NULL is fine. */
void mx_tls_free(struct mx_tls *t);

#endif
