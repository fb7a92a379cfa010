/* echo.c - the echo engine: send, verify, time (see echo.h). */
#include "echo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "clock.h"
#include "heavy.h"
#include "pattern.h"

int ld_echo_alloc(struct ld_thread *th, unsigned qcap)
{
    size_t total = 0;
    for (unsigned i = 0; i < th->n; i++)
        total += th->cs[i].heavy ? 1 : qcap;
    uint64_t *times = calloc(total ? total : 1, sizeof *times);
    if (!times)
        return ld_fail(th, LD_ERROR, "out of memory for %zu issue times", total);
    th->mode = times; /* freed by ld_echo_free */
    for (unsigned i = 0; i < th->n; i++) {
        struct ld_conn *c = &th->cs[i];
        c->qcap = c->heavy ? 1 : qcap;
        c->t_issue = times;
        times += c->qcap;
    }
    return 0;
}

void ld_echo_free(struct ld_thread *th)
{
    free(th->mode);
    th->mode = NULL;
}

void ld_echo_issue(struct ld_thread *th, struct ld_conn *c, uint64_t t)
{
    c->t_issue[c->issued % c->qcap] = t;
    c->issued++;
    th->pending++;
}

/* A short send means the socket buffer is full; the edge-triggered
 * EPOLLOUT says when to go on. */
int ld_echo_pump_out(struct ld_thread *th, struct ld_conn *c)
{
    uint64_t owed = c->issued * th->o->size;
    size_t most = ld_pat_len();
    while (c->tx < owed) {
        uint64_t left = owed - c->tx;
        size_t len = left < most ? (size_t)left : most;
        ssize_t r = send(c->fd, ld_pat_at(c->base + c->tx), len, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return ld_fail(th, LD_ERROR, "connection %u: send: %s", c->id, strerror(errno));
        }
        c->tx += (uint64_t)r;
        if ((size_t)r < len)
            return 0;
    }
    return 0;
}

static int mismatch(struct ld_thread *th, const struct ld_conn *c, const unsigned char *got,
                    const unsigned char *want, uint64_t off)
{
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    uint64_t at = off + i;
    size_t size = th->o->size;
    return ld_fail(th, LD_VERIFY, "connection %u: echoed byte %llu (message %llu, byte %llu) "
                   "is 0x%02x, expected 0x%02x", c->id, (unsigned long long)at,
                   (unsigned long long)(at / size), (unsigned long long)(at % size), got[i],
                   want[i]);
}

static int check_bytes(struct ld_thread *th, const struct ld_conn *c, const unsigned char *p,
                       size_t n)
{
    uint64_t off = c->rx;
    size_t most = ld_pat_len();
    while (n > 0) {
        size_t k = n < most ? n : most;
        const unsigned char *want = ld_pat_at(c->base + off);
        if (memcmp(p, want, k) != 0)
            return mismatch(th, c, p, want, off);
        p += k;
        off += k;
        n -= k;
    }
    return 0;
}

/* Closed loop: counted when it completes inside the window. Open loop:
 * when it was meant to be sent inside it, so a stall at the end of the
 * window still shows. Idle: every round trip. */
static bool counted(const struct ld_thread *th, uint64_t t_issue, uint64_t now)
{
    if (th->o->mode == LD_IDLE)
        return true;
    uint64_t t = th->rate > 0 ? t_issue : now;
    return t >= th->tm.start && t < th->tm.end;
}

static void complete(struct ld_thread *th, struct ld_conn *c, uint64_t now)
{
    uint64_t t = c->t_issue[c->done % c->qcap];
    c->done++;
    th->pending--;
    th->progress++;
    if (counted(th, t, now)) {
        ld_hist_record(&th->res->lat, now - t);
        th->res->messages++;
        th->res->bytes += th->o->size;
    }
    /* Closed loop: one in, one out. */
    if (th->rate == 0 && th->o->mode != LD_IDLE && now < th->tm.stop)
        ld_echo_issue(th, c, now);
}

/* n echoed bytes arrived at time now: check them, complete the messages
 * they finish, and send the messages that replace them. */
static int absorb(struct ld_thread *th, struct ld_conn *c, size_t n, uint64_t now)
{
    if (c->rx + n > c->tx)
        return ld_fail(th, LD_VERIFY, "connection %u: %llu bytes came back but only %llu were "
                       "sent", c->id, (unsigned long long)(c->rx + n), (unsigned long long)c->tx);
    if (check_bytes(th, c, th->rxbuf, n) < 0)
        return -1;
    c->rx += n;
    uint64_t whole = c->rx / th->o->size;
    while (c->done < whole)
        complete(th, c, now);
    return ld_echo_pump_out(th, c);
}

static int absorb_read(struct ld_thread *th, struct ld_conn *c, const char *p, size_t n)
{
    (void)p; /* th->rxbuf, which check_bytes reads */
    return absorb(th, c, n, ld_now_ns());
}

static int pump_in(struct ld_thread *th, struct ld_conn *c)
{
    int rc = ld_conn_drain(th, c, absorb_read);
    if (rc == 1)
        return ld_fail(th, LD_ERROR, "connection %u: closed by the server with %llu of %llu "
                       "bytes echoed", c->id, (unsigned long long)c->rx,
                       (unsigned long long)c->tx);
    if (rc == 2)
        return ld_fail(th, LD_ERROR, "connection %u: recv: %s (after %llu of %llu bytes "
                       "echoed)", c->id, strerror(errno), (unsigned long long)c->rx,
                       (unsigned long long)c->tx);
    return rc;
}

int ld_echo_event(struct ld_thread *th, struct ld_conn *c, uint32_t ev)
{
    if (c->heavy)
        return ld_heavy_event(th, c, ev);
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && pump_in(th, c) < 0)
        return -1;
    if (ev & EPOLLERR) {
        int err = ld_conn_error(c->fd);
        if (err < 0)
            return ld_fail(th, LD_ERROR, "connection %u: %s", c->id, strerror(-err));
    }
    return (ev & EPOLLOUT) ? ld_echo_pump_out(th, c) : 0;
}

int ld_echo_give_up(struct ld_thread *th)
{
    const char *what = th->o->mode == LD_IDLE ? "round trips" : "replies";
    return ld_fail(th, LD_ERROR, "%llu %s still owed %.1f s after the last message was sent",
                   (unsigned long long)th->pending, what,
                   (double)(th->tm.give_up - th->tm.stop) / (double)NS_PER_S);
}
