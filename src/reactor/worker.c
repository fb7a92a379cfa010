/* worker.c - one reactor thread: loop, inbox, connection table, idle
 * timeouts and graceful stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/outq.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"

/* --- slot table: slot + generation make the backend's tag -------------
 * Every connection a worker takes gets the next generation (never 0, so
 * no id is 0): an event still queued for a slot's earlier holder names
 * another generation and misses. One counter, not one per slot, keeps
 * the table at 12 bytes a slot. */

static int grow_slots(struct mx_worker *w)
{
    uint32_t old = w->nslots, n = old ? old * 2 : 64;
    if (n > MX_SLOT_MAX + 1)
        return -ENOMEM;
    struct mx_conn **s = realloc(w->slots, n * sizeof *s);
    if (s)
        w->slots = s;
    uint32_t *f = realloc(w->free_slots, n * sizeof *f);
    if (f)
        w->free_slots = f;
    if (!s || !f)
        return -ENOMEM;
    for (uint32_t i = n; i > old; i--) {
        w->slots[i - 1] = NULL;
        w->free_slots[w->nfree++] = i - 1;
    }
    w->nslots = n;
    return 0;
}

int mx__worker_slot_take(struct mx_worker *w, struct mx_conn *c)
{
    if (w->nfree == 0 && grow_slots(w) < 0)
        return -ENOMEM;
    c->slot = w->free_slots[--w->nfree];
    if (++w->last_gen == 0)
        w->last_gen = 1;
    c->gen = w->last_gen;
    w->slots[c->slot] = c;
    w->nconns++;
    return 0;
}

void mx__worker_slot_release(struct mx_worker *w, struct mx_conn *c)
{
    w->slots[c->slot] = NULL;
    w->free_slots[w->nfree++] = c->slot;
    w->nconns--;
}

struct mx_conn *mx__worker_lookup(struct mx_worker *w, uint64_t tag)
{
    uint32_t slot = mx__tag_slot(tag);
    struct mx_conn *c = slot < w->nslots ? w->slots[slot] : NULL;
    return c && c->gen == mx__tag_gen(tag) ? c : NULL;
}

struct mx_conn *mx__worker_find(struct mx_worker *w, uint64_t id)
{
    if (mx__id_worker(id) != w->idx)
        return NULL;
    struct mx_conn *c = mx__worker_lookup(w, mx__id_tag(id));
    return c && !(c->flags & MX_C_DEAD) ? c : NULL;
}

/* --- idle list: least recently active first -------------------------- */

void mx__worker_idle_unlink(struct mx_worker *w, struct mx_conn *c)
{
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else if (w->idle_head == c)
        w->idle_head = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else if (w->idle_tail == c)
        w->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

void mx__worker_touch(struct mx_worker *w, struct mx_conn *c)
{
    c->last_active = (uint32_t)w->now_ms;
    if (w->idle_tail == c)
        return;
    mx__worker_idle_unlink(w, c);
    c->idle_prev = w->idle_tail;
    if (w->idle_tail)
        w->idle_tail->idle_next = c;
    else
        w->idle_head = c;
    w->idle_tail = c;
}

static uint32_t idle_ms(const struct mx_worker *w, const struct mx_conn *c)
{
    return (uint32_t)w->now_ms - c->last_active;
}

/* A connection idle past the limit is closed gracefully and given one
 * more period to flush; still there after that, it is cut. */
static void expire_idle(struct mx_worker *w)
{
    unsigned limit = w->lim.idle_timeout_ms;
    struct mx_conn *c;
    while (limit && (c = w->idle_head) && idle_ms(w, c) >= limit) {
        if (c->flags & MX_C_CLOSING) {
            mx__conn_abort(c, "idle timeout while flushing");
        } else {
            mx_conn_close(c, "idle timeout");
            if (!(c->flags & MX_C_DEAD))
                mx__worker_touch(w, c);
        }
    }
}

static int next_timeout(const struct mx_worker *w)
{
    uint64_t when = mx__timers_next(&w->timers);
    unsigned limit = w->lim.idle_timeout_ms;
    if (limit && w->idle_head) {
        uint32_t idle = idle_ms(w, w->idle_head);
        uint64_t due = w->now_ms + (idle < limit ? limit - idle : 0);
        if (due < when)
            when = due;
    }
    if (when == UINT64_MAX)
        return -1;
    return when <= w->now_ms ? 0 : (int)(when - w->now_ms < 60000 ? when - w->now_ms : 60000);
}

/* --- stop ------------------------------------------------------------ */

static void stop_deadline(struct mx_timer *t, void *arg)
{
    struct mx_worker *w = arg;
    (void)t;
    for (uint32_t i = 0; i < w->nslots; i++)
        if (w->slots[i])
            mx__conn_abort(w->slots[i], "shutdown timeout with output still queued");
}

static void begin_stop(struct mx_worker *w)
{
    w->stopping = true;
    mx__timer_arm(&w->timers, &w->stop_deadline, w->now_ms + w->lim.shutdown_timeout_ms);
    for (uint32_t i = 0; i < w->nslots; i++) {
        struct mx_conn *c = w->slots[i];
        if (!c || (c->flags & (MX_C_CLOSING | MX_C_DEAD)))
            continue;
        if ((c->flags & MX_C_OPENED) && c->ls->proto->on_stop)
            c->ls->proto->on_stop(c);
        mx_conn_close(c, NULL);
    }
}

/* --- the loop -------------------------------------------------------- */

void mx__worker_wakeup(struct mx_worker *w)
{
    mx__worker_drain_inbox(w);
}

size_t mx__worker_drain_inbox(struct mx_worker *w)
{
    struct mx_msg *m;
    size_t n = mx__inbox_take(&w->inbox, &m);
    for (size_t i = 0; i < n; i++) {
        switch (m[i].type) {
        case MX_MSG_CONN:
            if (w->stopping) {
                close(m[i].fd);
                mx__server_conn_gone(w->srv, (uint32_t)m[i].id);
            } else {
                mx__conn_create(w, m[i].fd, m[i].ptr, (uint32_t)m[i].id);
            }
            break;
        case MX_MSG_STOP:
            begin_stop(w);
            break;
        case MX_MSG_JOB_DONE:
            mx__offload_done(w, m[i].ptr);
            break;
        case MX_MSG_POST:
            m[i].post(mx__worker_find(w, m[i].id), m[i].ptr);
            break;
        case MX_MSG_RUN:
            m[i].run(m[i].ptr);
            break;
        }
    }
    return n;
}

void mx__worker_note_enobufs(struct mx_worker *w)
{
    mx__count(&w->stats.uring_enobufs, 1);
}

void mx__worker_note_bundle(struct mx_worker *w)
{
    mx__count(&w->stats.uring_bundles, 1);
}

void mx__worker_note_cq_overflow(struct mx_worker *w)
{
    mx__count(&w->stats.uring_cq_overflows, 1);
}

/* Output queued during this turn goes out in one write per connection. */
static void flush_dirty(struct mx_worker *w)
{
    struct mx_conn *c;
    while ((c = w->dirty)) {
        w->dirty = c->next_dirty;
        mx__conn_flush(c);
    }
}

void mx__worker_owe_close(struct mx_worker *w, struct mx_conn *c)
{
    c->next_closed = NULL;
    if (w->closed_tail)
        w->closed_tail->next_closed = c;
    else
        w->closed = c;
    w->closed_tail = c;
}

/* In close order: a chat's QUIT lines go out as its clients left. */
static void notify_closed(struct mx_worker *w)
{
    struct mx_conn *c;
    while ((c = w->closed)) {
        w->closed = c->next_closed;
        if (!w->closed)
            w->closed_tail = NULL;
        mx__conn_notify_closed(c);
    }
}

void mx__worker_end_turn(struct mx_worker *w)
{
    /* An on_close may send to others (and cut them), a flush may fail and
     * close: settle both before anything is freed. */
    while (w->closed || w->dirty) {
        notify_closed(w);
        flush_dirty(w);
    }
    struct mx_conn *c;
    while ((c = w->dead)) {
        w->dead = c->next_dead;
        mx__conn_free(c);
        mx__worker_freed(w);
    }
}

static void run_loop(struct mx_worker *w)
{
    /* A stopping worker still waits for its offload jobs: their results
     * come back to this inbox. */
    /* The reading that ends a turn is also the next wait's clock, so
     * timing turns costs no extra clock call. */
    uint64_t end_ns = mx__clock_ns();
    while (!((w->stopping || w->retired) && w->nconns == 0 && w->jobs_out == 0)) {
        w->now_ms = end_ns / 1000000u;
        int err = w->be->wait(w, next_timeout(w));
        if (err < 0 && err != -EINTR) {
            mx_error("%s wait: %s", w->be->name, strerror(-err));
            break;
        }
        uint64_t start_ns = mx__clock_ns();
        w->now_ms = start_ns / 1000000u;
        if (err >= 0)
            w->be->dispatch(w);
        mx__timers_run(&w->timers, w->now_ms);
        expire_idle(w);
        mx__worker_end_turn(w);
        if (w->retire)
            mx__worker_retiring(w);
        if (w->resize)
            mx__worker_pause(w);
        end_ns = mx__clock_ns();
        mx__stats_turn(&w->stats, end_ns - start_ns);
    }
}

static void *worker_main(void *arg)
{
    struct mx_worker *w = arg;
    w->tid = pthread_self();
    mx_log_thread_name(w->name);
    mx__clock_bind(&w->now_ms);
    w->now_ms = mx__clock_ms();
    struct mx_backend_conf conf = {
        .wake_fd = w->inbox.efd,
        .scratch = w->scratch,
        .scratch_size = MX_SCRATCH_SIZE,
        .uring_buffers = w->srv->opts.uring_buffers,
        .uring_buffer_size = (unsigned)w->srv->opts.uring_buffer_size,
        .uring_incremental = w->srv->opts.uring_incremental,
        .uring_bundles = w->srv->opts.uring_bundles,
        .uring_fixed_files = w->srv->opts.uring_fixed_files,
    };
    w->init_err = w->be->init(w, &conf);
    sem_post(&w->ready);
    if (w->init_err < 0)
        return NULL;
    run_loop(w);
    w->be->fini(w);
    mx__outq_thread_cleanup();
    mx__ws_thread_cleanup();
    if (w->retired)
        mx_info("worker w%u retired: served %llu connections", w->idx,
                (unsigned long long)w->served);
    else
        mx_info("worker w%u stopped: served %llu connections", w->idx,
                (unsigned long long)w->served);
    atomic_store(&w->finished, true);
    return NULL;
}

void mx__limits_of(const struct mx_server_opts *o, struct mx__limits *lim)
{
    *lim = (struct mx__limits){
        .max_line = o->max_line,
        .output_high_water = o->output_high_water,
        .output_low_water = o->output_low_water,
        .output_max = o->output_max,
        .idle_timeout_ms = o->idle_timeout_ms,
        .shutdown_timeout_ms = o->shutdown_timeout_ms,
    };
}

int mx__worker_init(struct mx_worker *w, struct mx_server *srv, unsigned idx,
                   const struct mx_backend_ops *be)
{
    *w = (struct mx_worker){ .srv = srv, .idx = idx, .be = be };
    mx__limits_of(&srv->opts, &w->lim);
    snprintf(w->name, sizeof w->name, "muxd-w%u", idx);
    w->stop_deadline = (struct mx_timer){ .fn = stop_deadline, .arg = w };
    mx__worker_trim_init(w);
    sem_init(&w->ready, 0, 0);
    int err = mx__inbox_init(&w->inbox);
    if (err == 0 && !(w->scratch = malloc(MX_SCRATCH_SIZE)))
        err = -ENOMEM;
    return err;
}

void mx__worker_revive(struct mx_worker *w)
{
    mx__limits_of(&w->srv->opts, &w->lim);
    w->stopping = w->retired = w->retire_said = false;
    w->retire = w->resize = NULL;
    w->quieting = 0;
    w->served = 0;
    w->init_err = 0;
    atomic_store(&w->finished, false);
}

int mx__worker_start(struct mx_worker *w)
{
    int err = -pthread_create(&w->thread, NULL, worker_main, w);
    if (err < 0)
        return err;
    while (sem_wait(&w->ready) < 0)
        ;
    if (w->init_err < 0) {
        mx_error("%s: %s backend setup: %s", w->name, w->be->name, strerror(-w->init_err));
        pthread_join(w->thread, NULL);
        return w->init_err;
    }
    w->running = true;
    return 0;
}

void mx__worker_join(struct mx_worker *w)
{
    if (!w->running)
        return;
    pthread_join(w->thread, NULL);
    w->running = false;
}

void mx__worker_fini(struct mx_worker *w)
{
    /* Connections still in the inbox were never built: close their fds.
     * Posts still there get their "connection gone" call. */
    struct mx_msg *m;
    size_t n = mx__inbox_take(&w->inbox, &m);
    for (size_t i = 0; i < n; i++) {
        if (m[i].type == MX_MSG_CONN)
            close(m[i].fd);
        else if (m[i].type == MX_MSG_POST)
            m[i].post(NULL, m[i].ptr);
        else if (m[i].type == MX_MSG_RUN)
            m[i].run(m[i].ptr);
    }
    mx__inbox_fini(&w->inbox);
    sem_destroy(&w->ready);
    mx__timers_fini(&w->timers);
    free(w->scratch);
    free(w->slots);
    free(w->free_slots);
}
