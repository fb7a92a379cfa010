/* test_ktls_keys.c - the kernel TLS crypto_info (src/reactor/ktls_keys.c).
 *
 * Two proofs: the TLS 1.3 expansion against RFC 8448's published values,
 * and, for each version and cipher muxd hands the kernel, real handshakes
 * in memory whose next records are opened and sealed here, by this file's
 * own AEAD code, from nothing but the derived crypto_info: a record the
 * client's OpenSSL wrote must open with the RX info, and one sealed with
 * the TX info must be read by the client's OpenSSL. A wrong key, iv, salt
 * or sequence number fails one or the other.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "reactor/ktls_keys.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static size_t hex(const char *s, unsigned char *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        unsigned v;
        cr_assert_eq(sscanf(s, "%2x", &v), 1);
        out[n++] = (unsigned char)v;
    }
    return n;
}

/* RFC 8448 section 3, "{server} derive write traffic keys for application
 * data" and the client's counterpart. */
static void check_expand(const char *secret, const char *key, const char *iv)
{
    unsigned char s[32], k[16], v[12], got_k[16], got_v[12];
    cr_assert_eq(hex(secret, s), 32);
    hex(key, k);
    hex(iv, v);
    cr_assert_eq(mx__hkdf_expand_label(EVP_sha256(), s, 32, "key", got_k, 16), 0);
    cr_assert_eq(mx__hkdf_expand_label(EVP_sha256(), s, 32, "iv", got_v, 12), 0);
    cr_assert_arr_eq(got_k, k, 16);
    cr_assert_arr_eq(got_v, v, 12);
}

Test(ktls_keys, rfc8448_application_keys)
{
    check_expand("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
                 "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984");
    check_expand("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
                 "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9");
}

/* ---- in-memory handshakes ------------------------------------------------ */

static EVP_PKEY *pkey;
static X509 *cert;

/* A throwaway P-256 key and self-signed certificate: no files needed. */
static void make_cert(void)
{
    pkey = EVP_EC_gen("P-256");
    cert = X509_new();
    cr_assert(pkey && cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, pkey);
    X509_NAME *n = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"muxd", -1, -1, 0);
    X509_set_issuer_name(cert, n);
    cr_assert(X509_sign(cert, pkey, EVP_sha256()) > 0);
}

static void drop_cert(void)
{
    X509_free(cert);
    EVP_PKEY_free(pkey);
}

struct pair {
    SSL_CTX *sctx, *cctx;
    SSL *s, *c;
    BIO *s_in, *s_out, *c_in, *c_out;   /* owned by the SSLs */
    struct mx__ktls_track t;
};

/* Everything b holds, into to (or into buf when to is NULL). */
static size_t move(BIO *from, BIO *to, unsigned char *buf, size_t cap)
{
    char *p;
    long n = BIO_get_mem_data(from, &p);
    if (n <= 0)
        return 0;
    if (to)
        cr_assert_eq(BIO_write(to, p, (int)n), n);
    else {
        cr_assert_leq((size_t)n, cap);
        memcpy(buf, p, (size_t)n);
    }
    (void)BIO_reset(from);
    return (size_t)n;
}

static void pump(struct pair *p)
{
    move(p->c_out, p->s_in, NULL, 0);
    move(p->s_out, p->c_in, NULL, 0);
}

static SSL *ssl_on(SSL_CTX *ctx, BIO **in, BIO **out)
{
    SSL *s = SSL_new(ctx);
    *in = BIO_new(BIO_s_mem());
    *out = BIO_new(BIO_s_mem());
    cr_assert(s && *in && *out);
    BIO_set_mem_eof_return(*in, -1);
    SSL_set_bio(s, *in, *out);
    return s;
}

/* version: TLS1_2_VERSION or TLS1_3_VERSION; suite: what the client offers. */
static void contexts(struct pair *p, int version, const char *suite)
{
    memset(p, 0, sizeof *p);
    p->sctx = SSL_CTX_new(TLS_server_method());
    p->cctx = SSL_CTX_new(TLS_client_method());
    cr_assert(p->sctx && p->cctx);
    cr_assert_eq(SSL_CTX_use_certificate(p->sctx, cert), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey(p->sctx, pkey), 1);
    SSL_CTX_set_keylog_callback(p->sctx, mx__ktls_keylog);
    SSL_CTX_set_max_proto_version(p->cctx, version);
    SSL_CTX_set_min_proto_version(p->cctx, version);
    if (version == TLS1_3_VERSION)
        cr_assert_eq(SSL_CTX_set_ciphersuites(p->cctx, suite), 1);
    else
        cr_assert_eq(SSL_CTX_set_cipher_list(p->cctx, suite), 1);
}

/* A connection on p's contexts, resuming `resume` unless NULL. */
static void connect_pair(struct pair *p, SSL_SESSION *resume)
{
    p->s = ssl_on(p->sctx, &p->s_in, &p->s_out);
    p->c = ssl_on(p->cctx, &p->c_in, &p->c_out);
    SSL_set_accept_state(p->s);
    SSL_set_connect_state(p->c);
    if (resume)
        cr_assert_eq(SSL_set_session(p->c, resume), 1);
    cr_assert_eq(mx__ktls_track(p->s, &p->t), 0);
    int cr = 0, sr = 0;
    for (int i = 0; i < 20 && (cr != 1 || sr != 1); i++) {
        cr = SSL_do_handshake(p->c);
        pump(p);
        sr = SSL_do_handshake(p->s);
        pump(p);
    }
    cr_assert(cr == 1 && sr == 1, "handshake: %s",
              ERR_reason_error_string(ERR_get_error()));
    cr_assert_eq(SSL_session_reused(p->s), resume != NULL);
    /* The client takes what followed (TLS 1.3's session tickets). */
    char b[64];
    cr_assert_leq(SSL_read(p->c, b, sizeof b), 0);
    cr_assert_eq(SSL_get_error(p->c, -1), SSL_ERROR_WANT_READ);
}

static void handshake(struct pair *p, int version, const char *suite)
{
    contexts(p, version, suite);
    connect_pair(p, NULL);
}

static void conn_free(struct pair *p)
{
    mx__ktls_untrack(p->s, &p->t);
    SSL_free(p->s);
    SSL_free(p->c);
    p->s = p->c = NULL;
}

/* Some records each way through OpenSSL, so the counts are not just 0. */
static void traffic(struct pair *p, int rounds)
{
    char b[64];
    for (int i = 0; i < rounds; i++) {
        cr_assert_eq(SSL_write(p->c, "up", 2), 2);
        pump(p);
        cr_assert_eq(SSL_read(p->s, b, sizeof b), 2);
        cr_assert_eq(SSL_write(p->s, "down", 4), 4);
        pump(p);
        cr_assert_eq(SSL_read(p->c, b, sizeof b), 4);
    }
}

static void pair_free(struct pair *p)
{
    conn_free(p);
    SSL_CTX_free(p->sctx);
    SSL_CTX_free(p->cctx);
}

/* ---- record protection as the kernel does it, from the info alone ------- */

struct dir {
    const EVP_CIPHER *aead;
    const unsigned char *key, *salt, *iv;  /* salt NULL: ChaCha20's 12-byte iv */
    uint64_t seq;
    bool v13;
};

static uint64_t from_be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static struct dir dir_of(const struct mx__ktls_info *in)
{
    struct dir d = { .v13 = in->u.base.version == TLS_1_3_VERSION };
    switch (in->u.base.cipher_type) {
    case TLS_CIPHER_AES_GCM_128:
        d.aead = EVP_aes_128_gcm(), d.key = in->u.gcm128.key, d.salt = in->u.gcm128.salt;
        d.iv = in->u.gcm128.iv, d.seq = from_be64(in->u.gcm128.rec_seq);
        cr_assert_eq(in->len, sizeof in->u.gcm128);
        break;
    case TLS_CIPHER_AES_GCM_256:
        d.aead = EVP_aes_256_gcm(), d.key = in->u.gcm256.key, d.salt = in->u.gcm256.salt;
        d.iv = in->u.gcm256.iv, d.seq = from_be64(in->u.gcm256.rec_seq);
        cr_assert_eq(in->len, sizeof in->u.gcm256);
        break;
    case TLS_CIPHER_CHACHA20_POLY1305:
        d.aead = EVP_chacha20_poly1305(), d.key = in->u.chacha.key, d.iv = in->u.chacha.iv;
        d.seq = from_be64(in->u.chacha.rec_seq);
        cr_assert_eq(in->len, sizeof in->u.chacha);
        break;
    default:
        cr_assert_fail("cipher type %u", in->u.base.cipher_type);
    }
    return d;
}

/* The per-record nonce. TLS 1.2 GCM: salt + the explicit part (given);
 * otherwise the 12-byte iv XOR the sequence number. */
static void nonce(const struct dir *d, const unsigned char *explicit8, unsigned char n[12])
{
    if (d->salt && !d->v13) {
        memcpy(n, d->salt, 4);
        memcpy(n + 4, explicit8, 8);
        return;
    }
    if (d->salt) {
        memcpy(n, d->salt, 4);
        memcpy(n + 4, d->iv, 8);
    } else {
        memcpy(n, d->iv, 12);
    }
    for (int i = 0; i < 8; i++)
        n[4 + i] ^= (unsigned char)(d->seq >> (56 - 8 * i));
}

/* TLS 1.2's additional data: seq, type, version, plaintext length. */
static void aad12(const struct dir *d, unsigned char type, size_t len, unsigned char a[13])
{
    for (int i = 0; i < 8; i++)
        a[i] = (unsigned char)(d->seq >> (56 - 8 * i));
    a[8] = type, a[9] = 3, a[10] = 3;
    a[11] = (unsigned char)(len >> 8), a[12] = (unsigned char)len;
}

static int aead_run(const struct dir *d, bool enc, const unsigned char n[12],
                    const unsigned char *aad, size_t alen, const unsigned char *in,
                    size_t len, unsigned char *out, unsigned char tag[16])
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol = 0, ok = EVP_CipherInit_ex(x, d->aead, NULL, d->key, n, enc ? 1 : 0);
    ok = ok && EVP_CipherUpdate(x, NULL, &ol, aad, (int)alen);
    ok = ok && EVP_CipherUpdate(x, out, &ol, in, (int)len);
    if (!enc)
        ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag);
    int fl = 0;
    ok = ok && EVP_CipherFinal_ex(x, out + ol, &fl);
    if (enc)
        ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(x);
    return ok ? ol + fl : -1;
}

/* Opens one application_data record; the plaintext's length or -1. */
static int open_record(const struct dir *d, const unsigned char *r, size_t n, unsigned char *out)
{
    cr_assert_geq(n, 5 + 16);
    size_t body = (size_t)r[3] << 8 | r[4];
    cr_assert_eq(body + 5, n, "one whole record");
    cr_assert_eq(r[0], 23);
    unsigned char nc[12], a[13];
    const unsigned char *ct = r + 5;
    size_t ctlen = body - 16;
    if (d->salt && !d->v13) {
        nonce(d, r + 5, nc);
        ct += 8, ctlen -= 8;
    } else {
        nonce(d, NULL, nc);
    }
    if (!d->v13)
        aad12(d, 23, ctlen, a);
    int len = aead_run(d, false, nc, d->v13 ? r : a, d->v13 ? 5 : 13, ct, ctlen, out,
                       (unsigned char *)r + n - 16);
    if (len > 0 && d->v13) {
        while (len > 0 && out[len - 1] == 0)
            len--;                      /* padding */
        cr_assert(len > 0 && out[len - 1] == 23, "inner type application_data");
        len--;
    }
    return len;
}

/* Seals one application_data record as the kernel's TX would. */
static size_t seal_record(const struct dir *d, const char *msg, unsigned char *r)
{
    size_t ml = strlen(msg), pl = ml + (d->v13 ? 1 : 0);
    size_t explicit_len = d->salt && !d->v13 ? 8 : 0;
    size_t body = explicit_len + pl + 16;
    unsigned char in[256], nc[12], a[13], tag[16];
    memcpy(in, msg, ml);
    if (d->v13)
        in[ml] = 23;
    r[0] = 23, r[1] = 3, r[2] = 3, r[3] = (unsigned char)(body >> 8), r[4] = (unsigned char)body;
    if (explicit_len)
        memcpy(r + 5, d->iv, 8); /* the kernel sends its iv field as the first explicit nonce */
    nonce(d, r + 5, nc);
    if (!d->v13)
        aad12(d, 23, pl, a);
    int len = aead_run(d, true, nc, d->v13 ? r : a, d->v13 ? 5 : 13, in, pl,
                       r + 5 + explicit_len, tag);
    cr_assert_eq(len, (int)pl);
    memcpy(r + 5 + explicit_len + pl, tag, 16);
    return 5 + body;
}

/* The proof on p's connection, after its handshake. */
static void check_records(struct pair *p, int version, const char *suite,
                          unsigned short kernel_cipher)
{
    traffic(p, 3);
    struct mx__ktls_info tx, rx;
    const char *why = NULL;
    cr_assert_eq(mx__ktls_derive(p->s, &p->t, &tx, &rx, &why), 0, "%s: %s", suite, why);
    cr_assert_eq(tx.u.base.cipher_type, kernel_cipher);
    cr_assert_eq(rx.u.base.version, version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION);
    /* The client's next record opens with what the kernel would receive with. */
    unsigned char rec[512], plain[512];
    cr_assert_eq(SSL_write(p->c, "hello kernel", 12), 12);
    size_t n = move(p->c_out, NULL, rec, sizeof rec);
    struct dir r = dir_of(&rx);
    cr_assert_eq(open_record(&r, rec, n, plain), 12, "%s: RX info opens the record", suite);
    cr_assert_arr_eq(plain, "hello kernel", 12);
    /* And the client reads what the kernel would send. */
    struct dir t = dir_of(&tx);
    n = seal_record(&t, "hello client", rec);
    cr_assert_eq(BIO_write(p->c_in, rec, (int)n), (int)n);
    char got[64];
    cr_assert_eq(SSL_read(p->c, got, sizeof got), 12, "%s: TX info seals a record: %s", suite,
                 ERR_reason_error_string(ERR_get_error()));
    cr_assert_arr_eq(got, "hello client", 12);
    OPENSSL_cleanse(&tx, sizeof tx);
    OPENSSL_cleanse(&rx, sizeof rx);
}

/* The whole proof for one version and suite. */
static void check_suite(int version, const char *suite, unsigned short kernel_cipher)
{
    struct pair p;
    handshake(&p, version, suite);
    check_records(&p, version, suite, kernel_cipher);
    pair_free(&p);
}

/* The same on a resumed session (TLS 1.2: an abbreviated handshake whose
 * ChangeCipherSpec and Finished come in the server's first flight; 1.3:
 * a PSK handshake). */
static void check_resumed(int version, const char *suite, unsigned short kernel_cipher)
{
    struct pair p;
    handshake(&p, version, suite);
    SSL_SESSION *sess = SSL_get1_session(p.c);
    cr_assert(sess);
    /* Closed properly: an SSL freed in the middle is not resumed. */
    SSL_shutdown(p.c);
    pump(&p);
    SSL_shutdown(p.s);
    conn_free(&p);
    connect_pair(&p, sess);
    SSL_SESSION_free(sess);
    check_records(&p, version, suite, kernel_cipher);
    pair_free(&p);
}

TestSuite(ktls_e2e, .init = make_cert, .fini = drop_cert);

Test(ktls_e2e, tls13_aes128)
{
    check_suite(TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128);
}

Test(ktls_e2e, tls13_aes256)
{
    check_suite(TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", TLS_CIPHER_AES_GCM_256);
}

Test(ktls_e2e, tls13_chacha)
{
    check_suite(TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", TLS_CIPHER_CHACHA20_POLY1305);
}

Test(ktls_e2e, tls12_aes128)
{
    check_suite(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", TLS_CIPHER_AES_GCM_128);
}

Test(ktls_e2e, tls12_aes256)
{
    check_suite(TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", TLS_CIPHER_AES_GCM_256);
}

Test(ktls_e2e, tls12_chacha)
{
    check_suite(TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305);
}

Test(ktls_e2e, tls13_resumed)
{
    check_resumed(TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128);
}

Test(ktls_e2e, tls12_resumed)
{
    check_resumed(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", TLS_CIPHER_AES_GCM_128);
}

/* A suite the kernel cannot take stays in user space, with a reason. */
Test(ktls_e2e, cbc_refused)
{
    struct pair p;
    handshake(&p, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256");
    struct mx__ktls_info tx, rx;
    const char *why = NULL;
    cr_assert_eq(mx__ktls_derive(p.s, &p.t, &tx, &rx, &why), -EOPNOTSUPP);
    cr_assert(why && strstr(why, "cipher"));
    pair_free(&p);
}

/* After a key update the counted keys are stale: no kernel TLS. */
Test(ktls_e2e, key_update_refused)
{
    struct pair p;
    handshake(&p, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
    cr_assert_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    traffic(&p, 1);
    struct mx__ktls_info tx, rx;
    const char *why = NULL;
    cr_assert_eq(mx__ktls_derive(p.s, &p.t, &tx, &rx, &why), -EPROTO);
    pair_free(&p);
}
