/* bus_conn.c - one Redis connection of the bus thread (bus_conn.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cluster/bus_conn.h"

void bconn_init(struct bus_conn *c, const char *what)
{
    *c = (struct bus_conn){ .what = what, .fd = -1 };
}

static int connect_any(const struct addrinfo *ai, bool *inprogress)
{
    int err = -ECONNREFUSED;
    for (; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        /* Commands are small and each one waits on the last: no Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            *inprogress = errno == EINPROGRESS;
            return fd;
        }
        err = -errno;
        close(fd);
    }
    return err;
}

int bconn_open(struct bus_conn *c, const char *host, unsigned port)
{
    bconn_close(c);
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai;
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc != 0)
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    bool inprogress = false;
    int fd = connect_any(ai, &inprogress);
    freeaddrinfo(ai);
    if (fd < 0)
        return fd;
    c->rd = redisReaderCreate();
    if (!c->rd) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->connecting = inprogress;
    return 0;
}

int bconn_finish(struct bus_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    if (err)
        return -err;
    c->connecting = false;
    return 0;
}

/* The oldest reply owed, taken off the list. */
static struct bus_wait take_wait(struct bus_conn *c)
{
    struct bus_wait w = c->wait[c->head];
    c->head = (c->head + 1) % c->wcap;
    c->due--;
    return w;
}

static int push_wait(struct bus_conn *c, bus_done_fn *fn, void *arg)
{
    if (c->due == c->wcap) {
        size_t cap = c->wcap ? c->wcap * 2 : 64;
        struct bus_wait *w = malloc(cap * sizeof *w);
        if (!w)
            return -ENOMEM;
        for (size_t i = 0; i < c->due; i++)
            w[i] = c->wait[(c->head + i) % c->wcap];
        free(c->wait);
        c->wait = w;
        c->wcap = cap;
        c->head = 0;
    }
    c->wait[(c->head + c->due) % c->wcap] = (struct bus_wait){ fn, arg };
    c->due++;
    return 0;
}

void bconn_close(struct bus_conn *c)
{
    /* Those waiting hear of the loss, in order. */
    while (c->due) {
        struct bus_wait w = take_wait(c);
        if (w.fn)
            w.fn(w.arg, NULL);
    }
    /* An abortive close (RST): what was written and not yet taken must
     * not reach Redis later, retransmitted by the kernel after this node
     * has moved on to a new connection (its hello, its claims again). */
    struct linger now = { .l_onoff = 1, .l_linger = 0 };
    if (c->fd >= 0) {
        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
        close(c->fd);
    }
    if (c->rd)
        redisReaderFree(c->rd);
    c->fd = -1;
    c->rd = NULL;
    c->connecting = false;
    c->off = c->len = 0;
    c->probe_left = c->probe_ms = 0;
}

void bconn_free(struct bus_conn *c)
{
    bconn_close(c);
    free(c->out);
    free(c->wait);
    c->out = NULL;
    c->wait = NULL;
    c->cap = c->wcap = 0;
}

static int reserve(struct bus_conn *c, size_t n)
{
    if (c->off && c->off == c->len)
        c->off = c->len = 0;
    if (c->len + n <= c->cap)
        return 0;
    if (c->off) { /* slide the unwritten part down before growing */
        memmove(c->out, c->out + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
        if (c->len + n <= c->cap)
            return 0;
    }
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < c->len + n)
        cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p)
        return -ENOMEM;
    c->out = p;
    c->cap = cap;
    return 0;
}

static void put(struct bus_conn *c, const void *p, size_t n)
{
    memcpy(c->out + c->len, p, n);
    c->len += n;
}

int bconn_call(struct bus_conn *c, int argc, const char *const *argv, const size_t *lens,
               bus_done_fn *fn, void *arg)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++)
        need += lens[i] + 32;
    if (reserve(c, need) < 0 || push_wait(c, fn, arg) < 0)
        return -ENOMEM;
    char head[32];
    put(c, head, (size_t)snprintf(head, sizeof head, "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        put(c, head, (size_t)snprintf(head, sizeof head, "$%zu\r\n", lens[i]));
        put(c, argv[i], lens[i]);
        put(c, "\r\n", 2);
    }
    return 0;
}

int bconn_probe(struct bus_conn *c, uint64_t now_ms)
{
    if (c->probe_left)
        return 0;
    static const char *const ping[] = { "PING" };
    int rc = bconn_cmd(c, 1, ping, (const size_t[]){ 4 });
    if (rc == 0) {
        c->probe_left = c->due;
        c->probe_ms = now_ms;
    }
    return rc;
}

bool bconn_late(const struct bus_conn *c, uint64_t now_ms, unsigned timeout_ms)
{
    return c->probe_left && now_ms - c->probe_ms >= timeout_ms;
}

bool bconn_wants_write(const struct bus_conn *c)
{
    return c->connecting || bconn_queued(c) > 0;
}

int bconn_flush(struct bus_conn *c)
{
    while (bconn_queued(c)) {
        ssize_t n = send(c->fd, c->out + c->off, bconn_queued(c), MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        c->off += (size_t)n;
    }
    return 0;
}

static int replies(struct bus_conn *c, bus_reply_fn *fn, void *arg)
{
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(c->rd, &r) != REDIS_OK)
            return -EPROTO;
        if (!r)
            return 0;
        if (fn(arg, c, r) && c->due) {
            struct bus_wait w = take_wait(c);
            if (c->probe_left && --c->probe_left == 0)
                c->probe_ms = 0;
            if (w.fn)
                w.fn(w.arg, r);
        }
        freeReplyObject(r);
        if (c->fd < 0)  /* fn closed it */
            return -ECONNABORTED;
    }
}

int bconn_read(struct bus_conn *c, bus_reply_fn *fn, void *arg)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0)
            return -EPIPE;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK)
            return -EPROTO;
        int rc = replies(c, fn, arg);
        if (rc < 0)
            return rc;
        if ((size_t)n < sizeof buf)
            return 0;
    }
}
