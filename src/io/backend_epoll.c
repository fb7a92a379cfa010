/* backend_epoll.c - the epoll backend: level-triggered readiness, one
 * recv per readable connection per turn, and EPOLLOUT armed only while
 * output is pending. The recv/sendmsg calls live in ready.c. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/ready.h"
#include "reactor/conn.h"
#include "reactor/worker.h"

#define MAX_EVENTS 256

struct ep {
    int epfd;
    int nevs;                   /* gathered by the last wait */
    struct mx_ready rd;
    struct epoll_event evs[MAX_EVENTS];
};

static void ep_want_write(struct mx_worker *w, struct mx_conn *c, bool on);

static int ep_init(struct mx_worker *w, const struct mx_backend_conf *conf)
{
    struct ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return -ENOMEM;
    ep->rd = (struct mx_ready){ w, conf->scratch, conf->scratch_size, ep_want_write };
    ep->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MX_TAG_INBOX };
    if (ep->epfd < 0 || epoll_ctl(ep->epfd, EPOLL_CTL_ADD, conf->wake_fd, &ev) < 0) {
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

static void ep_want_write(struct mx_worker *w, struct mx_conn *c, bool on)
{
    set_mask(w, c, (c->backend_state & ~EPOLLOUT) | (on ? EPOLLOUT : 0));
}

static void ep_flush(struct mx_worker *w, struct mx_conn *c)
{
    mx__ready_flush(&((struct ep *)w->be_data)->rd, c);
}

static bool ep_detach(struct mx_worker *w, struct mx_conn *c)
{
    /* Nothing to do: close() drops the fd from the epoll set (we never dup
     * it), and events already fetched for it miss on the generation. */
    (void)w;
    (void)c;
    return false;
}

static bool ep_suspend(struct mx_worker *w, struct mx_conn *c)
{
    struct ep *ep = w->be_data;
    if (epoll_ctl(ep->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
        mx__conn_fail(c, -errno);
    c->backend_state = 0;
    return false;
}

static void dispatch_one(struct mx_worker *w, struct ep *ep, const struct epoll_event *ev)
{
    if (ev->data.u64 == MX_TAG_INBOX) {
        mx__worker_wakeup(w);
        return;
    }
    struct mx_conn *c = mx__worker_lookup(w, ev->data.u64);
    if (!c)
        return; /* closed earlier in this batch */
    uint32_t e = ev->events;
    mx__ready_event(&ep->rd, c, e & EPOLLIN, e & EPOLLOUT, e & (EPOLLHUP | EPOLLERR),
                   c->backend_state & EPOLLIN);
}

static int ep_wait(struct mx_worker *w, int timeout_ms)
{
    struct ep *ep = w->be_data;
    ep->nevs = 0;
    int n = epoll_wait(ep->epfd, ep->evs, MAX_EVENTS, timeout_ms);
    if (n < 0)
        return -errno;
    ep->nevs = n;
    return n;
}

static void ep_dispatch(struct mx_worker *w)
{
    struct ep *ep = w->be_data;
    for (int i = 0; i < ep->nevs; i++)
        dispatch_one(w, ep, &ep->evs[i]);
}

const struct mx_backend_ops mx__backend_epoll = {
    .name = "epoll",
    .kernel_tls = true,
    .init = ep_init,
    .fini = ep_fini,
    .attach = ep_attach,
    .set_recv = ep_set_recv,
    .flush = ep_flush,
    .detach = ep_detach,
    .suspend = ep_suspend,
    .wait = ep_wait,
    .dispatch = ep_dispatch,
};
