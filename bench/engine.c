/* engine.c - the per-thread load loop (see engine.h). */
#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pattern.h"
#include "timing.h"

#define RXBUF_SIZE (256u * 1024u)
#define MAX_EVENTS 512

atomic_bool g_abort;

int fail_msg(char err[ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERR_LEN, fmt, ap);
    va_end(ap);
    atomic_store(&g_abort, true);
    return -1;
}

static void issue(struct worker *w, struct conn *c, uint64_t now)
{
    if (c->budget == 0 || now >= w->run->t_stop)
        return;
    if (c->budget != UNLIMITED) {
        c->budget--;
        w->to_issue--;
    }
    c->t_issue[c->issued % w->run->depth] = now;
    c->issued++;
    w->pending++;
}

/* Sends what the issued messages still owe. A short send means the socket
 * buffer is full; the edge-triggered EPOLLOUT says when to go on. */
static int pump_out(struct worker *w, struct conn *c)
{
    uint64_t owed = c->issued * w->run->size;
    size_t most = pat_len();
    while (c->tx < owed) {
        uint64_t left = owed - c->tx;
        size_t len = left < most ? (size_t)left : most;
        ssize_t r = send(c->fd, pat_at(c->base + c->tx), len, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return fail_msg(w->err, "connection %u: send: %s", c->id, strerror(errno));
        }
        c->tx += (uint64_t)r;
        if ((size_t)r < len)
            return 0;
    }
    return 0;
}

static int mismatch(struct worker *w, const struct conn *c, const unsigned char *got,
                    const unsigned char *want, uint64_t off)
{
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    uint64_t at = off + i;
    return fail_msg(w->err, "connection %u: echoed byte %llu (message %llu, byte %llu) is "
                    "0x%02x, expected 0x%02x", c->id, (unsigned long long)at,
                    (unsigned long long)(at / w->run->size),
                    (unsigned long long)(at % w->run->size), got[i], want[i]);
}

static int check_bytes(struct worker *w, const struct conn *c, const unsigned char *p, size_t n)
{
    uint64_t off = c->rx;
    size_t most = pat_len();
    while (n > 0) {
        size_t k = n < most ? n : most;
        const unsigned char *want = pat_at(c->base + off);
        if (memcmp(p, want, k) != 0)
            return mismatch(w, c, p, want, off);
        p += k;
        off += k;
        n -= k;
    }
    return 0;
}

static void complete(struct worker *w, struct conn *c, uint64_t now)
{
    const struct run *r = w->run;
    uint64_t sent_at = c->t_issue[c->done % r->depth];
    c->done++;
    w->pending--;
    if (now >= r->t_start && now < r->t_end) {
        hist_record(&w->hist, now - sent_at);
        w->msgs++;
    }
    issue(w, c, now); /* closed loop: one in, one out */
}

/* n echoed bytes arrived at time now: check them, complete the messages
 * they finish, and send the messages that replace them. */
static int absorb(struct worker *w, struct conn *c, size_t n, uint64_t now)
{
    if (c->rx + n > c->tx)
        return fail_msg(w->err, "connection %u: %llu bytes echoed but only %llu sent", c->id,
                        (unsigned long long)(c->rx + n), (unsigned long long)c->tx);
    if (check_bytes(w, c, w->rxbuf, n) < 0)
        return -1;
    c->rx += n;
    uint64_t whole = c->rx / w->run->size;
    while (c->done < whole)
        complete(w, c, now);
    return pump_out(w, c);
}

/* Reads until the socket is drained. A read shorter than the buffer
 * drained it: edge-triggered epoll reports any later arrival afresh. */
static int pump_in(struct worker *w, struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, w->rxbuf, RXBUF_SIZE, 0);
        if (r > 0) {
            if (absorb(w, c, (size_t)r, now_ns()) < 0)
                return -1;
            if ((size_t)r < RXBUF_SIZE)
                return 0;
        } else if (r == 0) {
            return fail_msg(w->err, "connection %u: closed by the server with %llu of %llu "
                            "bytes echoed", c->id, (unsigned long long)c->rx,
                            (unsigned long long)c->tx);
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            return fail_msg(w->err, "connection %u: recv: %s (after %llu of %llu bytes echoed)",
                            c->id, strerror(errno), (unsigned long long)c->rx,
                            (unsigned long long)c->tx);
        }
    }
}

static int on_event(struct worker *w, struct conn *c, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && pump_in(w, c) < 0)
        return -1;
    if (ev & EPOLLERR) {
        int err = conn_error(c->fd);
        if (err < 0)
            return fail_msg(w->err, "connection %u: %s", c->id, strerror(-err));
    }
    return (ev & EPOLLOUT) ? pump_out(w, c) : 0;
}

static bool worker_done(const struct worker *w, uint64_t now)
{
    bool may_issue = now < w->run->t_stop && (w->run->budget == UNLIMITED || w->to_issue > 0);
    return w->pending == 0 && !may_issue;
}

/* How long epoll may sleep: until the next time something changes. */
static int wait_ms(const struct worker *w, uint64_t now)
{
    const struct run *r = w->run;
    uint64_t next = r->t_give_up;
    if (now < r->t_stop && r->t_stop < next)
        next = r->t_stop;
    uint64_t ms = next > now ? (next - now) / NS_PER_MS + 1 : 0;
    return ms > 100 ? 100 : (int)ms;
}

static int worker_start(struct worker *w)
{
    uint64_t now = now_ns();
    for (unsigned i = 0; i < w->n; i++) {
        struct conn *c = &w->cs[i];
        for (unsigned k = 0; k < w->run->depth; k++)
            issue(w, c, now);
        if (pump_out(w, c) < 0)
            return -1;
    }
    return 0;
}

static int worker_loop(struct worker *w)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t now = now_ns();
    while (!worker_done(w, now)) {
        if (atomic_load_explicit(&g_abort, memory_order_relaxed))
            return -1;
        if (now >= w->run->t_give_up)
            return fail_msg(w->err, "%llu echoes still owed %.1f s after the last message was "
                            "sent", (unsigned long long)w->pending,
                            (double)(w->run->t_give_up - w->run->t_stop) / NS_PER_S);
        int n = epoll_wait(w->ep, evs, MAX_EVENTS, wait_ms(w, now));
        if (n < 0 && errno != EINTR)
            return fail_msg(w->err, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            if (on_event(w, &w->cs[evs[i].data.u32], evs[i].events) < 0)
                return -1;
        now = now_ns();
    }
    return 0;
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (worker_start(w) == 0)
        worker_loop(w);
    return NULL;
}

/* Edge-triggered, both directions, registered once: no epoll_ctl on the
 * hot path, which matters because this client shares one core with
 * everything it measures against. */
int worker_init(struct worker *w, const struct run *r, struct conn *cs, unsigned n)
{
    *w = (struct worker){ .run = r, .cs = cs, .n = n, .ep = -1 };
    if (hist_init(&w->hist) < 0)
        return fail_msg(w->err, "out of memory setting up a thread");
    if (r->budget != UNLIMITED)
        w->to_issue = r->budget * n;
    for (unsigned i = 0; i < n; i++)
        cs[i].budget = r->budget;
    w->rxbuf = malloc(RXBUF_SIZE);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w->rxbuf || w->ep < 0)
        return fail_msg(w->err, "setting up a thread: %s", strerror(w->rxbuf ? errno : ENOMEM));
    for (unsigned i = 0; i < n; i++) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = i };
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            return fail_msg(w->err, "epoll_ctl: %s", strerror(errno));
    }
    return 0;
}

void worker_fini(struct worker *w)
{
    if (w->ep >= 0)
        close(w->ep);
    free(w->rxbuf);
    hist_free(&w->hist);
}
