/* load.c - many non-blocking echo clients on a few epoll loops.
 *
 * Client k sends one byte stream (pattern seed k), cut into messages of
 * deterministic sizes, and keeps at most `pipeline` messages unanswered.
 * Every echoed byte is checked against the stream.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum lstate { L_CONNECTING, L_RUNNING, L_DONE, L_FAILED };

struct lclient {
    int fd;
    uint32_t seed;
    enum lstate state;
    uint32_t events;           /* current epoll interest */
    uint64_t *ends;            /* ends[m] = stream offset after message m */
    int acked;                 /* messages fully echoed */
    uint64_t sent, rcvd;
};

struct lslice {
    const struct mx_load_opts *o;
    struct lclient *c;
    int n;
    int64_t deadline;
    struct mx_load_result r;
    pthread_t thread;
    bool threaded;
};

static void fail(struct lslice *s, struct lclient *c, const char *fmt, ...)
{
    if (!s->r.first_error[0]) {
        int w = snprintf(s->r.first_error, sizeof s->r.first_error,
                         "client %u: ", c->seed);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->r.first_error + w, sizeof s->r.first_error - (size_t)w, fmt, ap);
        va_end(ap);
    }
    c->state = L_FAILED;
    s->r.failed++;
    close(c->fd);
    c->fd = -1;
}

static void plan(const struct mx_load_opts *o, struct lclient *c)
{
    uint64_t off = 0;
    size_t span = o->max_msg - o->min_msg + 1;
    for (int m = 0; m < o->messages; m++) {
        /* Any deterministic mix will do; reuse the stream hash. */
        uint32_t h = (uint32_t)mx_pattern_byte(c->seed, (uint64_t)m << 40) << 8 |
                     mx_pattern_byte(c->seed ^ 0x5555u, (uint64_t)m);
        off += o->min_msg + h % span;
        c->ends[m] = off;
    }
}

static uint64_t send_limit(const struct mx_load_opts *o, const struct lclient *c)
{
    int last = c->acked + o->pipeline;
    if (last > o->messages)
        last = o->messages;
    return c->ends[last - 1];
}

static void start_connect(struct lslice *s, int ep, struct lclient *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(s, c, "socket: %s", strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s->o->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        fail(s, c, "connect: %s", strerror(errno));
        return;
    }
    c->state = L_CONNECTING;
    c->events = EPOLLOUT;
    struct epoll_event ev = { .events = c->events, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        fail(s, c, "epoll_ctl: %s", strerror(errno));
}

static void do_send(struct lslice *s, struct lclient *c)
{
    uint8_t buf[16384];
    uint64_t limit = send_limit(s->o, c);
    while (c->sent < limit) {
        size_t n = limit - c->sent < sizeof buf ? (size_t)(limit - c->sent) : sizeof buf;
        mx_pattern_fill(buf, n, c->seed, c->sent);
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0) {
            fail(s, c, "send after %llu bytes: %s",
                 (unsigned long long)c->sent, strerror(errno));
            return;
        }
        c->sent += (uint64_t)w;
    }
}

static void got_bytes(struct lslice *s, struct lclient *c, const uint8_t *p, size_t n)
{
    int64_t bad = mx_pattern_check(p, n, c->seed, c->rcvd);
    if (bad >= 0) {
        fail(s, c, "wrong echo byte at stream offset %llu",
             (unsigned long long)(c->rcvd + (uint64_t)bad));
        return;
    }
    c->rcvd += n;
    s->r.bytes += n;
    while (c->acked < s->o->messages && c->ends[c->acked] <= c->rcvd)
        c->acked++;
}

static void do_recv(struct lslice *s, struct lclient *c)
{
    uint8_t buf[16384];
    uint64_t total = c->ends[s->o->messages - 1];
    while (c->state == L_RUNNING && c->rcvd < total) {
        /* Never read past the stream: extra bytes would go unchecked. */
        size_t want = total - c->rcvd < sizeof buf ? (size_t)(total - c->rcvd) : sizeof buf;
        ssize_t r = recv(c->fd, buf, want, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            fail(s, c, "%s after %llu of %llu echo bytes",
                 r == 0 ? "EOF" : strerror(errno),
                 (unsigned long long)c->rcvd, (unsigned long long)total);
            return;
        }
        got_bytes(s, c, buf, (size_t)r);
    }
}

static void finish_connect(struct lslice *s, struct lclient *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
        fail(s, c, "connect: %s", strerror(err));
    else
        c->state = L_RUNNING;
}

static void update_interest(struct lslice *s, int ep, struct lclient *c)
{
    if (c->state == L_RUNNING && c->rcvd == c->ends[s->o->messages - 1]) {
        c->state = L_DONE;
        s->r.done++;
        close(c->fd);
        c->fd = -1;
        return;
    }
    if (c->state != L_RUNNING)
        return;
    uint32_t want = EPOLLIN | (c->sent < send_limit(s->o, c) ? EPOLLOUT : 0);
    if (want == c->events)
        return;
    c->events = want;
    struct epoll_event ev = { .events = want, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        fail(s, c, "epoll_ctl: %s", strerror(errno));
}

static void on_event(struct lslice *s, int ep, struct lclient *c, uint32_t ev)
{
    if (c->state == L_CONNECTING)
        finish_connect(s, c);
    if (c->state == L_RUNNING && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        do_recv(s, c);
    if (c->state == L_RUNNING)
        do_send(s, c);
    update_interest(s, ep, c);
}

static int active(const struct lslice *s)
{
    return s->n - s->r.done - s->r.failed;
}

static void *slice_run(void *arg)
{
    struct lslice *s = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        snprintf(s->r.first_error, sizeof s->r.first_error, "epoll_create1: %s",
                 strerror(errno));
        s->r.failed = s->n;
        return NULL;
    }
    for (int i = 0; i < s->n; i++)
        start_connect(s, ep, &s->c[i]);
    struct epoll_event evs[256];
    while (active(s) > 0) {
        int64_t left = s->deadline - mx_now_ms();
        if (left <= 0)
            break;
        int n = epoll_wait(ep, evs, 256, left < 100 ? (int)left : 100);
        for (int i = 0; i < n; i++)
            on_event(s, ep, evs[i].data.ptr, evs[i].events);
    }
    s->r.unfinished = active(s);
    for (int i = 0; i < s->n; i++)
        if (s->c[i].fd >= 0)
            close(s->c[i].fd);
    close(ep);
    return NULL;
}

static void merge(struct mx_load_result *r, const struct lslice *s)
{
    r->done += s->r.done;
    r->failed += s->r.failed;
    r->unfinished += s->r.unfinished;
    r->bytes += s->r.bytes;
    if (!r->first_error[0] && s->r.first_error[0])
        memcpy(r->first_error, s->r.first_error, sizeof r->first_error);
}

static int setup(const struct mx_load_opts *o, struct lclient *cs, uint64_t *ends)
{
    if (o->clients <= 0 || o->messages <= 0 || o->pipeline <= 0 ||
        o->min_msg == 0 || o->max_msg < o->min_msg)
        return -1;
    for (int i = 0; i < o->clients; i++) {
        cs[i] = (struct lclient){ .fd = -1, .seed = o->seed_base + (uint32_t)i,
                                  .ends = ends + (size_t)i * (size_t)o->messages };
        plan(o, &cs[i]);
    }
    return 0;
}

int mx_load_run(const struct mx_load_opts *o, struct mx_load_result *r)
{
    memset(r, 0, sizeof *r);
    int nt = o->threads > 0 ? o->threads : 1;
    struct lclient *cs = calloc((size_t)o->clients, sizeof *cs);
    uint64_t *ends = calloc((size_t)o->clients * (size_t)o->messages, sizeof *ends);
    struct lslice *sl = calloc((size_t)nt, sizeof *sl);
    int rc = (cs && ends && sl) ? setup(o, cs, ends) : -1;
    if (rc == 0) {
        int64_t deadline = mx_now_ms() + o->timeout_ms;
        for (int t = 0; t < nt; t++) {
            int lo = o->clients * t / nt, hi = o->clients * (t + 1) / nt;
            sl[t] = (struct lslice){ .o = o, .c = cs + lo, .n = hi - lo,
                                     .deadline = deadline };
            sl[t].threaded = pthread_create(&sl[t].thread, NULL, slice_run, &sl[t]) == 0;
            if (!sl[t].threaded)
                slice_run(&sl[t]);
        }
        for (int t = 0; t < nt; t++) {
            if (sl[t].threaded)
                pthread_join(sl[t].thread, NULL);
            merge(r, &sl[t]);
        }
        rc = r->done == o->clients ? 0 : -1;
    } else {
        snprintf(r->first_error, sizeof r->first_error, "bad options or no memory");
    }
    free(cs);
    free(ends);
    free(sl);
    return rc;
}

int mx_load_run_logged(const struct mx_load_opts *o, struct mx_load_result *r)
{
    int64_t t0 = mx_now_ms();
    int rc = mx_load_run(o, r);
    cr_log_info("load: %d done, %d failed, %d unfinished, %llu bytes verified in %lld ms",
                r->done, r->failed, r->unfinished, (unsigned long long)r->bytes,
                (long long)(mx_now_ms() - t0));
    return rc;
}
