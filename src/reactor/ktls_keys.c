/* ktls_keys.c - the kernel's crypto_info for a server SSL whose handshake
 * is done (ktls_keys.h).
 *
 * TLS 1.3: each direction's key and 12-byte iv are expanded from its
 * application traffic secret (RFC 8446 7.3); OpenSSL gives the secrets
 * only to a key log callback, so they are kept per SSL until used.
 * TLS 1.2: the key block comes from the master secret and both randoms
 * through the PRF (RFC 5246 6.3); AEAD suites have no MAC keys, so it is
 * client key, server key, client iv, server iv.
 * The kernel takes AES-GCM's iv as a 4-byte salt and an 8-byte part (in
 * TLS 1.2 the explicit nonce of the first record: OpenSSL uses the record
 * sequence number, and so must we); ChaCha20-Poly1305's as 12 bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "reactor/ktls_keys.h"

static int ex_index = -1;

static void ex_index_make(void)
{
    ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int track_index(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ex_index_make);
    return ex_index;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The hex secret at the end of a key log line, into out. Bytes, or -1. */
static long secret_of(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[0] != '\n'; hex += 2) {
        int hi = unhex(hex[0]), lo = hex[1] ? unhex(hex[1]) : -1;
        if (hi < 0 || lo < 0 || n == cap)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
    }
    return (long)n;
}

/* Lines are "LABEL <client random> <secret>" (NSS's key log format). Only
 * the first application secrets matter: a key update would make new ones,
 * and then the connection stays in user space anyway (t->broken). */
void mx__ktls_keylog(const SSL *ssl, const char *line)
{
    int idx = track_index();
    struct mx__ktls_track *t = idx < 0 ? NULL : SSL_get_ex_data(ssl, idx);
    if (!t)
        return;
    static const char *const label[2] = { "CLIENT_TRAFFIC_SECRET_0 ",
                                          "SERVER_TRAFFIC_SECRET_0 " };
    for (int d = 0; d < 2; d++) {
        size_t ll = strlen(label[d]);
        if (strncmp(line, label[d], ll) != 0)
            continue;
        const char *sp = strchr(line + ll, ' ');
        long n = sp ? secret_of(sp + 1, t->secret[d], sizeof t->secret[d]) : -1;
        t->secret_len[d] = n > 0 ? (size_t)n : 0;
    }
}

/* Counts records per direction. OpenSSL reports each record's header as
 * it reads or writes it, and a handshake message after its record: so a
 * Finished resets the count after its own record was counted. TLS 1.2's
 * new keys start right after the ChangeCipherSpec record; TLS 1.3's
 * application keys right after each side's Finished (its compatibility
 * ChangeCipherSpec comes earlier and is reset over). */
static void on_msg(int write_p, int version, int type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    (void)version;
    struct mx__ktls_track *t = arg;
    const unsigned char *b = buf;
    int d = write_p ? MX__KTLS_TX : MX__KTLS_RX;
    if (!t || len < 1)
        return;
    if (type == SSL3_RT_HEADER && len >= 5) {
        t->seq[d] = b[0] == SSL3_RT_CHANGE_CIPHER_SPEC ? 0 : t->seq[d] + 1;
    } else if (type == SSL3_RT_HANDSHAKE) {
        if (b[0] == SSL3_MT_FINISHED && SSL_version(ssl) == TLS1_3_VERSION)
            t->seq[d] = 0;
        else if (b[0] == SSL3_MT_KEY_UPDATE)
            t->broken = true;
    }
}

int mx__ktls_track(SSL *ssl, struct mx__ktls_track *t)
{
    int idx = track_index();
    memset(t, 0, sizeof *t);
    if (idx < 0 || !SSL_set_ex_data(ssl, idx, t))
        return -ENOMEM;
    SSL_set_msg_callback(ssl, on_msg);
    SSL_set_msg_callback_arg(ssl, t);
    return 0;
}

void mx__ktls_untrack(SSL *ssl, struct mx__ktls_track *t)
{
    SSL_set_msg_callback(ssl, NULL);
    SSL_set_msg_callback_arg(ssl, NULL);
    int idx = track_index();
    if (idx >= 0)
        SSL_set_ex_data(ssl, idx, NULL);
    OPENSSL_cleanse(t->secret, sizeof t->secret);
    t->secret_len[0] = t->secret_len[1] = 0;
}

int mx__hkdf_expand_label(const EVP_MD *md, const unsigned char *secret, size_t secret_len,
                          const char *label, unsigned char *out, size_t n)
{
    /* struct { uint16 length; opaque label<7..255> = "tls13 " + label;
     *          opaque context<0..255> = ""; } HkdfLabel; */
    unsigned char info[2 + 1 + 255 + 1];
    size_t ll = strlen(label);
    if (ll > 255 - 6 || n > 0xffff)
        return -1;
    info[0] = (unsigned char)(n >> 8);
    info[1] = (unsigned char)n;
    info[2] = (unsigned char)(6 + ll);
    memcpy(info + 3, "tls13 ", 6);
    memcpy(info + 9, label, ll);
    info[9 + ll] = 0;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!kc)
        return -1;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 10 + ll),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(kc, out, n, p);
    EVP_KDF_CTX_free(kc);
    return ok == 1 ? 0 : -1;
}

/* TLS 1.2's PRF(master, "key expansion", server_random + client_random). */
static int key_block(SSL *ssl, const EVP_MD *md, unsigned char *out, size_t n)
{
    unsigned char master[SSL_MAX_MASTER_KEY_LENGTH], sr[SSL3_RANDOM_SIZE], cr[SSL3_RANDOM_SIZE];
    SSL_SESSION *s = SSL_get_session(ssl);
    size_t ml = s ? SSL_SESSION_get_master_key(s, master, sizeof master) : 0;
    size_t srl = SSL_get_server_random(ssl, sr, sizeof sr);
    size_t crl = SSL_get_client_random(ssl, cr, sizeof cr);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    int ok = 0;
    if (kc && ml && srl == sizeof sr && crl == sizeof cr) {
        static const char label[] = "key expansion";
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                             (char *)EVP_MD_get0_name(md), 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, ml),
            /* The seeds are concatenated in this order. */
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label,
                                              sizeof label - 1),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, sr, sizeof sr),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, cr, sizeof cr),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_KDF_derive(kc, out, n, p);
    }
    EVP_KDF_CTX_free(kc);
    OPENSSL_cleanse(master, sizeof master);
    return ok == 1 ? 0 : -1;
}

static void be64(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

/* The AEAD a cipher uses, as the kernel names it. */
struct aead {
    unsigned short kernel;  /* TLS_CIPHER_... */
    size_t key_len;
    size_t fixed_iv;        /* TLS 1.2's client/server_write_IV */
};

static bool aead_of(int nid, struct aead *a)
{
    if (nid == NID_aes_128_gcm)
        *a = (struct aead){ TLS_CIPHER_AES_GCM_128, 16, 4 };
    else if (nid == NID_aes_256_gcm)
        *a = (struct aead){ TLS_CIPHER_AES_GCM_256, 32, 4 };
    else if (nid == NID_chacha20_poly1305)
        *a = (struct aead){ TLS_CIPHER_CHACHA20_POLY1305, 32, 12 };
    else
        return false;
    return true;
}

/* One direction's info. iv: TLS 1.3's 12 bytes, or TLS 1.2's fixed part
 * (4 bytes for GCM, 12 for ChaCha20). */
static void fill(struct mx__ktls_info *o, const struct aead *a, bool v13,
                 const unsigned char *key, const unsigned char *iv, uint64_t seq)
{
    unsigned char rs[8];
    be64(rs, seq);
    memset(o, 0, sizeof *o);
    o->u.base.version = v13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
    o->u.base.cipher_type = a->kernel;
    if (a->kernel == TLS_CIPHER_CHACHA20_POLY1305) {
        struct tls12_crypto_info_chacha20_poly1305 *c = &o->u.chacha;
        memcpy(c->key, key, sizeof c->key);
        memcpy(c->iv, iv, sizeof c->iv);
        memcpy(c->rec_seq, rs, sizeof rs);
        o->len = sizeof *c;
        return;
    }
    /* GCM: the same layout at both key sizes but for the key. */
    unsigned char *salt, *ivp, *k, *recs;
    if (a->kernel == TLS_CIPHER_AES_GCM_128) {
        salt = o->u.gcm128.salt, ivp = o->u.gcm128.iv, k = o->u.gcm128.key;
        recs = o->u.gcm128.rec_seq, o->len = sizeof o->u.gcm128;
    } else {
        salt = o->u.gcm256.salt, ivp = o->u.gcm256.iv, k = o->u.gcm256.key;
        recs = o->u.gcm256.rec_seq, o->len = sizeof o->u.gcm256;
    }
    memcpy(k, key, a->key_len);
    memcpy(salt, iv, 4);
    memcpy(ivp, v13 ? iv + 4 : rs, 8);
    memcpy(recs, rs, 8);
}

static int derive13(const EVP_MD *md, const struct mx__ktls_track *t, const struct aead *a,
                    struct mx__ktls_info *tx, struct mx__ktls_info *rx, const char **why)
{
    unsigned char key[2][32], iv[2][12];
    int err = 0;
    for (int d = 0; d < 2 && !err; d++) {
        if (!t->secret_len[d]) {
            *why = "no traffic secret from the key log";
            err = -EPROTO;
        } else if (mx__hkdf_expand_label(md, t->secret[d], t->secret_len[d], "key", key[d],
                                         a->key_len) < 0 ||
                   mx__hkdf_expand_label(md, t->secret[d], t->secret_len[d], "iv", iv[d], 12) < 0) {
            *why = "HKDF failed";
            err = -ENOMEM;
        }
    }
    /* secret[0] is the client's: what we receive. */
    if (!err) {
        fill(rx, a, true, key[0], iv[0], t->seq[MX__KTLS_RX]);
        fill(tx, a, true, key[1], iv[1], t->seq[MX__KTLS_TX]);
    }
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(iv, sizeof iv);
    return err;
}

static int derive12(SSL *ssl, const EVP_MD *md, const struct mx__ktls_track *t,
                    const struct aead *a, struct mx__ktls_info *tx, struct mx__ktls_info *rx,
                    const char **why)
{
    unsigned char kb[2 * 32 + 2 * 12];
    size_t kl = a->key_len, il = a->fixed_iv;
    if (key_block(ssl, md, kb, 2 * kl + 2 * il) < 0) {
        *why = "TLS 1.2 PRF failed";
        return -ENOMEM;
    }
    fill(rx, a, false, kb, kb + 2 * kl, t->seq[MX__KTLS_RX]);
    fill(tx, a, false, kb + kl, kb + 2 * kl + il, t->seq[MX__KTLS_TX]);
    OPENSSL_cleanse(kb, sizeof kb);
    return 0;
}

int mx__ktls_derive(SSL *ssl, const struct mx__ktls_track *t, struct mx__ktls_info *tx,
                    struct mx__ktls_info *rx, const char **why)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
    struct aead a;
    int v = SSL_version(ssl);
    if (!c || !md || !aead_of(SSL_CIPHER_get_cipher_nid(c), &a)) {
        *why = "the cipher is not one the kernel takes (AES-GCM, ChaCha20-Poly1305)";
        return -EOPNOTSUPP;
    }
    if (v != TLS1_2_VERSION && v != TLS1_3_VERSION) {
        *why = "not TLS 1.2 or 1.3";
        return -EOPNOTSUPP;
    }
    if (t->broken) {
        *why = "the keys changed after the handshake (a key update)";
        return -EPROTO;
    }
    return v == TLS1_3_VERSION ? derive13(md, t, &a, tx, rx, why)
                               : derive12(ssl, md, t, &a, tx, rx, why);
}
