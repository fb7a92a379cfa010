/* test_ws.c - WebSocket: the frame parser and encoder (ws_frame.c), the
 * answer to an upgrade request (ws_handshake.c), UTF-8 repair (utf8.c),
 * and the layer on a connection (conn_ws.c) against a fake backend:
 * lines to messages and back, fragments, pings, closes, limits, and a
 * fan-out chunk framed once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/utf8.h"
#include "muxd/chunk.h"
#include "muxd/conn.h"
#include "muxd/http.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"
#include "reactor/ws_frame.h"
#include "reactor/ws_handshake.h"

/* ---- frames ---- */

static int parse(const char *bytes, size_t n, uint64_t max, struct mx__ws_frame *f)
{
    return mx__ws_frame_parse((const unsigned char *)bytes, n, max, f);
}

Test(ws_frame, a_masked_text_frame)
{
    struct mx__ws_frame f;
    const char fr[] = "\x81\x85" "abcd" "hello";
    cr_assert_eq(parse(fr, 1, 100, &f), 0);
    cr_assert_eq(parse(fr, 5, 100, &f), 0, "the mask is part of the header");
    cr_assert_eq(parse(fr, 6, 100, &f), 6);
    cr_assert(f.fin);
    cr_assert_eq(f.op, MX_WS_TEXT);
    cr_assert_eq(f.len, 5);
    char out[5];
    mx__ws_unmask(out, fr + 6, 5, f.mask, 0);
    char want[5];
    for (int i = 0; i < 5; i++)
        want[i] = (char)("hello"[i] ^ "abcd"[i % 4]);
    cr_assert_eq(memcmp(out, want, 5), 0);
}

Test(ws_frame, extended_lengths)
{
    struct mx__ws_frame f;
    cr_assert_eq(parse("\x82\xfe\x01\x00" "abcd", 8, 1000, &f), 8);
    cr_assert_eq(f.len, 256);
    cr_assert_eq(parse("\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00" "abcd", 14, 1 << 20, &f), 14);
    cr_assert_eq(f.len, 65536);
}

Test(ws_frame, every_malformed_header_is_refused)
{
    struct mx__ws_frame f;
    cr_assert_eq(parse("\x81\x05", 2, 100, &f), -MX_WS_PROTOCOL_ERROR, "unmasked");
    cr_assert_eq(parse("\xc1\x85", 2, 100, &f), -MX_WS_PROTOCOL_ERROR, "RSV1");
    cr_assert_eq(parse("\xa1\x85", 2, 100, &f), -MX_WS_PROTOCOL_ERROR, "RSV2");
    cr_assert_eq(parse("\x83\x85", 2, 100, &f), -MX_WS_PROTOCOL_ERROR, "opcode 3");
    cr_assert_eq(parse("\x8b\x85", 2, 100, &f), -MX_WS_PROTOCOL_ERROR, "opcode 0xb");
    cr_assert_eq(parse("\x09\x80", 2, 100, &f), -MX_WS_PROTOCOL_ERROR, "fragmented ping");
    cr_assert_eq(parse("\x89\xfe\x00\x7e", 4, 1000, &f), -MX_WS_PROTOCOL_ERROR,
                 "ping over 125 bytes");
    cr_assert_eq(parse("\x81\xfe\x00\x05", 4, 100, &f), -MX_WS_PROTOCOL_ERROR,
                 "16-bit length for 5 bytes");
    cr_assert_eq(parse("\x81\xff\x00\x00\x00\x00\x00\x00\x01\x00", 10, 1 << 20, &f),
                 -MX_WS_PROTOCOL_ERROR, "64-bit length for 256 bytes");
    cr_assert_eq(parse("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10, UINT64_MAX, &f),
                 -MX_WS_PROTOCOL_ERROR, "the top bit of a 64-bit length");
    cr_assert_eq(parse("\x81\xfe\x01\x00", 4, 255, &f), -MX_WS_TOO_BIG, "over max");
}

Test(ws_frame, headers_we_send)
{
    unsigned char h[10];
    cr_assert_eq(mx__ws_frame_header(h, true, MX_WS_TEXT, 5), 2);
    cr_assert_eq(h[0], 0x81);
    cr_assert_eq(h[1], 5);
    cr_assert_eq(mx__ws_frame_header(h, true, MX_WS_BINARY, 300), 4);
    cr_assert(h[0] == 0x82 && h[1] == 126 && h[2] == 1 && h[3] == 44);
    cr_assert_eq(mx__ws_frame_header(h, false, MX_WS_TEXT, 70000), 10);
    cr_assert(h[0] == 0x01 && h[1] == 127 && h[7] == 1 && h[8] == 0x11 && h[9] == 0x70);
    cr_assert(mx__ws_close_code_ok(1000) && mx__ws_close_code_ok(4999));
    cr_assert(!mx__ws_close_code_ok(1005) && !mx__ws_close_code_ok(1006) &&
              !mx__ws_close_code_ok(999) && !mx__ws_close_code_ok(5000));
}

/* ---- the upgrade ---- */

static struct mx__ws_answer decide(const char *head, const char *origins)
{
    struct mx_http_req req;
    int st = mx_http_parse(head, strlen(head), 8192, &req);
    struct mx__ws_answer a;
    mx__ws_decide(head, strlen(head), st, &req, origins, true, &a);
    return a;
}

#define UPGRADE "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n" \
                "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

Test(ws_handshake, the_rfc_example_key)
{
    struct mx__ws_answer a = decide(UPGRADE KEY "\r\n", "");
    cr_assert_eq(a.status, 101);
    cr_assert_str_eq(a.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");   /* RFC 6455 1.3 */
    cr_assert_null(a.subproto, "none offered, none named");
    cr_assert_not(a.binary);
    char buf[512];
    size_t n = mx__ws_answer_head(&a, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                          "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    cr_assert_eq(n, strlen(buf));
}

Test(ws_handshake, the_clients_order_of_subprotocols)
{
    struct mx__ws_answer a = decide(UPGRADE KEY "Sec-WebSocket-Protocol: foo, binary.ircv3.net, "
                                    "text.ircv3.net\r\n\r\n", "");
    cr_assert_eq(a.status, 101);
    cr_assert_str_eq(a.subproto, "binary.ircv3.net");
    cr_assert(a.binary);
    a = decide(UPGRADE KEY "Sec-WebSocket-Protocol: text.ircv3.net,binary.ircv3.net\r\n\r\n", "");
    cr_assert_str_eq(a.subproto, "text.ircv3.net");
    cr_assert_not(a.binary);
    a = decide(UPGRADE KEY "Sec-WebSocket-Protocol: foo\r\nX: y\r\n"
               "Sec-WebSocket-Protocol: binary.ircv3.net\r\n\r\n", "");
    cr_assert_str_eq(a.subproto, "binary.ircv3.net", "the header over two lines is one list");
    a = decide(UPGRADE KEY "Sec-WebSocket-Protocol: chat.example\r\n\r\n", "");
    cr_assert_eq(a.status, 101, "an unknown one is not a refusal");
    cr_assert_null(a.subproto);
}

Test(ws_handshake, origins)
{
    const char *list = "https://chat.example.org,http://localhost:8080";
    cr_assert_eq(decide(UPGRADE KEY "Origin: https://chat.example.org\r\n\r\n", list).status, 101);
    cr_assert_eq(decide(UPGRADE KEY "Origin: HTTP://LOCALHOST:8080\r\n\r\n", list).status, 101);
    cr_assert_eq(decide(UPGRADE KEY "Origin: https://evil.example\r\n\r\n", list).status, 403);
    cr_assert_eq(decide(UPGRADE KEY "Origin: https://chat.example.org.evil\r\n\r\n", list).status,
                 403);
    cr_assert_eq(decide(UPGRADE KEY "\r\n", list).status, 101, "no Origin: not a browser");
    cr_assert_eq(decide(UPGRADE KEY "Origin: https://any.example\r\n\r\n", "").status, 101);
}

Test(ws_handshake, refusals)
{
    cr_assert_eq(decide("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n" KEY "\r\n", "").status, 400);
    cr_assert_eq(decide("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                        "Sec-WebSocket-Version: 13\r\n" KEY "\r\n", "").status, 400,
                 "no Connection: Upgrade");
    cr_assert_eq(decide("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 8\r\n" KEY "\r\n", "").status, 426);
    cr_assert_eq(decide(UPGRADE "\r\n", "").status, 400, "no key");
    cr_assert_eq(decide(UPGRADE "Sec-WebSocket-Key: short==\r\n\r\n", "").status, 400);
    cr_assert_eq(decide(UPGRADE "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j!!==\r\n\r\n", "").status,
                 400);
    cr_assert_eq(decide("POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n" KEY "\r\n", "").status, 400);
    cr_assert_eq(decide("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n" KEY "\r\n", "").status, 400);
    cr_assert_eq(decide("GET / HTTP/1.1\r\n\r\n", "").status, 400, "no Host");
    struct mx__ws_answer a = decide("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n" KEY
                                    "\r\n", "");
    cr_assert_eq(a.status, 426);
    char buf[512];
    mx__ws_answer_head(&a, 0, buf, sizeof buf);
    cr_assert(strstr(buf, "Sec-WebSocket-Version: 13\r\n"), "426 names the version: %s", buf);
}

Test(ws_handshake, the_page_and_nothing_else)
{
    cr_assert_eq(decide("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "").status, 200);
    cr_assert_eq(decide("GET /index.html?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", "").status, 200);
    cr_assert_eq(decide("GET /etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", "").status, 404);
    cr_assert_eq(decide("POST / HTTP/1.1\r\nHost: h\r\n\r\n", "").status, 405);
    struct mx__ws_answer h = decide("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "");
    cr_assert(h.status == 200 && h.head_only);
    struct mx__ws_answer a = decide("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "");
    char buf[768];
    mx__ws_answer_head(&a, 1234, buf, sizeof buf);
    cr_assert(strstr(buf, "Content-Length: 1234\r\n") && strstr(buf, "text/html"));
}

Test(http, header_lookup)
{
    const char *h = "GET / HTTP/1.1\r\nHost: a\r\nX-Thing:  two words \r\nupgrade: WebSocket\r\n\r\n";
    size_t n;
    const char *v = mx_http_header(h, strlen(h), "x-thing", &n);
    cr_assert(v && n == 9 && memcmp(v, "two words", 9) == 0);
    v = mx_http_header(h, strlen(h), "Upgrade", &n);
    cr_assert(v && mx_http_has_token(v, n, "websocket"));
    cr_assert_null(mx_http_header(h, strlen(h), "Host2", &n));
    cr_assert_null(mx_http_header(h, strlen(h), "GET / HTTP/1.1", &n), "not the request line");
    cr_assert(mx_http_has_token("keep-alive, Upgrade", 19, "upgrade"));
    cr_assert_not(mx_http_has_token("keep-alive, Upgrades", 20, "upgrade"));
}

/* ---- UTF-8 ---- */

Test(utf8, valid_and_invalid)
{
    cr_assert(mx__utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    cr_assert_not(mx__utf8_valid("\xc0\xaf", 2), "overlong");
    cr_assert_not(mx__utf8_valid("\xed\xa0\x80", 3), "a surrogate");
    cr_assert_not(mx__utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF");
    cr_assert_not(mx__utf8_valid("\xe2\x82", 2), "cut short");
    char out[64];
    size_t n = mx__utf8_scrub("a\xffz\xe2\x82", 5, out);
    cr_assert_eq(n, 1 + 3 + 1 + 3);
    cr_assert_eq(memcmp(out, "a\xef\xbf\xbdz\xef\xbf\xbd", n), 0);
}
