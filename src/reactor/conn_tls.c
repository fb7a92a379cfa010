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
 *
 * Kernel TLS: where the kernel has it (and the listener, the backend and
 * the cipher allow), a connection's records are handed to the kernel once
 * the handshake is done and nothing of TLS is in flight in either
 * direction (try_kernel). From then on c->tls is gone, the socket carries
 * plaintext for us, and the connection is handled as a plain one
 * (MX_C_KTLS marks it for the close and for receive errors).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io/backend.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/offload.h"
#include "reactor/conn.h"
#include "reactor/ktls_keys.h"
#include "reactor/tls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

struct mx__tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio;               /* owned by ssl */
    bool offload;                   /* handshake steps run on the pool */
    bool in_pool;                   /* one does now: hands off ssl */
    bool orphan;                    /* its connection was freed meanwhile */
    int step_rc, step_err;          /* the pool's SSL_do_handshake */
    const char *step_reason;        /* OpenSSL's, read on the pool thread */
    struct mx__ktls_track *track;   /* kernel TLS may take over; NULL: it won't */
};

/* Follows the SSL from its first byte when kernel TLS may take over: the
 * switch needs the secrets and record counts of the whole handshake. */
static void track_start(struct mx_conn *c, struct mx__tls_conn *tc, struct mx_tls *t)
{
    if (!mx__tls_kernel(t))
        return;
    if (!c->w->be->kernel_tls) {
        static atomic_flag said = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&said))
            mx_info("TLS: kernel TLS is not used under the %s backend (its receives cannot "
                    "hand it over cleanly): records are made in user space", c->w->be->name);
        return;
    }
    tc->track = malloc(sizeof *tc->track);
    if (tc->track && mx__ktls_track(tc->ssl, tc->track) < 0) {
        free(tc->track);
        tc->track = NULL; /* out of memory: user space, as without the kernel's */
    }
}

/* Wipes the secrets: one try per connection, whatever its outcome. */
static void track_stop(struct mx__tls_conn *tc)
{
    if (!tc->track)
        return;
    mx__ktls_untrack(tc->ssl, tc->track);
    free(tc->track);
    tc->track = NULL;
}

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
    track_start(c, tc, t);
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
    track_stop(tc);
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
    if (c->flags & MX_C_HELD) {
        c->flags &= ~MX_C_HELD;
        mx__conn_update_recv(c);
    }
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

static void try_kernel(struct mx_conn *c);

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
            if (!(c->flags & MX_C_DEAD))
                try_kernel(c); /* the read side is drained: c->tls may go */
            return !(c->flags & MX_C_DEAD);
        }
        if (e == SSL_ERROR_ZERO_RETURN)
            return mx__conn_eof(c); /* close_notify: the peer's end of the stream */
        fail(c, "TLS");
        return !(c->flags & MX_C_DEAD);
    }
}

/* A handshake's flights are a few KiB; whatever a client sends past that
 * before its handshake is done is held in the read BIO only up to here. */
#define HANDSHAKE_INPUT_MAX (64u * 1024u)
/* While the pool has the SSL, input waits in c->in; past this much the
 * connection stops receiving until the SSL is back. A client may well
 * send data right behind its Finished while the pool still works on it:
 * holding it back is right, cutting it is not. What is kept is then
 * bounded as for a paused connection (conn.c): by the read, or the
 * io_uring receives, that raced the hold. */
#define POOL_INPUT_HOLD (16u * 1024u)

bool mx__tls_recv(struct mx_conn *c, const char *p, size_t n)
{
    if (c->tls->in_pool) {
        if (mx__buf_append(&c->in, p, n) < 0) {
            mx__conn_abort(c, "TLS: no memory for input");
            return false;
        }
        if (c->in.len >= POOL_INPUT_HOLD && !(c->flags & MX_C_HELD)) {
            c->flags |= MX_C_HELD;
            mx__conn_update_recv(c);
        }
        return true;
    }
    if ((c->flags & MX_C_HANDSHAKE) &&
        BIO_ctrl_pending(c->tls->rbio) + n > HANDSHAKE_INPUT_MAX) {
        mx__conn_abort(c, "TLS: over 64 KiB of input before the handshake was done");
        return false;
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

/* ---- kernel TLS ----------------------------------------------------- */

/* Both directions' keys to the socket. TX first: a kernel that does not
 * take the cipher refuses it there, before anything changed for us. The
 * failed step's name, errno in *err; NULL when all were taken. */
static const char *kernel_take(int fd, const struct mx__ktls_info *tx,
                               const struct mx__ktls_info *rx, int *err)
{
    const char *step = NULL;
    if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls") < 0)
        step = "TCP_ULP";
    else if (setsockopt(fd, SOL_TLS, TLS_TX, &tx->u, tx->len) < 0)
        step = "TLS_TX";
    else if (setsockopt(fd, SOL_TLS, TLS_RX, &rx->u, rx->len) < 0)
        step = "TLS_RX";
    *err = errno;
    return step;
}

/* A refusal is the kernel's, not the client's: said once per process, and
 * the connection goes on in user space. Past TLS_TX the kernel already
 * owns our side's records and OpenSSL may no longer write: it must end. */
static void kernel_refused(struct mx_conn *c, const char *step, int e)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&said))
        mx_warn("TLS: the kernel refused kernel TLS (%s: %s; %s, %s): such connections keep "
                "their records in user space (said once)", step, strerror(e),
                SSL_get_version(c->tls->ssl), SSL_get_cipher_name(c->tls->ssl));
    mx_debug("conn to %s: kernel TLS refused at %s: %s", mx_conn_peer_str(c), step,
             strerror(e));
    if (strcmp(step, "TLS_RX") == 0)
        mx__conn_abort(c, "TLS: the kernel took our records but refused the peer's");
}

static void kernel_switch(struct mx_conn *c)
{
    struct mx__tls_conn *tc = c->tls;
    struct mx__ktls_info tx, rx;
    const char *why = "", *step = NULL;
    int e = 0, err = mx__ktls_derive(tc->ssl, tc->track, &tx, &rx, &why);
    track_stop(tc);
    if (err == 0)
        step = kernel_take(c->fd, &tx, &rx, &e);
    OPENSSL_cleanse(&tx, sizeof tx);
    OPENSSL_cleanse(&rx, sizeof rx);
    if (err < 0) {
        mx_debug("conn to %s: TLS stays in user space: %s", mx_conn_peer_str(c), why);
        return;
    }
    if (step) {
        kernel_refused(c, step, e);
        return;
    }
    mx__count(&c->w->stats.tls_kernel, 1);
    mx_debug("conn to %s: kernel TLS took over (%s, %s)", mx_conn_peer_str(c),
             SSL_get_version(tc->ssl), SSL_get_cipher_name(tc->ssl));
    c->tls = NULL;
    c->flags |= MX_C_KTLS;
    tc_free(tc);
}

/* Hands c's records to the kernel the first moment that is safe; until
 * then OpenSSL goes on making them here. Why each condition: */
static void try_kernel(struct mx_conn *c)
{
    struct mx__tls_conn *tc = c->tls;
    /* A candidate (listener, kernel, backend), tracked from its first
     * byte, and not yet tried. */
    if (!tc || !tc->track)
        return;
    /* The keys exist once the handshake is done, and the SSL is ours to
     * read only while the pool does not hold it. */
    if ((c->flags & MX_C_HANDSHAKE) || tc->in_pool)
        return;
    /* An ending connection's close_notify is OpenSSL's to make; a moving
     * one is between workers. Neither is worth the switch. */
    if (c->flags & (MX_C_EOF | MX_C_CLOSING | MX_C_DEAD | MX_C_MOVING | MX_C_QUIETING))
        return;
    /* Every record OpenSSL made is on the wire (epoll and poll write from
     * the queue directly), so the next byte out is the kernel's. */
    if (c->out.bytes > 0 || BIO_ctrl_pending(tc->wbio) > 0)
        return;
    /* OpenSSL holds none of the peer's bytes, unread or in a part-read
     * record, so the socket's next byte in starts a record and the counts
     * are the kernel's first sequence numbers. */
    if (BIO_ctrl_pending(tc->rbio) > 0 || SSL_has_pending(tc->ssl))
        return;
    kernel_switch(c);
}

void mx__tls_sent_all(struct mx_conn *c)
{
    try_kernel(c);
}

void mx__tls_kernel_close_notify(struct mx_conn *c)
{
    /* The alert must follow everything queued: sent only on an empty
     * queue (the close comes back here when it empties). One that the
     * socket cannot take at once is dropped, the close goes on. */
    if (!(c->flags & MX_C_KTLS) || c->out.bytes > 0 || c->fd < 0)
        return;
    static const unsigned char alert[2] = { 1, 0 };  /* warning, close_notify */
    union {
        char buf[CMSG_SPACE(1)];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { .iov_base = (void *)alert, .iov_len = sizeof alert };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_TLS;
    cm->cmsg_type = TLS_SET_RECORD_TYPE;
    cm->cmsg_len = CMSG_LEN(1);
    *CMSG_DATA(cm) = 21; /* content type alert */
    (void)sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

bool mx__tls_kernel_fail(struct mx_conn *c, int err)
{
    if (!(c->flags & MX_C_KTLS))
        return false;
    /* A record that is not application data (an alert, close_notify
     * included; a TLS 1.3 key update or ticket) fails a plain recv with
     * EIO: the kernel hands it only to a recvmsg with room for its type.
     * muxd reads none of them, so the connection ends here. */
    if (err == -EIO)
        mx__conn_abort(c, "TLS: the peer sent a control record (an alert such as "
                          "close_notify, or a key update); kernel TLS ends here");
    else if (err == -EBADMSG)
        mx__conn_abort(c, "TLS: a record from the peer failed authentication (kernel TLS)");
    else
        return false;
    return true;
}
