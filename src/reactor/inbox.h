/* inbox.h - how other threads reach a worker: a multi-producer queue plus
 * an eventfd wake-up. Producers append under a mutex; the owner swaps the
 * whole batch out under the lock and handles it outside it. The eventfd is
 * written only when the queue goes from empty to non-empty. */
#ifndef MUXD_REACTOR_INBOX_H
#define MUXD_REACTOR_INBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "muxd/server.h"

enum mx_msg_type {
    MX_MSG_CONN,      /* a new connection: fd, listener (ptr), admission ticket (id) */
    MX_MSG_STOP,      /* graceful stop */
    MX_MSG_JOB_DONE,  /* an offload job came back (ptr) */
    MX_MSG_POST,      /* run post(conn id, ptr) on the owner */
    MX_MSG_RUN,       /* run run(ptr) on the worker */
};

struct mx_msg {
    enum mx_msg_type type;
    int fd;
    void *ptr;
    uint64_t id;
    mx_post_fn *post;
    mx_run_fn *run;
};

struct mx_inbox {
    pthread_mutex_t mu;
    struct mx_msg *v;       /* pending, appended by producers */
    size_t n, cap;
    struct mx_msg *batch;   /* owner's swapped-out batch */
    size_t batch_cap;
    int efd;                /* eventfd, readable while there is news */
};

int mx__inbox_init(struct mx_inbox *ib);
void mx__inbox_fini(struct mx_inbox *ib);

/* Any thread. -ENOMEM. */
int mx__inbox_post(struct mx_inbox *ib, const struct mx_msg *m);

/* Owner only: takes every pending message; *out is valid until the next
 * call. Clears the eventfd. */
size_t mx__inbox_take(struct mx_inbox *ib, struct mx_msg **out);

/* Any thread: nothing is pending (a moment's truth). */
bool mx__inbox_empty(struct mx_inbox *ib);
/* Any thread: a post or run message is pending. */
bool mx__inbox_has_posts(struct mx_inbox *ib);

#endif
