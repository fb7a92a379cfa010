/* offload.h - the offload pool (private): muxd-offN threads taking jobs
 * from one bounded queue, posting each result to its worker's inbox. */
#ifndef MUXD_REACTOR_OFFLOAD_H
#define MUXD_REACTOR_OFFLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "muxd/offload.h"

struct mx_worker;

struct mx_job {
    struct mx_job *next;      /* the connection's FIFO (head: in the pool) */
    struct mx_job *qnext;     /* the pool's queue */
    mx_work_fn *work;
    mx_done_fn *done;
    void *arg;
    uint64_t conn_id;
    struct mx_worker *w;      /* where the result goes */
    bool cancelled;           /* never ran: the pool was stopping */
    uint64_t run_ns;          /* time on a pool thread (for the stats) */
};

struct mx_offload {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct mx_job *head, *tail;
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
    atomic_size_t max;        /* jobs outstanding, queued or running;
                                 changed by a reload */
    atomic_size_t outstanding;
    atomic_size_t running;    /* on a pool thread now (for the stats) */
};

int mx__offload_start(struct mx_offload *o, unsigned threads, size_t max);
/* Queued jobs go back to their workers as cancelled; running ones finish. */
void mx__offload_cancel_queued(struct mx_offload *o);
/* Joins the threads (after mx__offload_cancel_queued). */
void mx__offload_stop(struct mx_offload *o);

/* Worker side: a job came back through the inbox. */
void mx__offload_done(struct mx_worker *w, struct mx_job *job);
/* Worker side, c has just closed: its running job (in the pool) is let go
 * of, to come back as "connection gone"; the rest stay queued on c. */
void mx__offload_let_go(struct mx_conn *c);
/* Worker side, c's on_close is due: its jobs that never reached the pool
 * get done(NULL). */
void mx__offload_drop_pending(struct mx_conn *c);

#endif
