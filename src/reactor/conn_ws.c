/* conn_ws.c - WebSocket (RFC 6455) between a connection's lower layer
 * (the socket, or TLS) and its protocol, for a listener with
 * transport = websocket.
 *
 *  below -> mx__conn_plain -> mx__ws_recv -> HTTP upgrade, then frames
 *        -> one line per message, CR LF added -> mx__conn_proto_in
 *  protocol -> mx_conn_send -> mx__ws_send -> one message per line
 *        -> mx__conn_below -> TLS or the output queue
 *
 * The protocol hears of the connection (on_open) once the upgrade is
 * done. A request without Upgrade for / gets the listener's page and the
 * connection closes. Memory per connection stays bounded: an unfinished
 * frame (at most max_message plus its header), an unfinished message
 * (max_message), an unfinished output line (max_message, then it goes
 * out as a message of its own).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/buf.h"
#include "io/utf8.h"
#include "muxd/chunk.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/server.h"
#include "reactor/conn.h"
#include "reactor/server.h"
#include "reactor/ws.h"
#include "reactor/ws_frame.h"
#include "reactor/ws_handshake.h"

#define HEAD_MAX 8192            /* an upgrade request's head */

enum ws_state { WS_HTTP, WS_OPEN, WS_CLOSED };

struct mx__ws_conn {
    uint8_t state;
    bool binary;                 /* binary.ircv3.net: no UTF-8 repair */
    bool begun;                  /* the upgrade's timer is armed */
    uint8_t msg_op;              /* a fragmented message's opcode, 0: none */
    struct mx_buf in;            /* an unfinished frame, or the HTTP head */
    struct mx_buf msg;           /* a fragmented message so far */
    struct mx_buf line;          /* output: a line not yet ended */
};

int mx__ws_cfg_set(struct mx__ws_cfg *cfg, const struct mx_listen_opts *o)
{
    *cfg = (struct mx__ws_cfg){ .on = o->transport == MX_TRANSPORT_WEBSOCKET };
    const char *origins = o->allowed_origins ? o->allowed_origins : "";
    if (strlen(origins) >= sizeof cfg->origins)
        return -EINVAL;
    strcpy(cfg->origins, origins);
    cfg->max_message = o->ws_max_message ? (uint32_t)o->ws_max_message : 16384;
    cfg->timeout_ms = o->ws_timeout_ms ? o->ws_timeout_ms : 10000;
    cfg->page = o->web_page;
    cfg->page_len = o->web_page ? o->web_page_len : 0;
    return 0;
}

static const struct mx__ws_cfg *cfg_of(const struct mx_conn *c)
{
    return &c->ls->ws;
}

int mx__ws_new(struct mx_conn *c)
{
    c->ws = calloc(1, sizeof *c->ws);
    return c->ws ? 0 : -ENOMEM;
}

void mx__ws_free(struct mx_conn *c)
{
    if (!c->ws)
        return;
    mx__buf_free(&c->ws->in);
    mx__buf_free(&c->ws->msg);
    mx__buf_free(&c->ws->line);
    free(c->ws);
    c->ws = NULL;
}

static void upgrade_timeout(struct mx_conn *c, void *arg)
{
    (void)arg;
    mx__conn_abort(c, "WebSocket: no upgrade request within handshake_timeout");
}

bool mx__ws_begin(struct mx_conn *c)
{
    struct mx__ws_conn *ws = c->ws;
    if (ws->state != WS_HTTP)
        return false;
    if (!ws->begun) {
        ws->begun = true;
        if (mx__conn_timer_arm(c, cfg_of(c)->timeout_ms, upgrade_timeout, NULL) < 0)
            mx__conn_abort(c, "no memory for the upgrade's timer");
    }
    return true;
}

/* One control frame of ours (close, pong: at most 125 bytes, RFC 6455
 * 5.5), header and payload in one piece, to the layer below. */
static int send_frame(struct mx_conn *c, uint8_t op, const char *p, size_t n)
{
    char frame[2 + 125];
    assert(n <= 125);
    size_t h = mx__ws_frame_header((unsigned char *)frame, true, op, n);
    memcpy(frame + h, p, n);
    return mx__conn_below(c, frame, h + n);
}

/* Fails the WebSocket connection (section 7.1.7): a close frame with
 * code, then a graceful close with the reason in the log. */
static void fail(struct mx_conn *c, unsigned code, const char *why)
{
    unsigned char body[2] = { (unsigned char)(code >> 8), (unsigned char)code };
    if (c->ws->state == WS_OPEN)
        send_frame(c, MX_WS_CLOSE, (const char *)body, 2);
    c->ws->state = WS_CLOSED;
    char line[160];
    snprintf(line, sizeof line, "WebSocket: %s (close %u)", why, code);
    mx_conn_close(c, line);
}

static bool frames_in(struct mx_conn *c);

/* The upgrade is done: the protocol opens, and frames that came with the
 * request are read. */
static bool upgraded(struct mx_conn *c, const struct mx__ws_answer *a, size_t head_len)
{
    struct mx__ws_conn *ws = c->ws;
    ws->state = WS_OPEN;
    ws->binary = a->binary;
    mx__buf_consume(&ws->in, head_len);
    mx__conn_timer_take(c);
    mx_debug("conn %s: WebSocket %s", mx_conn_peer_str(c), a->subproto ? a->subproto : "(text)");
    mx__conn_open(c);
    if (c->flags & MX_C_DEAD)
        return false;
    return ws->in.len == 0 || frames_in(c);
}

/* The HTTP head is in: upgrade, serve the page, or refuse. */
static bool answer(struct mx_conn *c, int parsed, const struct mx_http_req *req)
{
    struct mx__ws_conn *ws = c->ws;
    const struct mx__ws_cfg *cfg = cfg_of(c);
    struct mx__ws_answer a;
    mx__ws_decide(ws->in.data, req->head_len, parsed, req, cfg->origins, cfg->page != NULL, &a);
    char head[768];
    size_t hn = mx__ws_answer_head(&a, cfg->page_len, head, sizeof head);
    if (mx__conn_below(c, head, hn) < 0)
        return false;
    if (a.status == 101)
        return upgraded(c, &a, req->head_len);
    ws->state = WS_CLOSED;
    if (a.status == 200) {
        if (a.head_only || mx__conn_below(c, cfg->page, cfg->page_len) == 0)
            mx_conn_close(c, NULL);
        return !(c->flags & MX_C_DEAD);
    }
    char why[160];
    snprintf(why, sizeof why, "WebSocket: refused with %d: %s", a.status, a.why);
    mx_conn_close(c, why);
    return !(c->flags & MX_C_DEAD);
}

static bool http_in(struct mx_conn *c)
{
    struct mx_http_req req;
    int st = mx_http_parse(c->ws->in.data, c->ws->in.len, HEAD_MAX, &req);
    return st == 0 ? true : answer(c, st, &req);
}

/* A whole message, to the protocol as one line: CR LF (which a client
 * may add though the spec says not to) taken off, then put back on. A
 * line break inside must not make it two lines (pasted text would smuggle
 * a second command): an LF there becomes a CR, which a line protocol sees
 * as a bare CR inside one line (chat refuses such a line with a NOTICE). */
static bool message(struct mx_conn *c, char *p, size_t n, size_t room)
{
    if (c->ws->msg_op == MX_WS_TEXT && !mx__utf8_valid(p, n)) {
        fail(c, MX_WS_BAD_DATA, "a text message that is not UTF-8");
        return false;
    }
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    for (char *lf = memchr(p, '\n', n); lf; lf = memchr(lf, '\n', n - (size_t)(lf - p)))
        *lf = '\r';
    if (n == 0 || room < n + 2)
        return n == 0;
    memcpy(p + n, "\r\n", 2);
    return mx__conn_proto_in(c, p, n + 2);
}

/* A ping, pong or close (at most 125 bytes, unmasked). */
static bool control(struct mx_conn *c, uint8_t op, const char *p, size_t n)
{
    if (op == MX_WS_PING)
        return send_frame(c, MX_WS_PONG, p, n) == 0 || !(c->flags & MX_C_DEAD);
    if (op == MX_WS_PONG)
        return true;
    unsigned code = n >= 2 ? (unsigned)((unsigned char)p[0] << 8 | (unsigned char)p[1]) : 0;
    if (n == 1 || (n >= 2 && !mx__ws_close_code_ok(code))) {
        fail(c, MX_WS_PROTOCOL_ERROR, "a close frame with a bad code");
        return false;
    }
    if (n > 2 && !mx__utf8_valid(p + 2, n - 2)) {
        fail(c, MX_WS_BAD_DATA, "a close reason that is not UTF-8");
        return false;
    }
    /* Answered with the same code, then closed (section 5.5.1). */
    char why[64];
    snprintf(why, sizeof why, "WebSocket: the client closed (code %u)", code ? code : 1005);
    if (c->ws->state == WS_OPEN)
        send_frame(c, MX_WS_CLOSE, p, n >= 2 ? 2 : 0);
    c->ws->state = WS_CLOSED;
    mx_conn_close(c, why);
    return false;
}

/* A data frame: a whole message at once (the usual case, no copy kept),
 * or a fragment added to the one being assembled. */
static bool data(struct mx_conn *c, const struct mx__ws_frame *f, const char *p)
{
    static _Thread_local char one[16384 + 2];
    struct mx__ws_conn *ws = c->ws;
    if ((f->op == MX_WS_CONT) != (ws->msg_op != 0)) {
        fail(c, MX_WS_PROTOCOL_ERROR, f->op == MX_WS_CONT ? "a continuation of no message"
                                                          : "a new message inside a fragmented one");
        return false;
    }
    if (f->op != MX_WS_CONT)
        ws->msg_op = f->op;
    if (ws->msg.len + f->len > cfg_of(c)->max_message) {
        fail(c, MX_WS_TOO_BIG, "a message over ws_max_message");
        return false;
    }
    if (f->fin && ws->msg.len == 0 && f->len + 2 <= sizeof one) {
        mx__ws_unmask(one, p, f->len, f->mask, 0);
        bool open = message(c, one, f->len, sizeof one);
        ws->msg_op = 0;
        return open;
    }
    size_t at = ws->msg.len;
    if (mx__buf_append(&ws->msg, p, f->len) < 0 ||
        (f->fin && mx__buf_append(&ws->msg, "\r\n", 2) < 0)) {
        mx__conn_abort(c, "out of memory for a WebSocket message");
        return false;
    }
    mx__ws_unmask(ws->msg.data + at, p, f->len, f->mask, 0);
    if (!f->fin)
        return true;
    bool open = message(c, ws->msg.data, ws->msg.len - 2, ws->msg.len);
    ws->msg_op = 0;
    mx__buf_consume(&ws->msg, ws->msg.len);
    return open;
}

/* One frame whose payload p is all here. */
static bool frame(struct mx_conn *c, const struct mx__ws_frame *f, const char *p)
{
    if (f->op < MX_WS_CLOSE)
        return data(c, f, p);
    char ctl[125];
    mx__ws_unmask(ctl, p, f->len, f->mask, 0);
    return control(c, f->op, ctl, f->len);
}

/* Whole frames of p[0..n): how many bytes they took (the rest is an
 * unfinished frame), or n once c stopped reading. */
static size_t frames(struct mx_conn *c, const char *p, size_t n)
{
    size_t at = 0;
    while (c->ws->state == WS_OPEN && !(c->flags & (MX_C_CLOSING | MX_C_DEAD))) {
        struct mx__ws_frame f;
        int h = mx__ws_frame_parse((const unsigned char *)p + at, n - at,
                                   cfg_of(c)->max_message, &f);
        if (h < 0) {
            fail(c, (unsigned)-h, h == -MX_WS_TOO_BIG ? "a frame over ws_max_message"
                                                       : "a malformed frame");
            return n;
        }
        if (h == 0 || n - at - (size_t)h < f.len)
            return at;
        if (!frame(c, &f, p + at + h))
            return n;
        at += (size_t)h + f.len;
    }
    return n;
}

/* Frames kept in ws->in (a partial one before, and what came after). */
static bool frames_in(struct mx_conn *c)
{
    struct mx__ws_conn *ws = c->ws;
    size_t used = frames(c, ws->in.data, ws->in.len);
    mx__buf_consume(&ws->in, used);
    return !(c->flags & MX_C_DEAD);
}

bool mx__ws_recv(struct mx_conn *c, const char *p, size_t n)
{
    struct mx__ws_conn *ws = c->ws;
    if (ws->state == WS_CLOSED)
        return !(c->flags & MX_C_DEAD);   /* after our close frame: ignored */
    if (ws->state == WS_OPEN && ws->in.len == 0) {
        /* The usual case: whole frames straight from the caller's bytes. */
        size_t used = frames(c, p, n);
        if (used < n && !(c->flags & MX_C_DEAD) && mx__buf_append(&ws->in, p + used, n - used) < 0)
            mx__conn_abort(c, "out of memory for input");
        return !(c->flags & MX_C_DEAD);
    }
    if (mx__buf_append(&ws->in, p, n) < 0) {
        mx__conn_abort(c, "out of memory for input");
        return false;
    }
    return ws->state == WS_HTTP ? http_in(c) : frames_in(c);
}

/* One line (without its LF) as one message, appended to out. Text
 * frames must carry UTF-8 (section 8.1): bytes that are not go out as
 * U+FFFD, as the IRCv3 spec lets a server do. */
static int frame_one(bool binary, const char *p, size_t len, struct mx_buf *out)
{
    static _Thread_local char fixed[3 * 2048];
    char *heap = NULL;
    if (len && p[len - 1] == '\r')
        len--;
    if (!binary && !mx__utf8_valid(p, len)) {
        char *to = len <= sizeof fixed / 3 ? fixed : (heap = malloc(3 * len));
        if (!to)
            return -ENOMEM;
        len = mx__utf8_scrub(p, len, to);
        p = to;
    }
    unsigned char hdr[10];
    size_t h = mx__ws_frame_header(hdr, true, binary ? MX_WS_BINARY : MX_WS_TEXT, len);
    int err = mx__buf_append(out, hdr, h) < 0 || mx__buf_append(out, p, len) < 0 ? -ENOMEM : 0;
    free(heap);
    return err;
}

/* Each whole line of p[0..n) as a message, appended to out; the bytes
 * after the last LF are left: their count in *tail. */
static int frame_lines(bool binary, const char *p, size_t n, struct mx_buf *out, size_t *tail)
{
    const char *lf;
    while (n && (lf = memchr(p, '\n', n))) {
        size_t len = (size_t)(lf - p);
        if (frame_one(binary, p, len, out) < 0)
            return -ENOMEM;
        p += len + 1;
        n -= len + 1;
    }
    *tail = n;
    return 0;
}

/* The framing of one send, reused: it is queued (copied) at once. */
static _Thread_local struct mx_buf scratch;

void mx__ws_thread_cleanup(void)
{
    mx__buf_free(&scratch);
}

static int send_scratch(struct mx_conn *c)
{
    int err = mx__conn_below(c, scratch.data, scratch.len);
    scratch.len = 0;
    if (scratch.cap > 65536)
        mx__buf_free(&scratch);   /* a rare big send keeps no memory */
    return err;
}

/* The protocol's unfinished line, as a message of its own: before a
 * chunk, a close, or when it grows past max_message. */
static int flush_line(struct mx_conn *c)
{
    struct mx__ws_conn *ws = c->ws;
    if (ws->line.len == 0)
        return 0;
    int err = frame_one(ws->binary, ws->line.data, ws->line.len, &scratch);
    mx__buf_consume(&ws->line, ws->line.len);
    return err < 0 ? (scratch.len = 0, err) : send_scratch(c);
}

int mx__ws_send(struct mx_conn *c, const char *p, size_t n)
{
    struct mx__ws_conn *ws = c->ws;
    if (ws->state != WS_OPEN)
        return 0;   /* the protocol is not open yet, or we closed */
    if (ws->line.len) {
        /* The unfinished line first, completed by what p starts with. */
        const char *lf = memchr(p, '\n', n);
        size_t k = lf ? (size_t)(lf - p) + 1 : n;
        if (mx__buf_append(&ws->line, p, k) < 0)
            return -ENOMEM;
        p += k;
        n -= k;
        if (lf || ws->line.len > cfg_of(c)->max_message) {
            ws->line.len -= lf ? 1 : 0;
            int err = flush_line(c);
            if (err < 0)
                return err;
        }
    }
    size_t tail = 0;
    if (frame_lines(ws->binary, p, n, &scratch, &tail) < 0 ||
        mx__buf_append(&ws->line, p + n - tail, tail) < 0) {
        scratch.len = 0;
        return -ENOMEM;
    }
    int err = scratch.len ? send_scratch(c) : 0;
    if (err == 0 && ws->line.len > cfg_of(c)->max_message)
        err = flush_line(c);
    return err;
}

/* Every line of p[0..n), and a tail without LF, as messages in a new
 * chunk. */
static struct mx_chunk *framed_copy(bool bin, const char *p, size_t n)
{
    struct mx_chunk *ch = NULL;
    size_t tail = 0;
    struct mx_buf out = { 0 };
    if (frame_lines(bin, p, n, &out, &tail) == 0 &&
        (tail == 0 || frame_one(bin, p + n - tail, tail, &out) == 0))
        ch = mx_chunk_copy(out.data, out.len);
    mx__buf_free(&out);
    return ch;
}

struct mx_chunk *mx__ws_frame_copy(struct mx_conn *c, const char *p, size_t n)
{
    return framed_copy(c->ws->binary, p, n);
}

struct mx_chunk *mx__ws_chunk(struct mx_conn *c, struct mx_chunk *ch)
{
    bool bin = c->ws->binary;
    if (flush_line(c) < 0)
        return NULL;
    struct mx_chunk *tw = atomic_load_explicit(&ch->framed[bin], memory_order_acquire);
    if (tw)
        return tw;
    if (!(tw = framed_copy(bin, ch->data, ch->len)))
        return NULL;
    /* Another worker may frame the same chunk at the same time: the
     * first one stored is the one every member gets. */
    struct mx_chunk *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&ch->framed[bin], &none, tw,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        mx_chunk_unref(tw);
        tw = none;
    }
    return tw;
}

void mx__ws_close(struct mx_conn *c)
{
    /* 1001 when the server goes down (section 7.4.1), else 1000. */
    unsigned code = c->w->stopping ? MX_WS_GOING_AWAY : MX_WS_NORMAL;
    const char body[2] = { (char)(code >> 8), (char)(code & 0xff) };
    if (c->ws->state != WS_OPEN)
        return;
    flush_line(c);
    send_frame(c, MX_WS_CLOSE, body, 2);
    c->ws->state = WS_CLOSED;
}
