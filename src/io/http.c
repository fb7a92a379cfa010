/* http.c - the request head parser (muxd/http.h) of the admin listener
 * and of WebSocket upgrades.
 *
 * Strict where leniency would hide a broken or hostile client (bare CR,
 * control bytes, whitespace before a header's colon, folded lines, a
 * missing or repeated Host), lenient only where RFC 9112 allows it
 * (a bare LF ends a line). */
#include "muxd/http.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_vchar(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f;
}

/* The end of the head: the offset just past its blank line, or 0. A line
 * ends in LF; the blank line is "\r\n" or "\n" alone. */
static size_t head_end(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < len && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* One line of [p, end): its length without the terminator, or -1 when a
 * CR stands anywhere but just before the LF. */
static long line_len(const char *p, const char *end)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)(lf - p);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    return memchr(p, '\r', n) ? -1 : (long)n;
}

static int parse_version(const char *v, size_t n, struct mx_http_req *req)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return 505;
    req->http10 = v[7] == '0';
    return 200;
}

static int parse_target(const char *t, size_t n, struct mx_http_req *req)
{
    if (n >= MX_HTTP_TARGET_MAX)
        return 414;
    if (n == 0 || t[0] != '/')
        return 400;
    for (size_t i = 0; i < n; i++)
        if (!is_vchar((unsigned char)t[i]))
            return 400;
    const char *q = memchr(t, '?', n);
    size_t plen = q ? (size_t)(q - t) : n;
    memcpy(req->path, t, plen);
    req->path[plen] = '\0';
    return 200;
}

/* METHOD SP TARGET SP VERSION, single spaces. */
static int parse_request_line(const char *p, size_t n, struct mx_http_req *req)
{
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p)
        return 400;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', n - (size_t)(t - p));
    if (!sp2)
        return 400;
    size_t mlen = (size_t)(sp1 - p);
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)p[i]))
            return 400;
    int st = parse_version(sp2 + 1, n - (size_t)(sp2 + 1 - p), req);
    if (st == 200)
        st = parse_target(t, (size_t)(sp2 - t), req);
    if (st == 200 && mlen >= MX_HTTP_METHOD_MAX)
        st = 501;
    if (st == 200) {
        memcpy(req->method, p, mlen);
        req->method[mlen] = '\0';
    }
    return st;
}

/* NAME ":" OWS VALUE OWS; counts Host headers in *hosts. */
static int parse_header(const char *p, size_t n, int *hosts)
{
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p)
        return 400;   /* also a folded line: it starts with a space */
    size_t nlen = (size_t)(colon - p);
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)p[i]))
            return 400;
    for (const char *v = colon + 1; v < p + n; v++)
        if (!is_vchar((unsigned char)*v) && *v != ' ' && *v != '\t' &&
            !((unsigned char)*v >= 0x80))
            return 400;
    if (nlen == 4 && strncasecmp(p, "host", 4) == 0)
        (*hosts)++;
    return 200;
}

int mx_http_parse(const char *p, size_t len, size_t max, struct mx_http_req *req)
{
    *req = (struct mx_http_req){ 0 };
    size_t end = head_end(p, len < max ? len : max);
    if (end == 0)
        return len > max ? 431 : 0;
    const char *stop = p + end, *line = p;
    int hosts = 0, st = 200;
    for (bool first = true; st == 200; first = false) {
        long n = line_len(line, stop);
        if (n < 0)
            return 400;
        if (n == 0 && first)
            return 400;
        if (n == 0)
            break;   /* the blank line */
        st = first ? parse_request_line(line, (size_t)n, req)
                   : parse_header(line, (size_t)n, &hosts);
        line = (const char *)memchr(line, '\n', (size_t)(stop - line)) + 1;
    }
    if (st == 200 && (hosts > 1 || (hosts == 0 && !req->http10)))
        st = 400;   /* RFC 9112 3.2: exactly one Host in HTTP/1.1 */
    req->head_len = end;
    return st;
}

/* OWS trimmed off both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t'))
        (*p)++, (*n)--;
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

const char *mx_http_header(const char *p, size_t len, const char *name, size_t *n)
{
    size_t nlen = strlen(name);
    const char *end = p + len;
    const char *line = memchr(p, '\n', len);   /* past the request line */
    while (line && ++line < end) {
        const char *lf = memchr(line, '\n', (size_t)(end - line));
        size_t ll = lf ? (size_t)(lf - line) : (size_t)(end - line);
        if (ll > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            size_t vn = ll - nlen - 1;
            if (vn && v[vn - 1] == '\r')
                vn--;
            trim(&v, &vn);
            *n = vn;
            return v;
        }
        line = lf;
    }
    return NULL;
}

bool mx_http_has_token(const char *value, size_t n, const char *token)
{
    size_t tlen = strlen(token);
    while (n) {
        const char *comma = memchr(value, ',', n);
        size_t item = comma ? (size_t)(comma - value) : n;
        const char *t = value;
        size_t tn = item;
        trim(&t, &tn);
        if (tn == tlen && strncasecmp(t, token, tlen) == 0)
            return true;
        if (!comma)
            break;
        value = comma + 1;
        n -= item + 1;
    }
    return false;
}

const char *mx_http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
