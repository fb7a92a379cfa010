/* test_conn_ws.c - the WebSocket layer on a connection (conn_ws.c)
 * against the fake backend: the upgrade opens the protocol, messages
 * become lines and lines messages, fragments, control frames, closes,
 * the limits, UTF-8, and a shared chunk framed once for every member. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fake_backend.h"
#include "muxd/chunk.h"
#include "muxd/conn.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"
#include "reactor/ws_frame.h"

static struct mx_conn *opened;
static char lines[4096];      /* what the protocol was given */
static size_t nlines;
static int proto_open(struct mx_conn *c) { opened = c; return 0; }
static size_t proto_data(struct mx_conn *c, const char *p, size_t n)
{
    (void)c;
    cr_assert_lt(nlines + n, sizeof lines);
    memcpy(lines + nlines, p, n);
    nlines += n;
    return n;
}
static void proto_close(struct mx_conn *c) { (void)c; fake.closes++; }
static const struct mx_proto proto = { .name = "t", .on_open = proto_open,
                                       .on_data = proto_data, .on_close = proto_close };

static struct mx_server srv;
static struct mx_worker w;
static struct mx_listener ls = { .name = "t", .fd = -1, .proto = &proto };
static int peer_fd;
static struct mx_conn *c;

static void setup(void)
{
    mx_server_opts_default(&srv.opts);
    cr_assert_eq(mx__worker_init(&w, &srv, 0, &fake_be), 0);
    w.tid = pthread_self();
    struct mx_listen_opts o = { .transport = MX_TRANSPORT_WEBSOCKET, .ws_max_message = 600,
                                .web_page = "<p>hi</p>", .web_page_len = 9 };
    cr_assert_eq(mx__ws_cfg_set(&ls.ws, &o), 0);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    peer_fd = sv[1];
    atomic_store(&srv.nconns, 1);
    mx__conn_create(&w, sv[0], &ls, 0);
    c = w.slots[0];
    cr_assert_not_null(c);
    cr_assert_null(opened, "the protocol opened before the upgrade");
}

static void teardown(void)
{
    fake_teardown(&w, peer_fd);
}

TestSuite(conn_ws, .init = setup, .fini = teardown);

static bool alive(void)
{
    return !(c->flags & (MX_C_DEAD | MX_C_CLOSING));
}

static bool feed(const void *p, size_t n)
{
    return mx__conn_recv(c, p, n);
}

/* Everything queued for the wire, taken off the queue, into out. */
static size_t drain(char *out, size_t cap)
{
    struct iovec iov[64];
    int k = mx__outq_iov(&c->out, iov, 64);
    size_t n = 0;
    for (int i = 0; i < k; i++) {
        cr_assert_leq(n + iov[i].iov_len, cap);
        memcpy(out + n, iov[i].iov_base, iov[i].iov_len);
        n += iov[i].iov_len;
    }
    mx__outq_consume(&c->out, n);
    return n;
}

/* A masked client frame. */
static size_t frame(char *out, bool fin, int op, const char *p, size_t n)
{
    static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    size_t h = 0;
    out[h++] = (char)((fin ? 0x80 : 0) | op);
    if (n < 126)
        out[h++] = (char)(0x80 | n);
    else {
        out[h++] = (char)(0x80 | 126);
        out[h++] = (char)(n >> 8);
        out[h++] = (char)n;
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = (char)(p[i] ^ mask[i % 4]);
    return h + n;
}

static void upgrade(const char *proto_hdr)
{
    char req[512];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n", proto_hdr);
    /* In two pieces: the head may come in any number of reads. */
    cr_assert(feed(req, 20));
    cr_assert_null(opened);
    cr_assert(feed(req + 20, strlen(req) - 20));
    cr_assert_eq(opened, c, "the protocol was not opened by the upgrade");
    char out[512];
    size_t n = drain(out, sizeof out);
    out[n] = '\0';
    cr_assert(strncmp(out, "HTTP/1.1 101 ", 13) == 0, "%s", out);
}

Test(conn_ws, messages_become_lines_and_lines_messages)
{
    upgrade("");
    char buf[256];
    size_t n = frame(buf, true, MX_WS_TEXT, "NICK a", 6);
    n += frame(buf + n, true, MX_WS_TEXT, "USER a 0 * :A\r\n", 15);
    /* Byte by byte: frames split anywhere. */
    for (size_t i = 0; i < n; i++)
        cr_assert(feed(buf + i, 1));
    cr_assert_eq(nlines, 23);
    cr_assert_eq(memcmp(lines, "NICK a\r\nUSER a 0 * :A\r\n", 23), 0, "%.*s", (int)nlines, lines);
    cr_assert_eq(mx_conn_send(c, "one\r\ntwo\nthr", 12), 0);
    cr_assert_eq(mx_conn_send(c, "ee\r\n", 4), 0);
    n = drain(buf, sizeof buf);
    cr_assert_eq(n, 5 + 5 + 7);
    cr_assert_eq(memcmp(buf, "\x81\x03one\x81\x03two\x81\x05three", n), 0);
}

Test(conn_ws, a_line_break_inside_a_message_never_makes_two_lines)
{
    upgrade("");
    char buf[64];
    size_t n = frame(buf, true, MX_WS_TEXT, "PING :a\r\nQUIT\nx\r\n", 17);
    cr_assert(feed(buf, n));
    cr_assert_eq(nlines, 17);
    cr_assert_eq(memcmp(lines, "PING :a\r\rQUIT\rx\r\n", 17), 0, "%.*s", (int)nlines, lines);
}

Test(conn_ws, fragments_and_pings_between_them)
{
    upgrade("Sec-WebSocket-Protocol: binary.ircv3.net\r\n");
    char buf[256];
    size_t n = frame(buf, false, MX_WS_BINARY, "PRIV", 4);
    n += frame(buf + n, true, MX_WS_PING, "p!", 2);
    n += frame(buf + n, false, MX_WS_CONT, "MSG #a", 6);
    n += frame(buf + n, true, MX_WS_CONT, " :\xff", 3);
    cr_assert(feed(buf, n));
    cr_assert_eq(nlines, 15);
    cr_assert_eq(memcmp(lines, "PRIVMSG #a :\xff\r\n", 15), 0, "binary passes any byte");
    n = drain(buf, sizeof buf);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(buf, "\x8a\x02p!", 4), 0, "the pong");
    cr_assert_eq(mx_conn_send(c, "x\xff\r\n", 4), 0);
    n = drain(buf, sizeof buf);
    cr_assert_eq(memcmp(buf, "\x82\x02x\xff", 4), 0, "binary frames, bytes as they are");
}

static void expect_close(unsigned code)
{
    char buf[256];
    size_t n = drain(buf, sizeof buf);
    cr_assert_geq(n, 4);
    cr_assert_eq((unsigned char)buf[n - 4], 0x88, "no close frame last");
    cr_assert_eq((unsigned)((unsigned char)buf[n - 2] << 8 | (unsigned char)buf[n - 1]), code);
}

Test(conn_ws, invalid_utf8_in_text_is_1007)
{
    upgrade("Sec-WebSocket-Protocol: text.ircv3.net\r\n");
    char buf[64];
    size_t n = frame(buf, true, MX_WS_TEXT, "caf\xc3", 4);
    feed(buf, n);
    cr_assert_not(alive());
    cr_assert_eq(nlines, 0);
    expect_close(1007);
}

Test(conn_ws, text_output_is_repaired)
{
    upgrade("");
    cr_assert_eq(mx_conn_send(c, "a\xff\r\n", 4), 0);
    char buf[64];
    size_t n = drain(buf, sizeof buf);
    cr_assert_eq(n, 6);
    cr_assert_eq(memcmp(buf, "\x81\x04" "a\xef\xbf\xbd", 6), 0);
}

Test(conn_ws, a_message_over_the_limit_is_1009)
{
    upgrade("");
    static char big[700], buf[800];
    memset(big, 'a', sizeof big);
    /* Refused on its header, before the payload is read. */
    frame(buf, true, MX_WS_TEXT, big, sizeof big);
    feed(buf, 8);
    cr_assert_not(alive());
    expect_close(1009);
}

Test(conn_ws, fragments_over_the_limit_are_1009)
{
    upgrade("");
    static char part[400], buf[900];
    memset(part, 'a', sizeof part);
    size_t n = frame(buf, false, MX_WS_TEXT, part, sizeof part);
    n += frame(buf + n, true, MX_WS_CONT, part, sizeof part);
    feed(buf, n);
    cr_assert_not(alive());
    cr_assert_eq(nlines, 0);
    expect_close(1009);
}

Test(conn_ws, protocol_errors_are_1002)
{
    upgrade("");
    char buf[64] = "\x81\x02hi";   /* unmasked */
    feed(buf, 4);
    cr_assert_not(alive());
    expect_close(1002);
}

Test(conn_ws, a_continuation_of_nothing_is_1002)
{
    upgrade("");
    char buf[64];
    size_t n = frame(buf, true, MX_WS_CONT, "x", 1);
    feed(buf, n);
    cr_assert_not(alive());
    expect_close(1002);
}

Test(conn_ws, the_clients_close_is_answered)
{
    upgrade("");
    char buf[64];
    size_t n = frame(buf, true, MX_WS_CLOSE, "\x03\xe9" "bye", 5);
    feed(buf, n);
    cr_assert_not(alive());
    expect_close(1001);
}

Test(conn_ws, our_close_sends_a_close_frame_after_the_last_line)
{
    upgrade("");
    mx_conn_send(c, "ERROR :Closing Link\r\n", 21);
    mx_conn_close(c, "test");
    char buf[128];
    size_t n = drain(buf, sizeof buf);
    cr_assert_eq(n, 2 + 19 + 4);
    cr_assert_eq(memcmp(buf + 21, "\x88\x02\x03\xe8", 4), 0);
    mx_conn_send(c, "late\r\n", 6);
    cr_assert_eq(drain(buf, sizeof buf), 0, "output after the close frame");
}

Test(conn_ws, a_server_going_down_says_1001)
{
    upgrade("");
    w.stopping = true;
    mx_conn_close(c, NULL);
    expect_close(1001);
    w.stopping = false;
}

Test(conn_ws, a_chunk_is_framed_once_and_shared)
{
    upgrade("");
    struct mx_chunk *ch = mx_chunk_copy(":a PRIVMSG #x :hi\r\n", 19);
    cr_assert_eq(mx_conn_send_chunk(c, ch), 0);
    struct mx_chunk *tw = atomic_load(&ch->framed[0]);
    cr_assert_not_null(tw);
    cr_assert_eq(mx_conn_send_chunk(c, ch), 0);
    cr_assert_eq(atomic_load(&ch->framed[0]), tw, "framed again");
    cr_assert_eq(atomic_load(&tw->refs), 3, "one for the chunk, one per queued send");
    char buf[128];
    size_t n = drain(buf, sizeof buf);
    cr_assert_eq(n, 2 * 19);
    cr_assert_eq(memcmp(buf, "\x81\x11:a PRIVMSG #x :hi", 19), 0);
    mx_chunk_unref(ch);
}

Test(conn_ws, the_page_then_close)
{
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    feed(req, strlen(req));
    cr_assert_null(opened);
    cr_assert_not(alive());
    char buf[1024];
    size_t n = drain(buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", buf);
    cr_assert(strstr(buf, "Content-Length: 9\r\n"));
    cr_assert_eq(strcmp(buf + n - 9, "<p>hi</p>"), 0);
}

Test(conn_ws, a_refusal_has_a_status_and_never_opens)
{
    const char *req = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
    feed(req, strlen(req));
    cr_assert_null(opened);
    cr_assert_not(alive());
    char buf[512];
    size_t n = drain(buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "%s", buf);
}

Test(conn_ws, an_endless_head_is_431)
{
    static char junk[9000];
    memset(junk, 'a', sizeof junk);
    memcpy(junk, "GET / HTTP/1.1\r\nX: ", 19);
    feed(junk, sizeof junk);
    cr_assert_not(alive());
    char buf[512];
    size_t n = drain(buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strncmp(buf, "HTTP/1.1 431 ", 13) == 0, "%s", buf);
}
