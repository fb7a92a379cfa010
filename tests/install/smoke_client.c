/* smoke_client.c - talks to one example server on 127.0.0.1:PORT and checks
 * its answers. Used by smoke.sh (in-tree examples and the installed-library
 * build of tests/install/test_install.sh); python3 is not assumed.
 *
 *   smoke_client NAME PORT     exit 0 = pass, 1 = fail (reason on stderr)
 *
 * NAME broadcast: two clients; a line from one reaches the other and back.
 * NAME lookup: TIME, RESOLVE, an unknown command and QUIT, pipelined in one
 * write, answered in order, then the server closes.
 * Any other NAME: connect and disconnect. Every wait is bounded (5 s).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 5000

struct peer {
    int fd;
    char buf[4096];
    size_t len;
    int eof;
};

_Noreturn static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "smoke_client: FAIL: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void dial(struct peer *p, int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *p = (struct peer){ .fd = socket(AF_INET, SOCK_STREAM, 0) };
    if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        fail("connect", strerror(errno));
}

static void say(struct peer *p, const char *s)
{
    size_t n = strlen(s);
    if (send(p->fd, s, n, MSG_NOSIGNAL) != (ssize_t)n)
        fail("send", strerror(errno));
}

/* Next line (without '\n') into out; 0 at EOF, fails after WAIT_MS. */
static int next_line(struct peer *p, char *out, size_t cap)
{
    long deadline = now_ms() + WAIT_MS;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            size_t k = (size_t)(nl - p->buf);
            if (k >= cap)
                fail("line too long", NULL);
            memcpy(out, p->buf, k);
            out[k] = '\0';
            memmove(p->buf, nl + 1, p->len - k - 1);
            p->len -= k + 1;
            return 1;
        }
        if (p->eof)
            return 0;
        long left = deadline - now_ms();
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            fail("timed out waiting for a line", NULL);
        ssize_t r = recv(p->fd, p->buf + p->len, sizeof p->buf - p->len, 0);
        if (r < 0)
            fail("recv", strerror(errno));
        p->eof = r == 0;
        p->len += (size_t)r;
    }
}

static void expect(struct peer *p, const char *want)
{
    char line[1024];
    if (!next_line(p, line, sizeof line))
        fail("unexpected EOF, wanted", want);
    if (strcmp(line, want) != 0) {
        fprintf(stderr, "smoke_client: got '%s'\n", line);
        fail("unexpected line, wanted", want);
    }
}

/* Reads lines (others' chat may come first) until want; fails on EOF. */
static void wait_for(struct peer *p, const char *want)
{
    char line[1024];
    while (next_line(p, line, sizeof line))
        if (strcmp(line, want) == 0)
            return;
    fail("EOF before", want);
}

static void expect_time(struct peer *p)
{
    char t[64];
    if (!next_line(p, t, sizeof t) || strlen(t) != 20 || t[4] != '-' || t[10] != 'T' || t[19] != 'Z')
        fail("TIME: not a time like 2024-01-02T03:04:05Z", t);
}

static void broadcast(int port)
{
    struct peer a, b;
    dial(&a, port);
    dial(&b, port);
    /* Hearing its own line back proves a client is registered. */
    say(&a, "ready A\n");
    wait_for(&a, "ready A");
    say(&b, "ready B\n");
    wait_for(&b, "ready B");
    say(&a, "hello from A\n");
    wait_for(&b, "hello from A");
    say(&b, "hello from B\n");
    wait_for(&a, "hello from B");
    close(a.fd);
    close(b.fd);
}

static void lookup(int port)
{
    struct peer p;
    dial(&p, port);
    say(&p, "TIME\nRESOLVE 127.0.0.1\nNOPE\nTIME\nQUIT\nTIME\n");
    expect_time(&p);
    expect(&p, "OK 127.0.0.1");
    expect(&p, "ERR unknown command");
    expect_time(&p);
    expect(&p, "BYE");
    char rest[256] = "";
    if (next_line(&p, rest, sizeof rest) || p.len != 0)
        fail("data after BYE (the connection should close)", rest);
    close(p.fd);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: smoke_client NAME PORT\n");
        return 2;
    }
    int port = atoi(argv[2]);
    if (port <= 0 || port > 65535)
        fail("bad port", argv[2]);
    if (strcmp(argv[1], "broadcast") == 0) {
        broadcast(port);
    } else if (strcmp(argv[1], "lookup") == 0) {
        lookup(port);
    } else {
        struct peer p;
        dial(&p, port);
        close(p.fd);
    }
    printf("smoke_client: %s ok\n", argv[1]);
    return 0;
}
