/* backend_poll.c - the poll(2) backend: a reference, not a contender.
 *
 * Every wait hands the kernel the whole pollfd array and every return is
 * scanned whole: O(n) per wait, the cost the select()/poll() tutorials
 * describe. It exists so the benchmarks can show that cost in numbers.
 * Closed entries become holes (fd -1, which poll skips) and the array is
 * compacted before the next wait, so indices never move under a dispatch.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "io/backend.h"
#include "io/ready.h"
#include "reactor/conn.h"
#include "reactor/worker.h"

struct pl {
    struct mx_ready rd;
    int nready;           /* what the last wait reported */
    struct pollfd *fds;   /* [0] is the inbox eventfd */
    /* Each entry's connection slot: a slot, not a tag, since an entry
     * becomes a hole before its slot is let go (4 bytes, not 8, a
     * connection). */
    uint32_t *slots;
    uint32_t n, cap;
    uint32_t holes;
};

static int pl_grow(struct pl *p)
{
    uint32_t cap = p->cap ? p->cap * 2 : 64;
    struct pollfd *f = realloc(p->fds, cap * sizeof *f);
    if (f)
        p->fds = f;
    uint32_t *t = realloc(p->slots, cap * sizeof *t);
    if (t)
        p->slots = t;
    if (!f || !t)
        return -ENOMEM;
    p->cap = cap;
    return 0;
}

#define INBOX_SLOT UINT32_MAX

static int pl_add(struct pl *p, int fd, uint32_t slot)
{
    if (p->n == p->cap && pl_grow(p) < 0)
        return -ENOMEM;
    p->fds[p->n] = (struct pollfd){ .fd = fd, .events = POLLIN };
    p->slots[p->n] = slot;
    return (int)p->n++;
}

static void pl_want_write(struct mx_worker *w, struct mx_conn *c, bool on);

static int pl_init(struct mx_worker *w, const struct mx_backend_conf *conf)
{
    struct pl *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if (pl_add(p, conf->wake_fd, INBOX_SLOT) < 0) {
        free(p->fds);
        free(p->slots);
        free(p);
        return -ENOMEM;
    }
    p->rd = (struct mx_ready){ w, conf->scratch, conf->scratch_size, pl_want_write };
    w->be_data = p;
    return 0;
}

static void pl_fini(struct mx_worker *w)
{
    struct pl *p = w->be_data;
    free(p->fds);
    free(p->slots);
    free(p);
    w->be_data = NULL;
}

/* c->backend_state is c's index in the array. */
static struct pollfd *entry(struct mx_worker *w, struct mx_conn *c)
{
    return &((struct pl *)w->be_data)->fds[c->backend_state];
}

#define NO_ENTRY UINT32_MAX

static int pl_attach(struct mx_worker *w, struct mx_conn *c)
{
    int i = pl_add(w->be_data, c->fd, c->slot);
    c->backend_state = i < 0 ? NO_ENTRY : (uint32_t)i;
    return i < 0 ? i : 0;
}

static void pl_set_recv(struct mx_worker *w, struct mx_conn *c, bool on)
{
    struct pollfd *f = entry(w, c);
    f->events = (short)((f->events & ~POLLIN) | (on ? POLLIN : 0));
}

static void pl_want_write(struct mx_worker *w, struct mx_conn *c, bool on)
{
    struct pollfd *f = entry(w, c);
    f->events = (short)((f->events & ~POLLOUT) | (on ? POLLOUT : 0));
}

static void pl_flush(struct mx_worker *w, struct mx_conn *c)
{
    mx__ready_flush(&((struct pl *)w->be_data)->rd, c);
}

static bool pl_detach(struct mx_worker *w, struct mx_conn *c)
{
    struct pl *p = w->be_data;
    if (c->backend_state == NO_ENTRY)
        return false; /* attach failed: there is no entry to drop */
    struct pollfd *f = entry(w, c);
    /* A hole: poll skips it, and this wait's dispatch (which may not have
     * reached it yet) sees no event on it. */
    f->fd = -1;
    f->revents = 0;
    p->holes++;
    return false;
}

/* The same hole; the fd stays open for the worker it moves to. */
static bool pl_suspend(struct mx_worker *w, struct mx_conn *c)
{
    pl_detach(w, c);
    c->backend_state = NO_ENTRY;
    return false;
}

/* Squeezes out the holes, telling each moved connection its new index. */
static void compact(struct mx_worker *w, struct pl *p)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->fds[i].fd < 0)
            continue;
        if (i != j) {
            p->fds[j] = p->fds[i];
            p->slots[j] = p->slots[i];
            mx__worker_at(w, p->slots[j])->backend_state = j;
        }
        j++;
    }
    p->n = j;
    p->holes = 0;
}

static void dispatch(struct mx_worker *w, struct pl *p, uint32_t i)
{
    short re = p->fds[i].revents;
    if (p->slots[i] == INBOX_SLOT) {
        mx__worker_wakeup(w);
        return;
    }
    /* Not a hole, so its connection is still in that slot. */
    struct mx_conn *c = mx__worker_at(w, p->slots[i]);
    mx__ready_event(&p->rd, c, re & POLLIN, re & POLLOUT, re & (POLLHUP | POLLERR | POLLNVAL),
                    p->fds[i].events & POLLIN);
}

static int pl_wait(struct mx_worker *w, int timeout_ms)
{
    struct pl *p = w->be_data;
    if (p->holes)
        compact(w, p);
    p->nready = 0;
    int n = poll(p->fds, p->n, timeout_ms);
    if (n < 0)
        return -errno;
    p->nready = n;
    return 0;
}

static void pl_dispatch(struct mx_worker *w)
{
    struct pl *p = w->be_data;
    int n = p->nready;
    /* Entries added while dispatching start with revents 0; stop at the
     * count poll saw. */
    uint32_t seen = p->n;
    for (uint32_t i = 0; i < seen && n > 0; i++) {
        if (p->fds[i].revents == 0 || p->fds[i].fd < 0)
            continue;
        n--;
        dispatch(w, p, i);
    }
}

const struct mx_backend_ops mx__backend_poll = {
    .name = "poll",
    .kernel_tls = true,
    .init = pl_init,
    .fini = pl_fini,
    .attach = pl_attach,
    .set_recv = pl_set_recv,
    .flush = pl_flush,
    .detach = pl_detach,
    .suspend = pl_suspend,
    .wait = pl_wait,
    .dispatch = pl_dispatch,
};
