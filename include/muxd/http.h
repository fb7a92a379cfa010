/* muxd/http.h - an HTTP/1.1 request head parser (RFC 9112): just enough
 * to answer GET requests and to refuse, with the right status, everything
 * else. The admin listener's requests and a WebSocket listener's upgrade
 * (RFC 6455) go through it. Pure: no I/O, no state; any thread. */
#ifndef MUXD_HTTP_H
#define MUXD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define MX_HTTP_METHOD_MAX 16
#define MX_HTTP_TARGET_MAX 256

struct mx_http_req {
    char method[MX_HTTP_METHOD_MAX];
    char path[MX_HTTP_TARGET_MAX];   /* the target without its ?query */
    bool http10;                     /* HTTP/1.0 (no Host required) */
    size_t head_len;                 /* bytes up to and with the blank line */
};

/* Parses the head at p[0..len): 0 while it is not complete (and len is at
 * most max), else an HTTP status: 200 for a well-formed head (req filled
 * in), 400 for a malformed one, 414 for a target of MX_HTTP_TARGET_MAX
 * bytes or more, 431 for a head over max bytes, 501 for a method that is
 * not a token of at most MX_HTTP_METHOD_MAX - 1 characters, 505 for an
 * HTTP version other than 1.0 and 1.1. Lines end in CRLF or a bare LF. */
int mx_http_parse(const char *p, size_t len, size_t max, struct mx_http_req *req);

/* The value of header name (case-insensitive) in a head mx_http_parse
 * accepted, without surrounding whitespace: a pointer into p and its
 * length in *n, or NULL when absent. With a header given more than once,
 * the first. */
const char *mx_http_header(const char *p, size_t len, const char *name, size_t *n);

/* Whether the comma-separated list value[0..n) (a Connection or Upgrade
 * header) holds token, case-insensitively. */
bool mx_http_has_token(const char *value, size_t n, const char *token);

/* The reason phrase of a status this listener sends ("Not Found"). */
const char *mx_http_reason(int status);

#endif
