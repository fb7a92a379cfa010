/* ws_handshake.c - what a WebSocket listener answers a request head. */
#include "reactor/ws_handshake.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   /* RFC 6455 1.3 */

static const char *const subprotos[] = { "text.ircv3.net", "binary.ircv3.net" };

static void refuse(struct mx__ws_answer *a, int status, const char *why)
{
    a->status = status;
    a->why = why;
}

/* A key is base64 of 16 bytes (section 4.1): 22 characters, "==". */
static bool key_ok(const char *k, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n != 24 || k[22] != '=' || k[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!memchr(b64, k[i], sizeof b64 - 1))
            return false;
    return true;
}

static bool make_accept(const char *key, size_t n, char out[32])
{
    char in[24 + sizeof WS_GUID];
    memcpy(in, key, n);
    memcpy(in + n, WS_GUID, sizeof WS_GUID - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (!EVP_Digest(in, n + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL))
        return false;
    return EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen) == 28;
}

/* The first subprotocol the client offers that muxd speaks, in the
 * client's order (the IRCv3 spec): index into subprotos, or -1. list is
 * one Sec-WebSocket-Protocol line's value. */
static int choose_in(const char *list, size_t n)
{
    while (list && n) {
        const char *comma = memchr(list, ',', n);
        size_t item = comma ? (size_t)(comma - list) : n;
        for (int i = 0; i < 2; i++)
            if (mx_http_has_token(list, item, subprotos[i]))
                return i;
        if (!comma)
            break;
        list = comma + 1;
        n -= item + 1;
    }
    return -1;
}

/* The same over every Sec-WebSocket-Protocol line, in order: the header
 * may come as several lines, which make one list (RFC 6455 11.3.4). Each
 * search starts at the line found last, which mx_http_header skips as it
 * skips a request line. */
static int choose(const char *p, size_t len)
{
    const char *from = p, *v;
    size_t n;
    while ((v = mx_http_header(from, len - (size_t)(from - p), "Sec-WebSocket-Protocol", &n))) {
        int i = choose_in(v, n);
        if (i >= 0)
            return i;
        while (v > p && v[-1] != '\n')
            v--;
        from = v;
    }
    return -1;
}

/* Whether origin[0..n) is one of the comma-separated origins (browsers
 * send it as scheme://host[:port]; compared without regard to case). A
 * request without Origin comes from no browser and is not judged. */
static bool origin_listed(const char *origins, const char *origin, size_t n)
{
    char want[256];
    if (n == 0 || n >= sizeof want)
        return false;
    memcpy(want, origin, n);
    want[n] = '\0';
    return mx_http_has_token(origins, strlen(origins), want);
}

/* A request without Upgrade: the page at / and nothing else. */
static void plain_request(const struct mx_http_req *req, bool have_page, struct mx__ws_answer *a)
{
    bool head = strcmp(req->method, "HEAD") == 0;
    if (strcmp(req->method, "GET") != 0 && !head)
        refuse(a, 405, "a method other than GET or HEAD");
    else if (strcmp(req->path, "/") != 0 && strcmp(req->path, "/index.html") != 0)
        refuse(a, 404, "no such page");
    else if (!have_page)
        refuse(a, 404, "no page on this listener");
    else {
        a->status = 200;
        a->head_only = head;
    }
}

void mx__ws_decide(const char *p, size_t len, int parsed, const struct mx_http_req *req,
                   const char *origins, bool have_page, struct mx__ws_answer *a)
{
    *a = (struct mx__ws_answer){ 0 };
    if (parsed != 200) {
        refuse(a, parsed, parsed == 431   ? "a request head over 8 KiB"
                          : parsed == 414 ? "a request target too long"
                          : parsed == 505 ? "an HTTP version other than 1.0 or 1.1"
                                          : "a malformed HTTP request");
        return;
    }
    size_t un, cn, vn, kn, on;
    const char *up = mx_http_header(p, len, "Upgrade", &un);
    if (!up) {
        plain_request(req, have_page, a);
        return;
    }
    const char *conn = mx_http_header(p, len, "Connection", &cn);
    const char *ver = mx_http_header(p, len, "Sec-WebSocket-Version", &vn);
    const char *key = mx_http_header(p, len, "Sec-WebSocket-Key", &kn);
    const char *origin = mx_http_header(p, len, "Origin", &on);
    if (!mx_http_has_token(up, un, "websocket"))
        refuse(a, 400, "an upgrade to something other than websocket");
    else if (strcmp(req->method, "GET") != 0 || req->http10)
        refuse(a, 400, "an upgrade that is not an HTTP/1.1 GET");
    else if (!conn || !mx_http_has_token(conn, cn, "upgrade"))
        refuse(a, 400, "no \"Connection: Upgrade\"");
    else if (!ver || vn != 2 || memcmp(ver, "13", 2) != 0)
        refuse(a, 426, "a WebSocket version other than 13");
    else if (!key || !key_ok(key, kn))
        refuse(a, 400, "a bad Sec-WebSocket-Key");
    else if (origins[0] && origin && !origin_listed(origins, origin, on))
        refuse(a, 403, "an Origin not in allowed_origins");
    else if (!make_accept(key, kn, a->accept))
        refuse(a, 500, "no SHA-1 from libcrypto");
    else {
        int i = choose(p, len);
        a->status = 101;
        a->binary = i == 1;
        a->subproto = i >= 0 ? subprotos[i] : NULL;
    }
}

size_t mx__ws_answer_head(const struct mx__ws_answer *a, size_t body_len, char *buf, size_t cap)
{
    int n;
    if (a->status == 101)
        n = snprintf(buf, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
                     a->accept, a->subproto ? "Sec-WebSocket-Protocol: " : "",
                     a->subproto ? a->subproto : "", a->subproto ? "\r\n" : "");
    else if (a->status == 200)
        /* The page is one file with its script and style inline: it may
         * talk to this server and load nothing from anywhere else. */
        n = snprintf(buf, cap,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-cache\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Content-Security-Policy: default-src 'none'; connect-src 'self' ws: wss:; "
                     "script-src 'unsafe-inline'; style-src 'unsafe-inline'\r\n"
                     "Connection: close\r\n\r\n",
                     body_len);
    else {
        const char *phrase = mx_http_reason(a->status);
        n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s\n",
                     a->status, phrase, strlen(phrase) + 1,
                     a->status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", phrase);
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
