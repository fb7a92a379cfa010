/* tls.c - TLS contexts (muxd/tls.h): OpenSSL's SSL_CTX behind a lock, so
 * a reload can swap it while workers start handshakes. Each SSL keeps a
 * reference to the SSL_CTX it was made from: an old context lives until
 * its last connection ends. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "muxd/log.h"
#include "reactor/ktls_keys.h"
#include "reactor/tls.h"

struct mx_tls {
    pthread_mutex_t mu;
    SSL_CTX *ctx;
    unsigned handshake_timeout_ms;
    bool offload;                   /* handshake steps on the offload pool */
    bool kernel;                    /* try kernel TLS after handshakes */
};

static bool kernel_has_tls;         /* the probe's finding, set once */

/* OpenSSL's latest reason, or what we were doing. */
static void why(char *err, size_t len, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "unknown error";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    snprintf(err, len, "%s%s%s: %s", what, file ? " " : "", file ? file : "", reason);
    ERR_clear_error();
}

static int min_version(const char *v)
{
    if (!v || !*v || strcmp(v, "1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(v, "1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

static SSL_CTX *ctx_new(const struct mx_tls_opts *o, bool kernel, char *err, size_t len)
{
    int minv = min_version(o->min_version);
    if (!minv) {
        snprintf(err, len, "TLS minimum version '%s': expected 1.2 or 1.3", o->min_version);
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        why(err, len, "TLS context", NULL);
        return NULL;
    }
    /* Renegotiation would let a client make us redo the costly part at
     * will; compression invites CRIME. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_min_proto_version(ctx, minv);
    /* Records of up to 16 KiB move out of the queue as written. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    /* TLS 1.3's traffic secrets reach us only through the key log; it
     * keeps them with the SSL (ktls_keys.c), never in a file. */
    if (kernel)
        SSL_CTX_set_keylog_callback(ctx, mx__ktls_keylog);
    const char *fail = NULL, *file = NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
        fail = "TLS certificate", file = o->cert_file;
    else if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
        fail = "TLS key", file = o->key_file;
    else if (SSL_CTX_check_private_key(ctx) != 1)
        fail = "TLS key does not match the certificate", file = o->key_file;
    else if (o->ciphers && *o->ciphers && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1)
        fail = "TLS ciphers", file = o->ciphers;
    if (fail) {
        why(err, len, fail, file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int mx_tls_new(const struct mx_tls_opts *o, struct mx_tls **out, char *err, size_t errlen)
{
    *out = NULL;
    mx__tls_kernel_probe();
    bool kernel = kernel_has_tls && !o->no_kernel_tls;
    SSL_CTX *ctx = ctx_new(o, kernel, err, errlen);
    if (!ctx)
        return -1;
    struct mx_tls *t = calloc(1, sizeof *t);
    if (!t) {
        SSL_CTX_free(ctx);
        snprintf(err, errlen, "TLS: out of memory");
        return -1;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->ctx = ctx;
    t->handshake_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : 10000;
    t->offload = !o->inline_handshakes;
    t->kernel = kernel;
    *out = t;
    return 0;
}

int mx_tls_reload(struct mx_tls *t, const struct mx_tls_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = ctx_new(o, t->kernel, err, errlen);
    if (!ctx)
        return -1;
    pthread_mutex_lock(&t->mu);
    SSL_CTX *old = t->ctx;
    t->ctx = ctx;
    t->handshake_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : 10000;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* connections made from it hold their own reference */
    return 0;
}

void mx_tls_free(struct mx_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

bool mx__tls_offload_handshakes(const struct mx_tls *t)
{
    return t->offload;
}

bool mx__tls_kernel(const struct mx_tls *t)
{
    return t->kernel;
}

SSL *mx__tls_ssl_new(struct mx_tls *t, unsigned *handshake_timeout_ms)
{
    pthread_mutex_lock(&t->mu);
    SSL *ssl = SSL_new(t->ctx);
    *handshake_timeout_ms = t->handshake_timeout_ms;
    pthread_mutex_unlock(&t->mu);
    return ssl;
}

/* Kernel TLS takes over the records once keys are handed to the socket
 * (TCP_ULP "tls", then TLS_TX/TLS_RX). Whether this kernel has it shows on
 * any TCP socket: without the module, TCP_ULP fails with ENOENT; with it,
 * an unconnected socket gets ENOTCONN. Said once per process. */
static void kernel_log(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3);
    int e = errno;
    if (fd >= 0)
        close(fd);
    kernel_has_tls = rc < 0 && e == ENOTCONN;
    /* Tests on a kernel without the module drive the switch up to the
     * kernel's refusal: keys derived for every connection, TCP_ULP then
     * fails, and the connections go on in user space. */
    const char *assume = getenv("MUXD_TEST_ASSUME_KTLS");
    if (!kernel_has_tls && assume && *assume) {
        kernel_has_tls = true;
        mx_info("TLS: kernel TLS unavailable (%s), but MUXD_TEST_ASSUME_KTLS is set: "
                "connections try it and stay in user space when it is refused",
                rc < 0 ? strerror(e) : "probe accepted an unconnected socket");
        return;
    }
    if (kernel_has_tls)
        mx_info("TLS: the kernel offers kernel TLS: a connection's records go to it after "
                "the handshake where its listener has ktls = auto, the backend is epoll or "
                "poll and the cipher is AES-GCM or ChaCha20-Poly1305");
    else
        mx_info("TLS: kernel TLS unavailable (%s): records are made in user space",
                rc < 0 ? strerror(e) : "probe accepted an unconnected socket");
}

void mx__tls_kernel_probe(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, kernel_log);
}
