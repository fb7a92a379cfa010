/* conn_tls.c - TLS between a connection's socket and its protocol, on
 * every backend: the backend moves ciphertext as for any connection, and
 * OpenSSL works on memory BIOs here, on the owner worker.
 *
 *  socket -> backend -> mx__conn_recv -> rbio -> SSL_read -> protocol
 *  protocol -> mx_conn_send -> SSL_write -> wbio -> output queue -> backend
 *
 * The protocol sees the connection (on_open) once the handshake is done;
 * a failed or stalled handshake closes it with a log line and the protocol
 * never hears of it. Records go into the output queue as they are made,
 * so output_max bounds ciphertext; no plaintext is ever queued.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/offload.h"
#include "reactor/conn.h"
#include "reactor/tls.h"

struct mx__tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio;               /* owned by ssl */
    bool offload;                   /* handshake steps run on the pool */
    bool in_pool;                   /* one does now: hands off ssl */
    bool orphan;                    /* its connection was freed meanwhile */
    int step_rc, step_err;          /* the pool's SSL_do_handshake */
    const char *step_reason;        /* OpenSSL's, read on the pool thread */
};

/* Records the SSL made, into the queue (one copy: the BIO's buffer is
 * appended, then emptied). */
static int flush_wbio(struct mx_conn *c)
{
    char *p;
    long n = BIO_get_mem_data(c->tls->wbio, &p);
    if (n <= 0)
        return 0;
    int err = mx__conn_queue_raw(c, p, (size_t)n);
    (void)BIO_reset(c->tls->wbio);
    return err;
}

/* A client event: OpenSSL's reason goes in the close line. The alert
 * OpenSSL made (if any) goes out before the socket closes. */
static void fail(struct mx_conn *c, const char *what)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char why[160];
    snprintf(why, sizeof why, "%s: %s", what, reason ? reason : "protocol error");
    ERR_clear_error();
    flush_wbio(c);
    mx_conn_close(c, why);
}

static void handshake_timeout(struct mx_conn *c, void *arg)
{
    (void)arg;
    mx__conn_abort(c, "TLS handshake not done within handshake_timeout");
}

int mx__tls_start(struct mx_conn *c, struct mx_tls *t)
{
    struct mx__tls_conn *tc = calloc(1, sizeof *tc);
    unsigned timeout_ms = 0;
    if (tc) {
        tc->ssl = mx__tls_ssl_new(t, &timeout_ms);
        tc->offload = mx__tls_offload_handshakes(t);
    }
    if (tc && tc->ssl) {
        tc->rbio = BIO_new(BIO_s_mem());
        tc->wbio = BIO_new(BIO_s_mem());
    }
    if (!tc || !tc->ssl || !tc->rbio || !tc->wbio) {
        if (tc) {
            BIO_free(tc->rbio);
            BIO_free(tc->wbio);
            SSL_free(tc->ssl);
        }
        free(tc);
        ERR_clear_error();
        return -ENOMEM;
    }
    /* An empty read BIO means "wait for more", not EOF. */
    BIO_set_mem_eof_return(tc->rbio, -1);
    SSL_set_bio(tc->ssl, tc->rbio, tc->wbio);
    SSL_set_accept_state(tc->ssl);
    c->tls = tc;
    c->flags |= MX_C_HANDSHAKE;
    return mx__conn_timer_arm(c, timeout_ms, handshake_timeout, NULL);
}

static bool read_plain(struct mx_conn *c);
static bool handshake(struct mx_conn *c);

/* The pool's part: the key exchange and the signature, the costly half
 * of a handshake, off the worker's loop. OpenSSL's errors are per thread:
 * their reason is read here. */
static void step_work(void *arg)
{
    struct mx__tls_conn *tc = arg;
    tc->step_rc = SSL_do_handshake(tc->ssl);
    tc->step_err = tc->step_rc == 1 ? SSL_ERROR_NONE : SSL_get_error(tc->ssl, tc->step_rc);
    unsigned long e = ERR_get_error();
    tc->step_reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
}

static bool step_result(struct mx_conn *c, int rc, int err, const char *reason);

static void tc_free(struct mx__tls_conn *tc)
{
    SSL_free(tc->ssl);
    free(tc);
}

/* Back on the owner. c is NULL when the connection closed meanwhile: if
 * it was freed too, the SSL is ours to free; if not (closed in this very
 * turn), its free will do it. */
static void step_done(struct mx_conn *c, void *arg)
{
    struct mx__tls_conn *tc = arg;
    tc->in_pool = false;
    if (!c) {
        if (tc->orphan)
            tc_free(tc);
        return;
    }
    if (c->flags & MX_C_DEAD)
        return;
    if (!step_result(c, tc->step_rc, tc->step_err, tc->step_reason))
        return;
    /* Ciphertext that came while the pool had the SSL waited in c->in. */
    if (c->in.len > 0) {
        struct mx_buf more = c->in;
        c->in = (struct mx_buf){ 0 };
        bool open = mx__tls_recv(c, more.data, more.len);
        mx__buf_free(&more);
        if (!open)
            return;
    } else if (!(c->flags & MX_C_HANDSHAKE)) {
        read_plain(c);
    }
    mx__conn_finish_eof(c);
}

/* Returns whether c is still open. */
static bool handshake(struct mx_conn *c)
{
    struct mx__tls_conn *tc = c->tls;
    if (tc->offload && mx_offload(c, step_work, step_done, tc) == 0) {
        tc->in_pool = true;
        return true;
    }
    int r = SSL_do_handshake(tc->ssl);
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(tc->ssl, r);
    unsigned long e = r == 1 ? 0 : ERR_peek_error();
    return step_result(c, r, err, e ? ERR_reason_error_string(e) : NULL);
}

static bool step_result(struct mx_conn *c, int r, int err, const char *reason)
{
    if (r != 1) {
        if (err == SSL_ERROR_WANT_READ) {
            flush_wbio(c);
            return !(c->flags & MX_C_DEAD);
        }
        ERR_clear_error();
        char why[160];
        snprintf(why, sizeof why, "TLS handshake failed: %s", reason ? reason : "protocol error");
        flush_wbio(c);
        mx_conn_close(c, why);
        return false;
    }
    c->flags &= ~MX_C_HANDSHAKE;
    mx__conn_timer_take(c);
    mx_debug("conn to %s: %s, %s", mx_conn_peer_str(c), SSL_get_version(c->tls->ssl),
             SSL_get_cipher_name(c->tls->ssl));
    flush_wbio(c);
    mx__conn_open(c);
    return !(c->flags & MX_C_DEAD);
}

/* Everything the records so far decrypt to, to the protocol. */
static bool read_plain(struct mx_conn *c)
{
    static _Thread_local char buf[16384];
    for (;;) {
        int r = SSL_read(c->tls->ssl, buf, sizeof buf);
        if (r > 0) {
            if (!mx__conn_plain(c, buf, (size_t)r))
                return false;
            if (c->flags & (MX_C_CLOSING | MX_C_DEAD))
                return !(c->flags & MX_C_DEAD);
            continue;
        }
        int e = SSL_get_error(c->tls->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            flush_wbio(c); /* post-handshake messages, a key update */
            return !(c->flags & MX_C_DEAD);
        }
        if (e == SSL_ERROR_ZERO_RETURN)
            return mx__conn_eof(c); /* close_notify: the peer's end of the stream */
        fail(c, "TLS");
        return !(c->flags & MX_C_DEAD);
    }
}

/* A handshake's flights are a few KiB; whatever a client sends past that
 * before its handshake is done is held (in c->in while the pool has the
 * SSL, in the read BIO otherwise) only up to here. */
#define HANDSHAKE_INPUT_MAX (64u * 1024u)

bool mx__tls_recv(struct mx_conn *c, const char *p, size_t n)
{
    if ((c->flags & MX_C_HANDSHAKE) &&
        c->in.len + BIO_ctrl_pending(c->tls->rbio) + n > HANDSHAKE_INPUT_MAX) {
        mx__conn_abort(c, "TLS: over 64 KiB of input before the handshake was done");
        return false;
    }
    if (c->tls->in_pool) {
        /* The pool has the SSL: keep the bytes until it is back. */
        if (mx__buf_append(&c->in, p, n) < 0) {
            mx__conn_abort(c, "TLS: no memory for input");
            return false;
        }
        return true;
    }
    if (n > INT_MAX || BIO_write(c->tls->rbio, p, (int)n) != (int)n) {
        mx__conn_abort(c, "TLS: no memory for input");
        return false;
    }
    if ((c->flags & MX_C_HANDSHAKE) && (!handshake(c) || (c->flags & MX_C_HANDSHAKE)))
        return !(c->flags & MX_C_DEAD);
    return read_plain(c);
}

int mx__tls_send(struct mx_conn *c, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        int r = SSL_write(c->tls->ssl, b, n > INT_MAX ? INT_MAX : (int)n);
        if (r <= 0) {
            fail(c, "TLS write");
            return -ECONNRESET;
        }
        b += r;
        n -= (size_t)r;
    }
    return flush_wbio(c);
}

void mx__tls_close_notify(struct mx_conn *c)
{
    if (c->flags & MX_C_HANDSHAKE)
        return;
    SSL_shutdown(c->tls->ssl);
    ERR_clear_error();
    flush_wbio(c);
}

void mx__tls_free(struct mx_conn *c)
{
    if (!c->tls)
        return;
    struct mx__tls_conn *tc = c->tls;
    c->tls = NULL;
    if (tc->in_pool)
        tc->orphan = true; /* step_done frees it when the pool lets go */
    else
        tc_free(tc);
}
