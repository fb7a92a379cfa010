/* acceptor_uring.c - the accept loop under io_uring: one multishot accept
 * per listener, and a poll on the stop eventfd.
 *
 * accept reports EMFILE before it looks at the backlog, so re-arming a
 * multishot accept while the process is out of descriptors would complete
 * at once, again and again. Instead a listener that hit EMFILE sheds its
 * backlog with the synchronous loop (acceptor.c), then waits for the next
 * connection with a plain poll (or sits out a pause), and only then goes
 * back to multishot accept.
 *
 * If the kernel takes no more submissions (no SQE even after submitting),
 * the loop gives up and returns -EBUSY: the acceptor carries on with its
 * epoll loop, which needs no ring.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "io/fault.h"
#include "io/uring.h"
#include "muxd/log.h"
#include "reactor/server.h"

enum { EV_STOP, EV_ACCEPT, EV_READY, EV_RESUME, EV_CTL };

static uint64_t ud(unsigned ev, unsigned listener)
{
    return (uint64_t)ev << 32 | listener;
}

struct ring {
    struct io_uring r;
    bool broken;    /* an SQE could not be had: give up on io_uring */
    uint64_t dropping; /* listeners let go of, whose last op is not back */
};

_Static_assert(MX_SERVER_MAX_LISTENERS <= 64, "dropping is one bit per listener");

static struct io_uring_sqe *sqe_get(struct ring *rg)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&rg->r);
    if (!sqe) {
        io_uring_submit(&rg->r);
        sqe = io_uring_get_sqe(&rg->r);
    }
    if (!sqe)
        rg->broken = true;
    return sqe;
}

static void arm_accept(struct ring *r, struct mx_listener *ls, unsigned i)
{
    struct io_uring_sqe *sqe = sqe_get(r);
    if (!sqe)
        return;
    io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ud(EV_ACCEPT, i));
}

static void arm_ready(struct ring *r, struct mx_listener *ls, unsigned i)
{
    struct io_uring_sqe *sqe = sqe_get(r);
    if (!sqe)
        return;
    io_uring_prep_poll_add(sqe, ls->fd, POLLIN);
    io_uring_sqe_set_data64(sqe, ud(EV_READY, i));
}

static void arm_resume(struct mx_acceptor *a, struct ring *r, unsigned i)
{
    static struct __kernel_timespec pause = { .tv_nsec = 100 * 1000 * 1000 };
    struct io_uring_sqe *sqe = sqe_get(r);
    if (!sqe)
        return;
    io_uring_prep_timeout(sqe, &pause, 0, 0);
    io_uring_sqe_set_data64(sqe, ud(EV_RESUME, i));
    a->paused_until_ms = 0;
}

/* Drain the backlog by hand, then wait for readiness (or the pause). */
static void fall_back(struct mx_acceptor *a, struct ring *r, unsigned i)
{
    struct mx_listener *ls = &a->srv->listeners[i];
    mx__acceptor_accept_all(a, ls);
    if (a->paused_until_ms)
        arm_resume(a, r, i);
    else
        arm_ready(r, ls, i);
}

static void on_accept(struct mx_acceptor *a, struct ring *r, unsigned i,
                      const struct io_uring_cqe *cqe)
{
    struct mx_listener *ls = &a->srv->listeners[i];
    int res = cqe->res;
    if (res >= 0 && MX_FAULT(MX_FAULT_EMFILE)) {
        /* As if the ceiling had refused it; the multishot goes on. */
        close(res);
        mx__acceptor_refused_fd(a, EMFILE);
        res = -ECONNABORTED;
    }
    if (res >= 0)
        mx__acceptor_take(a, res, ls);
    if (cqe->flags & IORING_CQE_F_MORE)
        return;
    if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        fall_back(a, r, i);
        return;
    }
    if (res < 0 && res != -EINTR && res != -ECONNABORTED)
        mx_warn("accept on %s: %s", ls->addr, strerror(-res));
    arm_accept(r, ls, i);
}

static void arm_ctl(struct mx_acceptor *a, struct ring *r)
{
    struct io_uring_sqe *sqe = sqe_get(r);
    if (!sqe)
        return;
    io_uring_prep_poll_add(sqe, a->ctl_efd, POLLIN);
    io_uring_sqe_set_data64(sqe, ud(EV_CTL, 0));
}

/* Listener i's last operation is back and it is no longer wanted. */
static void let_go(struct mx_acceptor *a, struct ring *r, unsigned i)
{
    a->srv->listeners[i].watched = false;
    r->dropping &= ~(1ull << i);
    if (!r->dropping)
        sem_post(&a->synced);
}

/* The listeners changed: arm the new ones; shut the dropped ones down,
 * which ends whatever operation they have in flight (its completion then
 * lets go of them). */
static void reconcile(struct mx_acceptor *a, struct ring *r)
{
    uint64_t n;
    if (read(a->ctl_efd, &n, sizeof n) < 0 && errno != EAGAIN)
        mx_warn("acceptor: control eventfd: %s", strerror(errno));
    for (unsigned i = 0; i < MX_SERVER_MAX_LISTENERS; i++) {
        struct mx_listener *ls = &a->srv->listeners[i];
        bool want = atomic_load(&ls->want);
        if (want && !ls->watched) {
            arm_accept(r, ls, i);
            ls->watched = true;
        } else if (!want && ls->watched && !(r->dropping & (1ull << i))) {
            shutdown(ls->fd, SHUT_RDWR);
            r->dropping |= 1ull << i;
        }
    }
    if (!r->dropping)
        sem_post(&a->synced);
    arm_ctl(a, r);
}

/* A completion for a listener let go of: only an accepted socket still
 * counts (taken as any other); the listener is never armed again. */
static bool dropped(struct mx_acceptor *a, struct ring *r, unsigned ev, unsigned i,
                    const struct io_uring_cqe *cqe)
{
    if (atomic_load(&a->srv->listeners[i].want))
        return false;
    if (ev == EV_ACCEPT && cqe->res >= 0)
        mx__acceptor_take(a, cqe->res, &a->srv->listeners[i]);
    if (!(ev == EV_ACCEPT && (cqe->flags & IORING_CQE_F_MORE)))
        let_go(a, r, i);
    return true;
}

/* Returns false when asked to stop. */
static bool handle(struct mx_acceptor *a, struct ring *r, const struct io_uring_cqe *cqe)
{
    unsigned ev = (unsigned)(cqe->user_data >> 32), i = (unsigned)cqe->user_data;
    if (ev != EV_STOP && ev != EV_CTL && dropped(a, r, ev, i, cqe))
        return true;
    switch (ev) {
    case EV_STOP:
        return false;
    case EV_CTL:
        reconcile(a, r);
        break;
    case EV_ACCEPT:
        on_accept(a, r, i, cqe);
        break;
    case EV_READY:
        mx__acceptor_accept_all(a, &a->srv->listeners[i]);
        if (a->paused_until_ms)
            arm_resume(a, r, i);
        else
            arm_accept(r, &a->srv->listeners[i], i);
        break;
    case EV_RESUME:
        arm_ready(r, &a->srv->listeners[i], i);
        break;
    }
    return true;
}

int mx__acceptor_uring_loop(struct mx_acceptor *a)
{
    struct ring rg = { .broken = false };
    int err = mx__uring_queue_init(&rg.r, 64, 256);
    if (err < 0)
        return err;
    struct io_uring_sqe *sqe = sqe_get(&rg);
    if (sqe) {
        io_uring_prep_poll_add(sqe, a->stop_efd, POLLIN);
        io_uring_sqe_set_data64(sqe, ud(EV_STOP, 0));
    }
    arm_ctl(a, &rg);
    /* What start watched, not what is wanted now: a reload that came
     * before this loop is the control event's to reconcile, and letting
     * go of a listener waits for its accept to end. */
    for (unsigned i = 0; i < a->srv->nlisteners; i++)
        if (a->srv->listeners[i].watched)
            arm_accept(&rg, &a->srv->listeners[i], i);
    for (bool run = true; run && !rg.broken;) {
        struct io_uring_cqe *cqe;
        err = io_uring_submit_and_wait(&rg.r, 1);
        if (err < 0 && err != -EINTR) {
            mx_error("acceptor io_uring wait: %s", strerror(-err));
            break;
        }
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&rg.r, head, cqe) {
            if (run)
                run = handle(a, &rg, cqe);
            else if (cqe->user_data >> 32 == EV_ACCEPT && cqe->res >= 0)
                close(cqe->res); /* accepted as we stopped: nobody to take it */
            seen++;
        }
        io_uring_cq_advance(&rg.r, seen);
    }
    io_uring_queue_exit(&rg.r);
    return rg.broken ? -EBUSY : 0;
}
