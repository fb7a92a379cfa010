/* ktls_keys.h - what the kernel needs to take over a TLS connection's
 * records (setsockopt SOL_TLS, TLS_TX / TLS_RX), from a server SSL whose
 * handshake is done (private; ktls_keys.c).
 *
 * No sockets here: conn_tls.c hands the result to the kernel, and the unit
 * test checks it against records OpenSSL itself made and reads.
 */
#ifndef MUXD_REACTOR_KTLS_KEYS_H
#define MUXD_REACTOR_KTLS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/tls.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

/* One direction's crypto_info, as setsockopt takes it (len bytes of u). */
struct mx__ktls_info {
    union {
        struct tls_crypto_info base;
        struct tls12_crypto_info_aes_gcm_128 gcm128;
        struct tls12_crypto_info_aes_gcm_256 gcm256;
        struct tls12_crypto_info_chacha20_poly1305 chacha;
    } u;
    socklen_t len;
};

/* Follows one server SSL from before its handshake: the TLS 1.3 traffic
 * secrets (OpenSSL hands them out only through the key log) and how many
 * records each direction has carried under its current keys (OpenSSL has
 * no getter for the sequence numbers). */
enum { MX__KTLS_RX, MX__KTLS_TX };
struct mx__ktls_track {
    unsigned char secret[2][EVP_MAX_MD_SIZE]; /* the client's, the server's */
    size_t secret_len[2];
    uint64_t seq[2];        /* next record number: [RX] the client's, [TX] ours */
    bool broken;            /* keys changed after the handshake (a key update) */
};

/* The key log callback that fills a tracked SSL's secrets; the context of
 * every SSL that is tracked needs it. */
void mx__ktls_keylog(const SSL *ssl, const char *line);
/* Starts following ssl (before its handshake). 0 or -ENOMEM. */
int mx__ktls_track(SSL *ssl, struct mx__ktls_track *t);
/* Stops following it and wipes the secrets. */
void mx__ktls_untrack(SSL *ssl, struct mx__ktls_track *t);

/* The kernel's info for our sending (tx) and receiving (rx) side of ssl,
 * whose handshake is done, starting at t's sequence numbers. 0, or
 * -EOPNOTSUPP / -EPROTO / -ENOMEM with a short reason in *why. The caller
 * wipes tx and rx (OPENSSL_cleanse) once used. */
int mx__ktls_derive(SSL *ssl, const struct mx__ktls_track *t, struct mx__ktls_info *tx,
                    struct mx__ktls_info *rx, const char **why);

/* RFC 8446 7.1 HKDF-Expand-Label(secret, label, "", n). 0 or -1. */
int mx__hkdf_expand_label(const EVP_MD *md, const unsigned char *secret, size_t secret_len,
                          const char *label, unsigned char *out, size_t n);

#endif
