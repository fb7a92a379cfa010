/* offload.c - the offload pool and the mx_offload call.
 *
 * Each connection keeps its own FIFO of jobs (c->jobs, head = the one in the
 * pool) and hands the pool one job at a time: per-connection order comes
 * for free, and one busy connection cannot take every pool thread.
 */
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>

#include "io/fault.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "reactor/conn.h"
#include "reactor/offload.h"
#include "reactor/server.h"

static void post_back(struct mx_job *job)
{
    struct mx_msg m = { .type = MX_MSG_JOB_DONE, .fd = -1, .ptr = job };
    /* The inbox grows on demand; only ENOMEM can fail, and then losing a
     * completion would leak the job and stall the worker's stop. */
    while (mx__inbox_post(&job->w->inbox, &m) < 0)
        sched_yield();
}

static struct mx_job *take(struct mx_offload *o)
{
    pthread_mutex_lock(&o->mu);
    while (!o->head && !o->stopping)
        pthread_cond_wait(&o->cv, &o->mu);
    struct mx_job *job = o->head;
    if (job && !(o->head = job->qnext))
        o->tail = NULL;
    pthread_mutex_unlock(&o->mu);
    return job;
}

static void *pool_main(void *arg)
{
    struct mx_offload *o = arg;
    struct mx_job *job;
    while ((job = take(o))) {
        atomic_fetch_add_explicit(&o->running, 1, memory_order_relaxed);
        uint64_t t0 = mx__clock_ns();
        job->work(job->arg);
        job->run_ns = mx__clock_ns() - t0;
        atomic_fetch_sub_explicit(&o->running, 1, memory_order_relaxed);
        post_back(job);
    }
    return NULL;
}

struct thread_arg {
    struct mx_offload *o;
    unsigned idx;
};

static void *named_pool_main(void *p)
{
    struct thread_arg a = *(struct thread_arg *)p;
    free(p);
    char name[16];
    snprintf(name, sizeof name, "muxd-off%u", a.idx);
    mx_log_thread_name(name);
    return pool_main(a.o);
}

int mx__offload_start(struct mx_offload *o, unsigned threads, size_t max)
{
    *o = (struct mx_offload){ .max = max };
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    if (threads == 0)
        return 0;
    o->threads = calloc(threads, sizeof *o->threads);
    if (!o->threads)
        return -ENOMEM;
    for (; o->nthreads < threads; o->nthreads++) {
        struct thread_arg *a = malloc(sizeof *a);
        if (!a)
            return -ENOMEM;
        *a = (struct thread_arg){ o, o->nthreads };
        int err = pthread_create(&o->threads[o->nthreads], NULL, named_pool_main, a);
        if (err) {
            free(a);
            return -err;
        }
        /* Named from here too, so ps shows it as soon as start returns. */
        char name[16];
        snprintf(name, sizeof name, "muxd-off%u", o->nthreads);
        pthread_setname_np(o->threads[o->nthreads], name);
    }
    return 0;
}

void mx__offload_cancel_queued(struct mx_offload *o)
{
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    struct mx_job *job = o->head;
    o->head = o->tail = NULL;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    while (job) {
        struct mx_job *next = job->qnext;
        job->cancelled = true;
        post_back(job);
        job = next;
    }
}

void mx__offload_stop(struct mx_offload *o)
{
    for (unsigned i = 0; i < o->nthreads; i++)
        pthread_join(o->threads[i], NULL);
    free(o->threads);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
}

/* Hands c's head job to the pool. */
static void submit(struct mx_offload *o, struct mx_job *job)
{
    job->w->jobs_out++;
    pthread_mutex_lock(&o->mu);
    job->qnext = NULL;
    if (o->stopping) {
        pthread_mutex_unlock(&o->mu);
        job->cancelled = true;
        post_back(job);
        return;
    }
    if (o->tail)
        o->tail->qnext = job;
    else
        o->head = job;
    o->tail = job;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

int mx_offload(struct mx_conn *c, mx_work_fn *work, mx_done_fn *done, void *arg)
{
    MX_OWNER_ASSERT(c);
    struct mx_offload *o = &c->w->srv->offload;
    if (o->nthreads == 0)
        return -ENOTSUP;
    if (c->flags & (MX_C_DEAD | MX_C_CLOSING))
        return -ECONNRESET;
    if (atomic_fetch_add(&o->outstanding, 1) >= atomic_load_explicit(&o->max, memory_order_relaxed) ||
        MX_FAULT(MX_FAULT_OFFLOAD)) {
        atomic_fetch_sub(&o->outstanding, 1);
        mx__count(&c->w->stats.offload_rejected, 1);
        return -EBUSY;
    }
    struct mx_job *job = MX_FAULT(MX_FAULT_ALLOC) ? NULL : malloc(sizeof *job);
    if (!job) {
        atomic_fetch_sub(&o->outstanding, 1);
        return -ENOMEM;
    }
    *job = (struct mx_job){ .work = work, .done = done, .arg = arg,
                            .conn_id = mx_conn_id(c), .w = c->w };
    if (!c->jobs) {
        c->jobs = job;
        submit(o, job);
        return 0;
    }
    struct mx_job *last = c->jobs;
    while (last->next)
        last = last->next;
    last->next = job;
    return 0;
}

static void finish(struct mx_offload *o, struct mx_job *job, struct mx_conn *c)
{
    atomic_fetch_sub(&o->outstanding, 1);
    job->done(c, job->arg);
    free(job);
}

void mx__offload_done(struct mx_worker *w, struct mx_job *job)
{
    struct mx_offload *o = &w->srv->offload;
    w->jobs_out--;
    if (!job->cancelled)
        mx__stats_job(&w->stats, job->run_ns);
    struct mx_conn *c = mx__worker_find(w, job->conn_id);
    if (!c || c->jobs != job || (c->flags & MX_C_DEAD)) {
        finish(o, job, NULL); /* its connection is gone */
        return;
    }
    c->jobs = job->next;
    if (c->jobs)
        submit(o, c->jobs);
    /* A result is the connection's own: what it sends is a reply. */
    struct mx_conn *was = mx__conn_self_begin(c);
    finish(o, job, job->cancelled ? NULL : c);
    mx__conn_self_end(w, was);
    mx__conn_finish_eof(c);
}

void mx__offload_let_go(struct mx_conn *c)
{
    struct mx_job *head = c->jobs;
    if (!head)
        return;
    c->jobs = head->next;
    head->next = NULL;
}

void mx__offload_drop_pending(struct mx_conn *c)
{
    struct mx_offload *o = &c->w->srv->offload;
    struct mx_job *job = c->jobs;
    c->jobs = NULL;
    for (struct mx_job *next; job; job = next) {
        next = job->next;
        finish(o, job, NULL);
    }
}
