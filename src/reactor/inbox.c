/* inbox.c - multi-producer inbox with eventfd wake-up (see inbox.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "reactor/inbox.h"

int mx__inbox_init(struct mx_inbox *ib)
{
    *ib = (struct mx_inbox){ 0 };
    ib->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ib->efd < 0)
        return -errno;
    pthread_mutex_init(&ib->mu, NULL);
    return 0;
}

void mx__inbox_fini(struct mx_inbox *ib)
{
    pthread_mutex_destroy(&ib->mu);
    free(ib->v);
    free(ib->batch);
    if (ib->efd >= 0)
        close(ib->efd);
    ib->efd = -1;
}

static int grow(struct mx_inbox *ib)
{
    size_t cap = ib->cap ? ib->cap * 2 : 64;
    struct mx_msg *v = realloc(ib->v, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    ib->v = v;
    ib->cap = cap;
    return 0;
}

int mx__inbox_post(struct mx_inbox *ib, const struct mx_msg *m)
{
    pthread_mutex_lock(&ib->mu);
    if (ib->n == ib->cap && grow(ib) < 0) {
        pthread_mutex_unlock(&ib->mu);
        return -ENOMEM;
    }
    ib->v[ib->n++] = *m;
    int first = ib->n == 1;
    pthread_mutex_unlock(&ib->mu);
    if (first) {
        uint64_t one = 1;
        ssize_t w = write(ib->efd, &one, sizeof one);
        (void)w; /* EAGAIN means the counter is already non-zero: awake */
    }
    return 0;
}

size_t mx__inbox_take(struct mx_inbox *ib, struct mx_msg **out)
{
    uint64_t cnt;
    ssize_t r = read(ib->efd, &cnt, sizeof cnt);
    (void)r;
    pthread_mutex_lock(&ib->mu);
    /* Swap buffers: producers go on appending into the old batch's
     * storage while the owner works through this one unlocked. */
    struct mx_msg *v = ib->v;
    size_t n = ib->n, cap = ib->cap;
    ib->v = ib->batch;
    ib->cap = ib->batch_cap;
    ib->n = 0;
    ib->batch = v;
    ib->batch_cap = cap;
    pthread_mutex_unlock(&ib->mu);
    *out = v;
    return n;
}

bool mx__inbox_empty(struct mx_inbox *ib)
{
    pthread_mutex_lock(&ib->mu);
    bool empty = ib->n == 0;
    pthread_mutex_unlock(&ib->mu);
    return empty;
}

bool mx__inbox_has_posts(struct mx_inbox *ib)
{
    pthread_mutex_lock(&ib->mu);
    bool any = false;
    for (size_t i = 0; i < ib->n && !any; i++)
        any = ib->v[i].type == MX_MSG_POST || ib->v[i].type == MX_MSG_RUN;
    pthread_mutex_unlock(&ib->mu);
    return any;
}
