/* heavy.c - heavy clients (see heavy.h), from bench/heavy.c. */
#include "heavy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "clock.h"
#include "echo.h"

/* One request at a time per connection: the next goes out when the reply
 * to the last one is complete. */
static void issue(struct ld_thread *th, struct ld_conn *c, uint64_t now)
{
    if (now < th->tm.stop)
        ld_echo_issue(th, c, now);
}

static int pump_out(struct ld_thread *th, struct ld_conn *c)
{
    const char *req = th->o->heavy_req;
    size_t len = strlen(req);
    uint64_t owed = c->issued * len;
    while (c->tx < owed) {
        size_t at = (size_t)(c->tx % len);
        ssize_t r = send(c->fd, req + at, len - at, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return ld_fail(th, LD_ERROR, "heavy connection %u: send: %s", c->id,
                           strerror(errno));
        }
        c->tx += (uint64_t)r;
    }
    return 0;
}

int ld_heavy_start(struct ld_thread *th, struct ld_conn *c, uint64_t now)
{
    issue(th, c, now);
    return pump_out(th, c);
}

/* got[bad] is the first wrong byte: quotes the line it is in (as far as
 * this read holds it), printable bytes only. */
static int mismatch(struct ld_thread *th, const struct ld_conn *c, const unsigned char *got,
                    size_t n, size_t bad)
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
    const char *want = th->o->heavy_reply;
    return ld_fail(th, LD_VERIFY, "heavy connection %u: reply %llu is '%s', expected '%.*s'",
                   c->id, (unsigned long long)(c->done + 1), line, (int)strlen(want) - 1, want);
}

/* n reply bytes arrived at time now: check them against the expected
 * reply, complete the requests they finish and send the next ones. */
static int absorb(struct ld_thread *th, struct ld_conn *c, size_t n, uint64_t now)
{
    const char *want = th->o->heavy_reply;
    size_t len = strlen(want);
    for (size_t i = 0; i < n; i++)
        if (th->rxbuf[i] != (unsigned char)want[(c->rx + i) % len])
            return mismatch(th, c, th->rxbuf, n, i);
    if (c->rx + n > c->issued * len)
        return ld_fail(th, LD_VERIFY, "heavy connection %u: more replies than requests",
                       c->id);
    c->rx += n;
    while (c->done < c->rx / len) {
        uint64_t t = c->t_issue[0];
        c->done++;
        th->pending--;
        if (now >= th->tm.start && now < th->tm.end) {
            ld_hist_record(&th->res->heavy_lat, now - t);
            th->res->heavy_reqs++;
        }
        issue(th, c, now);
    }
    return pump_out(th, c);
}

static int absorb_read(struct ld_thread *th, struct ld_conn *c, const char *p, size_t n)
{
    (void)p; /* th->rxbuf, which absorb reads */
    return absorb(th, c, n, ld_now_ns());
}

static int pump_in(struct ld_thread *th, struct ld_conn *c)
{
    int rc = ld_conn_drain(th, c, absorb_read);
    if (rc == 1)
        return ld_fail(th, LD_ERROR, "heavy connection %u: closed by the server after %llu "
                       "replies", c->id, (unsigned long long)c->done);
    if (rc == 2)
        return ld_fail(th, LD_ERROR, "heavy connection %u: recv: %s", c->id, strerror(errno));
    return rc;
}

int ld_heavy_event(struct ld_thread *th, struct ld_conn *c, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && pump_in(th, c) < 0)
        return -1;
    if (ev & EPOLLERR) {
        int err = ld_conn_error(c->fd);
        if (err < 0)
            return ld_fail(th, LD_ERROR, "heavy connection %u: %s", c->id, strerror(-err));
    }
    return (ev & EPOLLOUT) ? pump_out(th, c) : 0;
}
