/* client.c - blocking loopback clients and verifiable byte streams. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t mx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mx_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = { seconds, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int connect_to(int family, int port, const struct mx_sockopts *o)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
        if (o->dst && inet_pton(AF_INET, o->dst, &a->sin_addr) != 1)
            return -EINVAL;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Before connect(): the SYN fixes the window scale and the MSS. */
    if (o->rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf);
    if (o->sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof o->sndbuf);
    if (o->mss > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &o->mss, sizeof o->mss);
    if (o->src && family == AF_INET) {
        struct sockaddr_in src = { .sin_family = AF_INET };
        if (inet_pton(AF_INET, o->src, &src.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            int e = errno ? -errno : -EINVAL;
            close(fd);
            return e;
        }
    }
    set_timeouts(fd, 10);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static const struct mx_sockopts defaults;

int mx_connect(int port) { return connect_to(AF_INET, port, &defaults); }
int mx_connect6(int port) { return connect_to(AF_INET6, port, &defaults); }

int mx_connect_opts(int port, const struct mx_sockopts *o)
{
    return connect_to(AF_INET, port, o);
}

int mx_connect_bufs(int port, int rcvbuf, int sndbuf)
{
    return mx_connect_opts(port, &(struct mx_sockopts){ .rcvbuf = rcvbuf,
                                                        .sndbuf = sndbuf });
}

int mx_set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

void mx_close_rst(int fd)
{
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

int mx_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 readable, 0 timed out, -errno. */
static int wait_readable(int fd, int64_t until)
{
    for (;;) {
        int64_t left = until - mx_now_ms();
        if (left < 0)
            left = 0;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -errno : r;
    }
}

ssize_t mx_recv_exact(int fd, void *p, size_t n, int timeout_ms)
{
    int64_t until = mx_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < n) {
        int w = wait_readable(fd, until);
        if (w <= 0)
            return w == 0 ? -ETIMEDOUT : w;
        ssize_t r = recv(fd, (char *)p + got, n - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return (ssize_t)got;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

enum mx_close_kind mx_wait_closed(int fd, int timeout_ms, size_t *extra)
{
    int64_t until = mx_now_ms() + timeout_ms;
    char buf[65536];
    size_t count = 0;
    enum mx_close_kind kind = MX_OPEN;
    while (kind == MX_OPEN) {
        if (wait_readable(fd, until) <= 0)
            break;
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            count += (size_t)r;
        else if (r == 0)
            kind = MX_EOF;
        else if (errno != EINTR && errno != EAGAIN)
            kind = MX_RESET;
    }
    if (extra)
        *extra = count;
    return kind;
}

bool mx_readable_within(int fd, int timeout_ms)
{
    return wait_readable(fd, mx_now_ms() + timeout_ms) > 0;
}

int mx_echo_roundtrip(int fd, const void *msg, size_t n, int timeout_ms)
{
    char buf[4096];
    if (n > sizeof buf || mx_send_all(fd, msg, n) < 0)
        return -1;
    if (mx_recv_exact(fd, buf, n, timeout_ms) != (ssize_t)n)
        return -1;
    return memcmp(buf, msg, n) == 0 ? 0 : -1;
}

bool mx_wait_not_accepting(int port, int timeout_ms)
{
    int64_t until = mx_now_ms() + timeout_ms;
    do {
        int fd = mx_connect(port);
        if (fd == -ECONNREFUSED)
            return true;
        if (fd >= 0) {
            /* Still served if it stays open: the daemon has not taken the
             * signal yet, try again. */
            enum mx_close_kind k = mx_wait_closed(fd, 500, NULL);
            close(fd);
            if (k != MX_OPEN)
                return true;
        }
        mx_sleep_ms(50);
    } while (mx_now_ms() < until);
    return false;
}

/* splitmix64 finaliser: cheap, and neighbouring offsets look unrelated,
 * so a shifted or duplicated run of bytes cannot match by accident. */
uint8_t mx_pattern_byte(uint32_t seed, uint64_t i)
{
    uint64_t x = i * 0x9E3779B97F4A7C15ull + ((uint64_t)seed + 1) * 0xD1B54A32D192ED03ull;
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return (uint8_t)x;
}

void mx_pattern_fill(uint8_t *p, size_t n, uint32_t seed, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        p[i] = mx_pattern_byte(seed, off + i);
}

int64_t mx_pattern_check(const uint8_t *p, size_t n, uint32_t seed, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != mx_pattern_byte(seed, off + i))
            return (int64_t)i;
    return -1;
}

int mx_flood(int fd, uint64_t cap, int timeout_ms, uint64_t *sent)
{
    uint8_t buf[65536];
    int64_t until = mx_now_ms() + timeout_ms;
    *sent = 0;
    mx_set_nonblock(fd, true);
    while (*sent < cap && mx_now_ms() < until) {
        mx_pattern_fill(buf, sizeof buf, 3, *sent);
        ssize_t w = send(fd, buf, sizeof buf, MSG_NOSIGNAL);
        if (w > 0) {
            *sent += (uint64_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, 50);
        } else {
            return errno;
        }
    }
    return 0;
}

int mx_send_pattern(int fd, uint32_t seed, uint64_t n, volatile uint64_t *sent)
{
    uint8_t buf[65536];
    uint64_t off = 0;
    while (off < n) {
        size_t chunk = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
        mx_pattern_fill(buf, chunk, seed, off);
        int rc = mx_send_all(fd, buf, chunk);
        if (rc < 0)
            return rc;
        off += chunk;
        if (sent)
            *sent = off;
    }
    return 0;
}

static void *writer_run(void *arg)
{
    struct mx_writer *w = arg;
    w->rc = mx_send_pattern(w->fd, w->seed, w->size, &w->sent);
    return NULL;
}

int mx_writer_start(struct mx_writer *w)
{
    w->sent = 0;
    w->rc = 0;
    return -pthread_create(&w->thread, NULL, writer_run, w);
}

int mx_writer_join(struct mx_writer *w)
{
    pthread_join(w->thread, NULL);
    return w->rc;
}

int mx_recv_pattern(int fd, uint32_t seed, uint64_t n, int timeout_ms,
                    char *err, size_t errlen)
{
    uint8_t buf[65536];
    uint64_t off = 0;
    int64_t until = mx_now_ms() + timeout_ms;
    while (off < n) {
        size_t want = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
        int64_t left = until - mx_now_ms();
        ssize_t r = mx_recv_exact(fd, buf, want, left > 0 ? (int)left : 0);
        if (r < 0 || (size_t)r < want) {
            snprintf(err, errlen, "after %llu of %llu bytes: %s",
                     (unsigned long long)(off + (r > 0 ? (uint64_t)r : 0)),
                     (unsigned long long)n,
                     r < 0 ? strerror((int)-r) : "EOF");
            return -1;
        }
        int64_t bad = mx_pattern_check(buf, want, seed, off);
        if (bad >= 0) {
            snprintf(err, errlen, "wrong byte at offset %llu of %llu",
                     (unsigned long long)(off + (uint64_t)bad), (unsigned long long)n);
            return -1;
        }
        off += want;
    }
    return 0;
}

long mx_metric_sum(int admin, const char *name)
{
    int fd = mx_connect(admin);
    MX_REQUIRE(fd >= 0);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
    MX_REQUIRE(mx_send_all(fd, req, sizeof req - 1) == 0);
    static _Thread_local char resp[1 << 18];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof resp - 1 && (n = recv(fd, resp + len, sizeof resp - 1 - len, 0)) > 0)
        len += (size_t)n;
    resp[len] = '\0';
    close(fd);
    long sum = 0;
    size_t nl = strlen(name);
    char *save = NULL;
    for (char *p = strtok_r(resp, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
        if (strncmp(p, name, nl) == 0 && (p[nl] == '{' || p[nl] == ' '))
            sum += strtol(strrchr(p, ' ') + 1, NULL, 10);
    return sum;
}
