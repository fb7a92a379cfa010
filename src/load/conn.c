/* conn.c - opening a thread's connections (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "thread.h"

/* Connects in flight at once, per thread: a burst beyond the server's
 * SYN or accept backlog turns into one-second SYN retries, not errors. */
#define CONNECT_WINDOW 256
#define CONNECT_TIMEOUT_NS (30 * NS_PER_S)

int ld_conn_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

int ld_conn_drain(struct ld_thread *th, struct ld_conn *c, ld_absorb_fn *absorb)
{
    for (;;) {
        ssize_t r = recv(c->fd, th->rxbuf, LD_RXBUF_SIZE, 0);
        if (r > 0) {
            if (absorb(th, c, (const char *)th->rxbuf, (size_t)r) < 0)
                return -1;
            /* A short read drained the socket: edge-triggered epoll
             * reports any later arrival afresh. */
            if ((size_t)r < LD_RXBUF_SIZE)
                return 0;
        } else if (r == 0) {
            return 1;
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            return 2;
        }
    }
}

/* --src-ips: 127.0.0.(1 + id % K), port chosen at connect time so each
 * source address has its own 64k ports towards the target. */
static int bind_source(const struct ld_opts *o, int fd, unsigned id)
{
    struct sockaddr_in src = { .sin_family = AF_INET };
    src.sin_addr.s_addr = htonl(0x7f000001u + id % o->src_ips);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    return bind(fd, (const struct sockaddr *)&src, sizeof src) == 0 ? 0 : -errno;
}

static void conn_failed(struct ld_thread *th, struct ld_conn *c, int err)
{
    const struct ld_opts *o = th->o;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = LD_C_FAILED;
    th->res->connect_failures++;
    ld_result_why(th->res, "connect %u of %u to %s: %s", c->id + 1, o->conns + o->heavy,
                  ld_target_of(o, c->id)->text, strerror(-err));
    uint64_t failed = atomic_fetch_add(&th->live->failed, 1) + 1;
    if (failed > o->max_connect_failures)
        atomic_store(&th->live->abort, true);
}

static void conn_up(struct ld_thread *th, struct ld_conn *c)
{
    c->state = LD_C_UP;
    th->res->connected++;
    atomic_fetch_add_explicit(&th->live->up, 1, memory_order_relaxed);
    if (th->ops->on_up)
        (void)th->ops->on_up(th, c); /* a failure aborts through ld_fail */
}

void ld_conn_finish(struct ld_thread *th, struct ld_conn *c)
{
    th->connecting--;
    int err = ld_conn_error(c->fd);
    if (err < 0)
        conn_failed(th, c, err);
    else
        conn_up(th, c);
}

/* One non-blocking connect, registered for good; to the server of its
 * index (chat's list of servers: client i to entry i % n). */
static void conn_start(struct ld_thread *th, struct ld_conn *c, unsigned idx)
{
    const struct ld_opts *o = th->o;
    const struct ld_target *t = ld_target_of(o, c->id);
    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_failed(th, c, -errno);
        return;
    }
    int one = 1;
    /* Small messages with several in flight: Nagle would hold them back
     * for ACKs and measure the delayed-ACK timer, not the server. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int err = o->src_ips ? bind_source(o, c->fd, c->id) : 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = idx };
    if (err == 0 && epoll_ctl(th->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        err = -errno;
    if (err == 0 && connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) < 0)
        err = errno == EINPROGRESS ? 1 : -errno;
    if (err < 0) {
        conn_failed(th, c, err);
    } else if (err == 1) {
        c->state = LD_C_CONNECTING;
        th->connecting++;
    } else {
        conn_up(th, c);
    }
}

/* Connects still pending long after the last one started have failed. */
static void time_out_pending(struct ld_thread *th)
{
    for (unsigned i = 0; i < th->n; i++)
        if (th->cs[i].state == LD_C_CONNECTING) {
            th->connecting--;
            conn_failed(th, &th->cs[i], -ETIMEDOUT);
        }
}

int ld_connect_phase(struct ld_thread *th)
{
    uint64_t t_begin = ld_now_ns(), t_last = t_begin;
    double gap = th->connect_rate > 0 ? (double)NS_PER_S / th->connect_rate : 0.0;
    unsigned next = 0;
    while (next < th->n || th->connecting > 0) {
        if (ld_aborted(th))
            return -1;
        uint64_t now = ld_now_ns(), due = now;
        while (next < th->n && th->connecting < CONNECT_WINDOW &&
               (due = t_begin + (uint64_t)(gap * next)) <= now) {
            conn_start(th, &th->cs[next], next);
            next++;
            t_last = now;
        }
        if (th->connecting > 0 && now - t_last > CONNECT_TIMEOUT_NS)
            time_out_pending(th);
        uint64_t wait = 50 * NS_PER_MS;
        if (next < th->n && th->connecting < CONNECT_WINDOW)
            wait = due > now ? due - now : 0;
        if (ld_thread_poll(th, wait) < 0)
            return -1;
    }
    return ld_aborted(th) ? -1 : 0;
}
