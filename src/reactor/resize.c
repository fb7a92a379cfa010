/* resize.c - growing and shrinking the worker set while it serves
 * (mx_server_set_workers: a reload's new `workers`).
 *
 * Growing: every worker pauses between two turns while the protocols make
 * room for the new ones (on_workers); then the new threads start and the
 * acceptor deals to them too.
 *
 * Shrinking retires the highest-numbered workers and moves each of their
 * connections to the others with its socket, unread input, output queue,
 * timer and protocol state:
 *  1. The acceptor stops dealing to the retiring workers.
 *  2. Each retiring worker suspends its connections (the backend stops
 *     every operation on the socket; output keeps queueing, what peers
 *     send waits in the kernel) and waits out their in-flight operations
 *     and offload jobs, while every worker goes on serving.
 *  3. Every worker pauses at the end of a turn. A retiring one empties
 *     its inbox once more (lines fanned out to its members before the
 *     pause land in their queues), then its connections leave it; each
 *     remaining worker takes its share, attaches the sockets to its own
 *     backend, tells the protocol (on_move) and flushes what was queued.
 *  4. The protocols hear the new count (on_workers); everyone goes on;
 *     the retired threads end.
 * Between a connection's suspend and its arrival nothing is read from or
 * written to its socket, so no byte is lost or reordered.
 *
 * Only the controlling thread (the one that started the server) calls
 * this, never a worker; one change at a time.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/backend.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"

struct move_list {
    struct mx__move *v;
    size_t n, cap;
};

struct mx__resize {
    unsigned from, to;              /* worker counts before and after */
    pthread_barrier_t bar;          /* the paused workers + the controller */
    sem_t quiet;                    /* one post per retiring worker */
    pthread_mutex_t mu;             /* the lists, while connections leave */
    atomic_uint next;               /* round-robin over the remaining */
    bool settled;                   /* the pause's rounds are over */
    atomic_uint inside;             /* workers not yet out of the last wait */
    unsigned rounds;
    struct move_list to_worker[MX_MAX_WORKERS];
};

/* --- on the workers ---------------------------------------------------- */

static void suspend_all(struct mx_worker *w)
{
    for (uint32_t i = 0; i < w->nslots; i++) {
        struct mx_conn *c = w->slots[i];
        if (c && !(c->flags & (MX_C_MOVING | MX_C_DEAD)))
            mx__conn_suspend(c);
    }
}

void mx__worker_retiring(struct mx_worker *w)
{
    suspend_all(w);
    if (!w->retire_said && w->quieting == 0 && w->jobs_out == 0) {
        w->retire_said = true;
        sem_post(&w->retire->quiet);
    }
}

/* One round of the pause: what was posted so far is handled (a line fanned
 * out before the pause reaches the members each worker has before any
 * moves: none gets it twice or never), and a retiring worker's last
 * in-flight operations and offload jobs come back. */
static void drain(struct mx_worker *w, bool leaving)
{
    w->now_ms = mx__clock_ms();
    if (leaving && (w->quieting || w->jobs_out)) {
        w->be->wait(w, 1);
        w->now_ms = mx__clock_ms();
        w->be->dispatch(w);
    }
    mx__worker_drain_inbox(w);
    mx__worker_end_turn(w);
    if (leaving)
        suspend_all(w);
}

/* Controller, every worker between two rounds: nothing is left that was
 * posted by a worker (the pool and the acceptor post only jobs' results
 * and new connections, which need no round), and the retiring workers
 * hold nothing in flight. */
static bool settled(struct mx_server *s, const struct mx__resize *r)
{
    for (unsigned i = 0; i < r->from; i++) {
        struct mx_worker *w = &s->workers[i];
        if (mx__inbox_has_posts(&w->inbox))
            return false;
        if (i >= r->to && (w->quieting || w->jobs_out || !mx__inbox_empty(&w->inbox)))
            return false;
    }
    return true;
}

static int list_add(struct move_list *l, const struct mx__move *m)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct mx__move *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *m;
    return 0;
}

/* Closed connections still held by the backend stay: the thread ends once
 * they are released. */
static void leave_all(struct mx_worker *w, struct mx__resize *r)
{
    for (uint32_t i = 0; i < w->nslots; i++) {
        struct mx_conn *c = w->slots[i];
        if (!c || (c->flags & MX_C_DEAD))
            continue;
        unsigned to = atomic_fetch_add(&r->next, 1) % r->to;
        pthread_mutex_lock(&r->mu);
        struct mx__move m;
        mx__conn_leave(c, &m);
        int err = list_add(&r->to_worker[to], &m);
        pthread_mutex_unlock(&r->mu);
        if (err < 0) {
            mx__conn_arrive(w, &m);
            mx__conn_abort(c, "no memory to move it to another worker");
        }
    }
}

static void arrive_all(struct mx_worker *w, struct mx__resize *r)
{
    struct move_list *l = &r->to_worker[w->idx];
    for (size_t i = 0; i < l->n; i++)
        mx__conn_arrive(w, &l->v[i]);
}

void mx__worker_pause(struct mx_worker *w)
{
    struct mx__resize *r = w->resize;
    w->resize = NULL;
    bool leaving = w->idx >= r->to;
    pthread_barrier_wait(&r->bar);      /* every worker between turns */
    do {
        drain(w, leaving);
        pthread_barrier_wait(&r->bar);  /* a round done: the controller looks */
        pthread_barrier_wait(&r->bar);  /* ... and has said */
    } while (!r->settled);
    if (leaving)
        leave_all(w, r);
    pthread_barrier_wait(&r->bar);      /* every leaver listed */
    if (!leaving)
        arrive_all(w, r);
    pthread_barrier_wait(&r->bar);      /* moved; the protocols hear of it */
    pthread_barrier_wait(&r->bar);      /* go on */
    /* The last touch of r: the controller frees it once all are out. */
    atomic_fetch_sub_explicit(&r->inside, 1, memory_order_release);
    mx__worker_end_turn(w);             /* the arrivals' queued output */
    if (leaving) {
        w->retired = true;              /* ends once the closed are released */
        w->retire = NULL;
    }
}


/* --- on the controlling thread ----------------------------------------- */

static void post_run(struct mx_worker *w, mx_run_fn *fn, void *arg)
{
    struct mx_msg m = { .type = MX_MSG_RUN, .fd = -1, .ptr = arg, .run = fn };
    /* Only ENOMEM fails, and a change that cannot reach a worker would
     * wait for it forever: retry. */
    while (mx__inbox_post(&w->inbox, &m) < 0)
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
}

struct worker_msg {
    struct mx_worker *w;
    struct mx__resize *r;
};

static void start_retire(void *arg)
{
    struct worker_msg *m = arg;
    m->w->retire = m->r;
    m->w->retire_said = false;
}

static void start_pause(void *arg)
{
    struct worker_msg *m = arg;
    m->w->resize = m->r;
}

/* fn(w) posted to workers [lo, hi), each with its own message. */
static void post_each(struct mx_server *s, unsigned lo, unsigned hi, mx_run_fn *fn,
                      struct mx__resize *r, struct worker_msg *msgs)
{
    for (unsigned i = lo; i < hi; i++) {
        msgs[i] = (struct worker_msg){ &s->workers[i], r };
        post_run(&s->workers[i], fn, &msgs[i]);
    }
}

/* Every protocol in use hears the new count once. */
static int tell_protocols(struct mx_server *s, unsigned n)
{
    int err = 0;
    for (unsigned i = 0; i < s->nlisteners; i++) {
        const struct mx_listener *ls = &s->listeners[i];
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = s->listeners[j].proto == ls->proto &&
                   s->listeners[j].proto_data == ls->proto_data;
        if (seen || !ls->proto->on_workers)
            continue;
        int e = ls->proto->on_workers(ls->proto_data, n);
        if (e < 0 && err == 0)
            err = e;
    }
    return err;
}

/* Pauses workers [0, r->from) and carries out the moves; returns what the
 * protocols said of the count r->to. */
static int pause_all(struct mx_server *s, struct mx__resize *r, struct worker_msg *msgs)
{
    atomic_store(&r->inside, r->from);
    post_each(s, 0, r->from, start_pause, r, msgs);
    pthread_barrier_wait(&r->bar);
    do {
        pthread_barrier_wait(&r->bar);
        r->settled = settled(s, r);
        r->rounds++;
        pthread_barrier_wait(&r->bar);
    } while (!r->settled);
    pthread_barrier_wait(&r->bar);
    pthread_barrier_wait(&r->bar);
    int err = tell_protocols(s, r->to);
    pthread_barrier_wait(&r->bar);
    /* Out of the barrier's wait, not just past it, before it goes. */
    while (atomic_load_explicit(&r->inside, memory_order_acquire) > 0)
        sched_yield();
    return err;
}

static void wait_quiet(struct mx__resize *r, unsigned n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    for (unsigned i = 0; i < n; i++) {
        int rc;
        while ((rc = sem_timedwait(&r->quiet, &until)) < 0 && errno == EINTR)
            ;
        if (rc < 0) {
            /* They finish in the pause instead, which then lasts longer. */
            mx_warn("workers: retiring workers still busy after 10 s; pausing anyway");
            return;
        }
    }
}

static int shrink(struct mx_server *s, struct mx__resize *r, struct worker_msg *msgs)
{
    atomic_store(&s->nworkers, r->to);
    if (s->acceptor.running)
        mx__acceptor_sync(&s->acceptor);
    post_each(s, r->to, r->from, start_retire, r, msgs + MX_MAX_WORKERS);
    wait_quiet(r, r->from - r->to);
    uint64_t t0 = mx__clock_ns();
    int err = pause_all(s, r, msgs);
    size_t moved = 0;
    for (unsigned i = 0; i < r->to; i++)
        moved += r->to_worker[i].n;
    for (unsigned i = r->to; i < r->from; i++)
        mx__worker_join(&s->workers[i]);
    mx_info("workers: %u -> %u: %zu connections moved in a %.1f ms pause (%u rounds)", r->from,
            r->to, moved, (double)(mx__clock_ns() - t0) / 1e6, r->rounds);
    return err;
}

static int grow(struct mx_server *s, struct mx__resize *r, struct worker_msg *msgs)
{
    int err = 0;
    unsigned ready = r->from;
    while (ready < r->to) {
        struct mx_worker *w = &s->workers[ready];
        if (ready < s->nseen) {
            mx__worker_revive(w);
        } else if ((err = mx__worker_init(w, s, ready, s->be)) < 0) {
            mx__worker_fini(w);
            break;
        } else {
            s->nseen++;
        }
        ready++;
    }
    r->to = ready;
    if (r->to > r->from && (err = pause_all(s, r, msgs)) < 0)
        r->to = r->from; /* a protocol has no room for them: not started */
    unsigned n = r->from;
    while (n < r->to && (err = mx__worker_start(&s->workers[n])) == 0)
        n++;
    atomic_store(&s->nworkers, n);
    mx_info("workers: %u -> %u", r->from, n);
    return err;
}

int mx_server_set_workers(struct mx_server *s, unsigned n)
{
    if (n < 1 || n > MX_MAX_WORKERS)
        return -EINVAL;
    if (!s->workers || s->stopped)
        return -EAGAIN;
    for (unsigned i = 0; i < s->nseen; i++)
        if (s->workers[i].running && pthread_equal(pthread_self(), s->workers[i].tid))
            return -EDEADLK;
    unsigned from = atomic_load(&s->nworkers);
    if (n == from)
        return 0;
    struct mx__resize *r = calloc(1, sizeof *r);
    /* One message per worker for the pause, one for retiring. */
    struct worker_msg *msgs = calloc(2 * MX_MAX_WORKERS, sizeof *msgs);
    if (!r || !msgs) {
        free(r);
        free(msgs);
        return -ENOMEM;
    }
    r->from = from;
    r->to = n;
    pthread_barrier_init(&r->bar, NULL, from + 1);
    sem_init(&r->quiet, 0, 0);
    pthread_mutex_init(&r->mu, NULL);
    int err = n < from ? shrink(s, r, msgs) : grow(s, r, msgs);
    s->opts.workers = atomic_load(&s->nworkers);
    pthread_barrier_destroy(&r->bar);
    sem_destroy(&r->quiet);
    pthread_mutex_destroy(&r->mu);
    for (unsigned i = 0; i < MX_MAX_WORKERS; i++)
        free(r->to_worker[i].v);
    free(r);
    free(msgs);
    return err;
}
