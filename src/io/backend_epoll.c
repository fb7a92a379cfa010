/* backend_epoll.c - the epoll backend: level-triggered readiness, one
 * recv per readable connection per turn (fair to the others), and
 * EPOLLOUT armed only while output is pending. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/backend.h"
#include "reactor/conn.h"
#include "reactor/worker.h"

#define MAX_EVENTS 256
#define MAX_IOV 64

struct ep {
    int epfd;
    struct epoll_event evs[MAX_EVENTS];
};

static int ep_init(struct mx_worker *w)
{
    struct ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return -ENOMEM;
    ep->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MX_TAG_INBOX };
    if (ep->epfd < 0 || epoll_ctl(ep->epfd, EPOLL_CTL_ADD, w->inbox.efd, &ev) < 0) {
        int err = -errno;
        if (ep->epfd >= 0)
            close(ep->epfd);
        free(ep);
        return err;
    }
    w->be_data = ep;
    return 0;
}

static void ep_fini(struct mx_worker *w)
{
    struct ep *ep = w->be_data;
    close(ep->epfd);
    free(ep);
    w->be_data = NULL;
}

/* c->backend_state holds the mask registered with the kernel. */
static void set_mask(struct mx_worker *w, struct mx_conn *c, uint32_t mask)
{
    if (mask == c->backend_state)
        return;
    struct ep *ep = w->be_data;
    struct epoll_event ev = { .events = mask, .data.u64 = mx__conn_tag(c) };
    if (epoll_ctl(ep->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        mx__conn_fail(c, -errno);
        return;
    }
    c->backend_state = mask;
}

static int ep_attach(struct mx_worker *w, struct mx_conn *c)
{
    struct ep *ep = w->be_data;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = mx__conn_tag(c) };
    if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        return -errno;
    c->backend_state = EPOLLIN;
    return 0;
}

static void ep_set_recv(struct mx_worker *w, struct mx_conn *c, bool on)
{
    set_mask(w, c, (c->backend_state & ~EPOLLIN) | (on ? EPOLLIN : 0));
}

static void ep_detach(struct mx_worker *w, struct mx_conn *c)
{
    /* Nothing to do: close() drops the fd from the epoll set (we never dup
     * it), and events already fetched for it miss on the generation. */
    (void)w;
    (void)c;
}

/* Writes until the queue is empty or the socket is full. Returns bytes
 * written, or -errno on a hard error. */
static ssize_t write_queue(struct mx_conn *c)
{
    ssize_t total = 0;
    while (c->out.bytes > 0) {
        struct iovec iov[MAX_IOV];
        struct msghdr msg = { .msg_iov = iov };
        msg.msg_iovlen = (size_t)mx_outq_iov(&c->out, iov, MAX_IOV);
        size_t want = 0;
        for (size_t i = 0; i < msg.msg_iovlen; i++)
            want += iov[i].iov_len;
        ssize_t r = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? total : -errno;
        }
        mx_outq_consume(&c->out, (size_t)r);
        total += r;
        if ((size_t)r < want)
            break; /* socket full: wait for EPOLLOUT, skip the EAGAIN call */
    }
    return total;
}

static void ep_flush(struct mx_worker *w, struct mx_conn *c)
{
    ssize_t r = write_queue(c);
    if (r < 0) {
        mx__conn_fail(c, (int)r);
        return;
    }
    if (r > 0)
        mx__conn_sent(c);
    if (c->flags & MX_C_DEAD)
        return;
    uint32_t mask = c->backend_state & ~EPOLLOUT;
    set_mask(w, c, c->out.bytes > 0 ? mask | EPOLLOUT : mask);
}

static void on_readable(struct mx_worker *w, struct mx_conn *c)
{
    ssize_t r = recv(c->fd, w->scratch, MX_SCRATCH_SIZE, 0);
    if (r > 0)
        mx__conn_recv(c, w->scratch, (size_t)r);
    else if (r == 0)
        mx__conn_eof(c);
    else if (errno != EAGAIN && errno != EINTR)
        mx__conn_fail(c, -errno);
}

static void dispatch(struct mx_worker *w, const struct epoll_event *ev)
{
    if (ev->data.u64 == MX_TAG_INBOX) {
        mx__worker_wakeup(w);
        return;
    }
    struct mx_conn *c = mx__worker_lookup(w, ev->data.u64);
    if (!c)
        return; /* closed earlier in this batch */
    uint32_t e = ev->events;
    if ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->flags & MX_C_RECV_ON))
        on_readable(w, c);
    if (c->flags & MX_C_DEAD)
        return;
    if (e & EPOLLOUT)
        ep_flush(w, c);
    else if ((e & (EPOLLHUP | EPOLLERR)) && !(c->flags & MX_C_RECV_ON))
        mx__conn_fail(c, -ECONNRESET); /* not reading, nothing to write */
}

static int ep_wait(struct mx_worker *w, int timeout_ms)
{
    struct ep *ep = w->be_data;
    int n = epoll_wait(ep->epfd, ep->evs, MAX_EVENTS, timeout_ms);
    if (n < 0)
        return -errno;
    w->now_ms = mx_now_ms();
    for (int i = 0; i < n; i++)
        dispatch(w, &ep->evs[i]);
    return n;
}

const struct mx_backend_ops mx_backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .fini = ep_fini,
    .attach = ep_attach,
    .set_recv = ep_set_recv,
    .flush = ep_flush,
    .detach = ep_detach,
    .wait = ep_wait,
};
