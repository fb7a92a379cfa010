/* heavy.c - heavy clients (see heavy.h). */
#include "heavy.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timing.h"

#define MAX_EVENTS 64

static unsigned idx(const struct heavy *h, const struct conn *c)
{
    return (unsigned)(c - h->cs);
}

/* One request at a time per connection: the next goes out when the reply
 * to the last one is complete. */
static void issue(struct heavy *h, struct conn *c, uint64_t now)
{
    if (now >= h->run->t_stop)
        return;
    c->t_issue[0] = now;
    c->issued++;
    h->pending++;
}

static int pump_out(struct heavy *h, struct conn *c)
{
    uint64_t owed = c->issued * h->req_len;
    while (c->tx < owed) {
        size_t at = (size_t)(c->tx % h->req_len);
        ssize_t r = send(c->fd, h->run->heavy_req + at, h->req_len - at, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return fail_msg(h->err, "heavy connection %u: send: %s", idx(h, c), strerror(errno));
        }
        c->tx += (uint64_t)r;
    }
    return 0;
}

/* got[bad] is the first wrong byte: quotes the line it is in (as far as
 * this read holds it), printable bytes only. */
static int mismatch(struct heavy *h, const struct conn *c, const unsigned char *got, size_t n,
                    size_t bad)
{
    size_t from = bad, to = bad;
    while (from > 0 && got[from - 1] != '\n')
        from--;
    while (to < n && got[to] != '\n' && to - from < 60)
        to++;
    char line[64];
    size_t k = 0;
    for (size_t i = from; i < to && k < sizeof line - 1; i++)
        line[k++] = isprint(got[i]) ? (char)got[i] : '?';
    line[k] = '\0';
    return fail_msg(h->err, "heavy connection %u: reply %llu is '%s', expected '%.*s'",
                    idx(h, c), (unsigned long long)(c->done + 1), line,
                    (int)h->reply_len - 1, h->run->heavy_reply);
}

/* n reply bytes arrived at time now: check them against the expected
 * reply, complete the requests they finish and send the next ones. */
static int absorb(struct heavy *h, struct conn *c, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++)
        if (h->rxbuf[i] != (unsigned char)h->run->heavy_reply[(c->rx + i) % h->reply_len])
            return mismatch(h, c, h->rxbuf, n, i);
    if (c->rx + n > c->issued * h->reply_len)
        return fail_msg(h->err, "heavy connection %u: more replies than requests sent",
                        idx(h, c));
    c->rx += n;
    const struct run *r = h->run;
    while (c->done < c->rx / h->reply_len) {
        c->done++;
        h->pending--;
        if (now >= r->t_start && now < r->t_end) {
            hist_record(&h->hist, now - c->t_issue[0]);
            h->reqs++;
        }
        issue(h, c, now);
    }
    return pump_out(h, c);
}

static int pump_in(struct heavy *h, struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, h->rxbuf, sizeof h->rxbuf, 0);
        if (r > 0) {
            if (absorb(h, c, (size_t)r, now_ns()) < 0)
                return -1;
            if ((size_t)r < sizeof h->rxbuf)
                return 0;
        } else if (r == 0) {
            return fail_msg(h->err, "heavy connection %u: closed by the server after %llu "
                            "replies", idx(h, c), (unsigned long long)c->done);
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            return fail_msg(h->err, "heavy connection %u: recv: %s", idx(h, c),
                            strerror(errno));
        }
    }
}

static int on_event(struct heavy *h, struct conn *c, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && pump_in(h, c) < 0)
        return -1;
    if (ev & EPOLLERR) {
        int err = conn_error(c->fd);
        if (err < 0)
            return fail_msg(h->err, "heavy connection %u: %s", idx(h, c), strerror(-err));
    }
    return (ev & EPOLLOUT) ? pump_out(h, c) : 0;
}

/* Sleeps at most 100 ms at a time, to see g_abort and the stop time. */
static int wait_ms(const struct heavy *h, uint64_t now)
{
    const struct run *r = h->run;
    uint64_t next = now < r->t_stop ? r->t_stop : r->t_give_up;
    uint64_t ms = next > now ? (next - now) / NS_PER_MS + 1 : 0;
    return ms > 100 ? 100 : (int)ms;
}

static int heavy_loop(struct heavy *h)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t now = now_ns();
    while (h->pending > 0 || now < h->run->t_stop) {
        if (atomic_load_explicit(&g_abort, memory_order_relaxed))
            return -1;
        if (now >= h->run->t_give_up)
            return fail_msg(h->err, "%llu heavy replies still owed %.1f s after the last "
                            "request was sent", (unsigned long long)h->pending,
                            (double)(h->run->t_give_up - h->run->t_stop) / NS_PER_S);
        int k = epoll_wait(h->ep, evs, MAX_EVENTS, wait_ms(h, now));
        if (k < 0 && errno != EINTR)
            return fail_msg(h->err, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < k; i++)
            if (on_event(h, &h->cs[evs[i].data.u32], evs[i].events) < 0)
                return -1;
        now = now_ns();
    }
    return 0;
}

void *heavy_main(void *arg)
{
    struct heavy *h = arg;
    uint64_t now = now_ns();
    for (unsigned i = 0; i < h->n; i++) {
        issue(h, &h->cs[i], now);
        if (pump_out(h, &h->cs[i]) < 0)
            return NULL;
    }
    heavy_loop(h);
    return NULL;
}

int heavy_init(struct heavy *h, const struct run *r, struct conn *cs, unsigned n)
{
    memset(h, 0, sizeof *h);
    h->run = r;
    h->cs = cs;
    h->n = n;
    h->ep = -1;
    h->req_len = strlen(r->heavy_req);
    h->reply_len = strlen(r->heavy_reply);
    if (hist_init(&h->hist) < 0)
        return fail_msg(h->err, "out of memory setting up the heavy clients");
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    if (h->ep < 0)
        return fail_msg(h->err, "setting up the heavy clients: %s", strerror(errno));
    for (unsigned i = 0; i < n; i++) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = i };
        if (epoll_ctl(h->ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            return fail_msg(h->err, "epoll_ctl: %s", strerror(errno));
    }
    return 0;
}

void heavy_fini(struct heavy *h)
{
    if (h->ep >= 0)
        close(h->ep);
    hist_free(&h->hist);
}
