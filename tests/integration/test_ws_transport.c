/* test_ws_transport.c - the WebSocket layer as a transport, with a client
 * written here (frames by hand, so nothing is hidden by a library): echo
 * over WebSocket from many clients across workers, byte for byte; the
 * page at / is the file in web/; a PROXY header before the upgrade; an
 * upgrade never sent is cut at handshake_timeout; a refused Origin; and a
 * chat listener sharing another's network. The IRC-level tests (python3-websockets, a browser) are
 * test_ws_chat.c and test_ws_browser.c. */
#include "harness.h"
#include "irc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T 5000
#define LIT(s) (s), sizeof(s) - 1

TestSuite(ws_transport, .init = mx_init, .fini = mx_fini, .timeout = 120);

/* Sends an upgrade request (after pre, e.g. a PROXY header) with extra
 * headers; returns the fd once 101 came, or -1 with the status line in
 * status. */
static int ws_open(int port, const char *pre, const char *extra, char *status, size_t cap)
{
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0);
    char req[1024];
    int n = snprintf(req, sizeof req, "%sGET /irc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n", pre, extra);
    MX_REQUIRE(mx_send_all(fd, req, (size_t)n) == 0);
    char head[1024] = "";
    size_t got = 0;
    while (got < sizeof head - 1 && !strstr(head, "\r\n\r\n")) {
        if (mx_recv_exact(fd, head + got, 1, T) != 1)
            break;
        head[++got] = '\0';
    }
    head[got] = '\0';
    snprintf(status, cap, "%.*s", (int)strcspn(head, "\r"), head);
    if (strncmp(head, "HTTP/1.1 101 ", 13) != 0 ||
        !strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")) {
        close(fd);
        return -1;
    }
    return fd;
}

static void ws_send(int fd, int op, const void *p, size_t n)
{
    static const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
    unsigned char *f = malloc(n + 14);
    MX_REQUIRE(f);
    size_t h = 0;
    f[h++] = (unsigned char)(0x80 | op);
    if (n < 126)
        f[h++] = (unsigned char)(0x80 | n);
    else {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    }
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = ((const unsigned char *)p)[i] ^ mask[i % 4];
    MX_REQUIRE(mx_send_all(fd, f, h + n) == 0);
    free(f);
}

/* One frame from the server: its opcode, payload in p (NUL-ended), or -1. */
static int ws_recv(int fd, char *p, size_t cap, size_t *len)
{
    unsigned char h[10];
    if (mx_recv_exact(fd, h, 2, T) != 2)
        return -1;
    MX_REQUIRE(!(h[1] & 0x80), "a server frame was masked");
    size_t n = h[1] & 0x7f;
    if (n == 126) {
        MX_REQUIRE(mx_recv_exact(fd, h + 2, 2, T) == 2);
        n = (size_t)h[2] << 8 | h[3];
    }
    MX_REQUIRE(n < cap, "a frame of %zu bytes", n);
    if (n && mx_recv_exact(fd, p, n, T) != (ssize_t)n)
        return -1;
    p[n] = '\0';
    *len = n;
    return h[0] & 0x0f;
}

static const char *echo_config(void)
{
    return "[server]\nworkers = 2\n"
           "[listener ws]\nlisten = 127.0.0.1:0\nprotocol = echo\ntransport = websocket\n"
           "ws_max_message = 64k\nhandshake_timeout = 300ms\n"
           "allowed_origins = http://good.example\n";
}

/* 24 clients over both workers, each 200 messages of sizes up to 60 KiB:
 * every one comes back whole, as one message, in order (binary.ircv3.net:
 * the bytes as they are). */
Test(ws_transport, echo_many_clients_byte_for_byte)
{
    struct mx_daemon *d = mx_boot(echo_config());
    int port = mx_port(d, "ws");
    enum { N = 24, M = 200 };
    int fd[N];
    char status[128];
    for (int i = 0; i < N; i++)
        MX_REQUIRE((fd[i] = ws_open(port, "", "Sec-WebSocket-Protocol: binary.ircv3.net\r\n",
                                    status, sizeof status)) >= 0, "%s", status);
    static char msg[61440], got[65536];
    for (int k = 0; k < M; k++) {
        for (int i = 0; i < N; i++) {
            size_t n = 1 + (size_t)((k * 7919 + i * 104729) % (k % 20 == 0 ? 60000 : 300));
            mx_pattern_fill((uint8_t *)msg, n, (uint32_t)(i * M + k), 0);
            for (size_t j = 0; j < n; j++)   /* no line ends inside */
                if (msg[j] == '\n' || msg[j] == '\r')
                    msg[j] = '.';
            ws_send(fd[i], 2, msg, n);
            size_t len;
            MX_REQUIRE(ws_recv(fd[i], got, sizeof got, &len) == 2, "client %d message %d", i, k);
            MX_REQUIRE(len == n && memcmp(got, msg, n) == 0, "client %d message %d: %zu bytes "
                       "back for %zu", i, k, len, n);
        }
    }
    for (int i = 0; i < N; i++)
        close(fd[i]);
    mx_require_clean_log(d);
    mx_stop_ok(d, T);
}

/* The page at / is web/index.html, whole; other paths 404; an Origin not
 * allowed gets 403 and a log line. */
Test(ws_transport, the_page_and_refusals)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", __FILE__);
    *strstr(path, "/tests/integration/") = '\0';
    strcat(path, "/web/index.html");
    struct stat st;
    MX_REQUIRE(stat(path, &st) == 0, "%s", path);
    struct mx_daemon *d = mx_boot("[listener irc]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                  "[listener web]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                  "transport = websocket\nshare_with = irc\n"
                                  "allowed_origins = http://good.example\n");
    int port = mx_port(d, "web");
    int fd = mx_connect(port);
    MX_REQUIRE(mx_send_all(fd, LIT("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) == 0);
    static char page[1 << 20];
    size_t extra = 0;
    MX_REQUIRE(mx_wait_closed(fd, T, &extra) != MX_OPEN);
    close(fd);
    fd = mx_connect(port);
    MX_REQUIRE(mx_send_all(fd, LIT("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")) == 0);
    ssize_t n = 0, r;
    while ((r = read(fd, page + n, sizeof page - 1 - (size_t)n)) > 0)
        n += r;
    page[n] = '\0';
    close(fd);
    char *body = strstr(page, "\r\n\r\n");
    MX_REQUIRE(body && strncmp(page, "HTTP/1.1 200 OK\r\n", 17) == 0, "%.200s", page);
    body += 4;
    MX_REQUIRE((off_t)(page + n - body) == st.st_size, "the page is %zd bytes, the file %lld",
               page + n - body, (long long)st.st_size);
    FILE *f = fopen(path, "rb");
    static char file[1 << 20];
    MX_REQUIRE(f && fread(file, 1, (size_t)st.st_size, f) == (size_t)st.st_size);
    fclose(f);
    MX_REQUIRE(memcmp(body, file, (size_t)st.st_size) == 0, "the page is not web/index.html");
    fd = mx_connect(port);
    MX_REQUIRE(mx_send_all(fd, LIT("GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")) == 0);
    MX_REQUIRE(mx_recv_exact(fd, page, 12, T) == 12 && memcmp(page, "HTTP/1.1 404", 12) == 0);
    close(fd);
    char status[128];
    MX_REQUIRE(ws_open(port, "", "Origin: http://evil.example\r\n", status, sizeof status) < 0);
    MX_REQUIRE(strcmp(status, "HTTP/1.1 403 Forbidden") == 0, "%s", status);
    MX_REQUIRE(daemon_wait_log(d, "refused with 403: an Origin not in allowed_origins", T));
    fd = ws_open(port, "", "Origin: http://GOOD.example\r\n", status, sizeof status);
    MX_REQUIRE(fd >= 0, "%s", status);
    close(fd);
    mx_stop_ok(d, T);
}

/* No upgrade request, or half of one: cut at handshake_timeout, logged. */
Test(ws_transport, an_upgrade_never_sent_is_cut)
{
    struct mx_daemon *d = mx_boot(echo_config());
    int port = mx_port(d, "ws");
    int a = mx_connect(port), b = mx_connect(port);
    MX_REQUIRE(mx_send_all(b, LIT("GET / HTTP/1.1\r\nHost:")) == 0);
    MX_REQUIRE(mx_wait_closed(a, T, NULL) != MX_OPEN, "silent client not cut");
    MX_REQUIRE(mx_wait_closed(b, T, NULL) != MX_OPEN, "half a head not cut");
    close(a);
    close(b);
    for (int64_t until = mx_now_ms() + T;
         daemon_log_count(d, "no upgrade request within handshake_timeout") < 2; mx_sleep_ms(20))
        MX_REQUIRE(mx_now_ms() < until, "the cuts were not logged");
    mx_stop_ok(d, T);
}

/* Register over WebSocket and read lines until cmd: the line, or NULL. */
static bool ws_expect(int fd, const char *needle, char *line, size_t cap)
{
    size_t len;
    for (int op; (op = ws_recv(fd, line, cap, &len)) >= 0;)
        if (op == 1 && strstr(line, needle))
            return true;
    return false;
}

/* Behind a proxy: the header, then the upgrade, in one packet; chat sees
 * the carried address. A TCP member of the shared network hears the
 * WebSocket member and the other way round; QUIT ends with a close frame. */
Test(ws_transport, proxy_header_then_upgrade_and_a_shared_network)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener irc]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                  "[listener web]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                  "transport = websocket\nshare_with = irc\n"
                                  "proxy_protocol = v1\nproxy_from = 127.0.0.1\n");
    int port = mx_port(d, "web");
    char status[128], line[2048];
    int fd = ws_open(port, "PROXY TCP4 203.0.113.7 127.0.0.1 4000 80\r\n", "", status,
                     sizeof status);
    MX_REQUIRE(fd >= 0, "%s", status);
    ws_send(fd, 1, LIT("NICK webby"));
    ws_send(fd, 1, LIT("USER w 0 * :Web"));
    MX_REQUIRE(ws_expect(fd, " 001 webby ", line, sizeof line));
    MX_REQUIRE(strstr(line, "webby!w@203.0.113.7"), "%s", line);
    ws_send(fd, 1, LIT("JOIN #x"));
    MX_REQUIRE(ws_expect(fd, ":webby!w@203.0.113.7 JOIN :#x", line, sizeof line));
    struct irc t;
    MX_REQUIRE(irc_login(&t, mx_port(d, "irc"), "tcpy", T) == 0);
    MX_REQUIRE(irc_join(&t, "#x", NULL, T) == 0);
    MX_REQUIRE(ws_expect(fd, ":tcpy!", line, sizeof line));
    ws_send(fd, 1, LIT("PRIVMSG #x :from the browser"));
    MX_REQUIRE(irc_expect(&t, "PRIVMSG", "from the browser", T));
    MX_REQUIRE(irc_send(&t, "PRIVMSG #x :from irc") == 0);
    MX_REQUIRE(ws_expect(fd, "PRIVMSG #x :from irc", line, sizeof line));
    ws_send(fd, 1, LIT("QUIT :bye"));
    MX_REQUIRE(irc_expect(&t, "QUIT", "bye", T));
    size_t len;
    int op;
    while ((op = ws_recv(fd, line, sizeof line, &len)) == 1)
        ;
    MX_REQUIRE(op == 8 && len >= 2, "no close frame after QUIT (op %d)", op);
    close(fd);
    irc_close(&t);
    mx_stop_ok(d, T);
}
