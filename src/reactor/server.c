/* server.c - build, start and stop the listeners, workers and acceptor. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/backend.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/server.h"

void mx_server_opts_default(struct mx_server_opts *o)
{
    *o = (struct mx_server_opts){
        .workers = 1,
        .backend = "auto",
        .listen_backlog = 4096,
        .shutdown_timeout_ms = 5000,
        .max_connections = 100000,
        .max_line = 8 * 1024,
        .output_high_water = 256 * 1024,
        .output_low_water = 64 * 1024,
        .output_max = 4 * 1024 * 1024,
        .idle_timeout_ms = 300 * 1000,
        .uring_buffers = 0,
        .uring_buffer_size = 8 * 1024,
        .uring_incremental = true,
        .uring_bundles = true,
        .uring_fixed_files = true,
        .offload_threads = 1,
        .offload_queue_max = 1024,
    };
}

int mx_server_new(const struct mx_server_opts *o, struct mx_server **out)
{
    *out = NULL;
    if (o->workers < 1 || o->workers > MX_MAX_WORKERS ||
        (o->uring_buffers & (o->uring_buffers - 1)) || o->uring_buffers > 32768)
        return -EINVAL;
    const char *why;
    int err;
    const struct mx_backend_ops *be = mx__backend_choose(o->backend, &why, &err);
    if (!be)
        return err;
    if (why)
        mx_info("backend %s: %s", be->name, why);
    struct mx_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->opts = *o;
    atomic_init(&s->max_conns, o->max_connections);
    atomic_init(&s->max_per_ip, o->max_connections_per_ip);
    atomic_init(&s->rate_per_ip, o->connect_rate_per_ip);
    mx__admit_ip_init(&s->perip, MX__ADMIT_IP_CAP);
    s->be = be;
    *out = s;
    return 0;
}

const char *mx_server_backend(const struct mx_server *s) { return s->be->name; }

static struct mx_listener *listener_named(struct mx_server *s, const char *name)
{
    for (unsigned i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].fd >= 0 && strcmp(s->listeners[i].name, name) == 0)
            return &s->listeners[i];
    return NULL;
}

int mx_server_listen(struct mx_server *s, const char *name, const char *addr,
                     const struct mx_proto *proto, void *proto_data)
{
    return mx_server_listen_with(s, &(struct mx_listen_opts){
        .name = name, .addr = addr, .proto = proto, .proto_data = proto_data });
}

int mx_server_listen_with(struct mx_server *s, const struct mx_listen_opts *o)
{
    const char *name = o->name, *addr = o->addr;
    if (s->nlisteners == MX_SERVER_MAX_LISTENERS)
        return -ENOSPC;
    if (listener_named(s, name))
        return -EINVAL;
    /* Checked before binding, so a bad option leaves nothing behind. */
    struct mx__proxy_cfg proxy;
    if (mx__proxy_cfg_set(&proxy, o) < 0)
        return -EINVAL;
    if (o->overflow == MX_OVERFLOW_DROP_OLDEST && o->tls)
        return -EINVAL;
    if (o->fanout_delay_ms > MX_FANOUT_DELAY_MAX_MS)
        return -EINVAL;
    struct mx__ws_cfg ws;
    if (mx__ws_cfg_set(&ws, o) < 0)
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    if (mx__sock_parse_addr(addr, &ss, &len) < 0)
        return -EINVAL;
    int fd = mx__sock_listen((struct sockaddr *)&ss, len, s->opts.listen_backlog);
    if (fd < 0)
        return fd;
    struct mx_listener *ls = &s->listeners[s->nlisteners];
    *ls = (struct mx_listener){ .fd = fd, .proto = o->proto, .proto_data = o->proto_data };
    /* The transport options: PROXY header, per-address limits, TLS. */
    ls->tls = o->tls;
    atomic_init(&ls->max_per_ip, o->max_conns_per_ip);
    atomic_init(&ls->rate_per_ip, o->connect_rate_per_ip);
    atomic_init(&ls->fanout_delay_ms, o->fanout_delay_ms);
    ls->proxy = proxy;
    ls->overflow = o->overflow;
    ls->ws = ws;
    snprintf(ls->name, sizeof ls->name, "%s", name);
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    mx__sock_format_addr((struct sockaddr *)&ss, ls->addr, sizeof ls->addr);
    /* The slot is complete before the acceptor can see it wanted. */
    atomic_store(&ls->want, true);
    s->nlisteners++;
    if (s->acceptor.running)
        mx__acceptor_sync(&s->acceptor);
    mx_info("listener %s on %s (protocol %s)", ls->name, ls->addr, o->proto->name);
    if (ws.on)
        mx_info("listener %s: WebSocket%s%s", ls->name, ws.page ? ", web client at /" : "",
                ws.origins[0] ? ", browsers only from allowed_origins" : "");
    if (proxy.mode != MX_PROXY_OFF)
        mx_info("listener %s: PROXY header %s required, from %s only", ls->name,
                proxy.mode == MX_PROXY_V1 ? "v1" : proxy.mode == MX_PROXY_V2 ? "v2" : "v1 or v2",
                o->proxy_from);
    return 0;
}

int mx_server_listen_update(struct mx_server *s, const struct mx_listen_opts *o)
{
    struct mx_listener *ls = listener_named(s, o->name);
    if (!ls)
        return -ENOENT;
    if (o->fanout_delay_ms > MX_FANOUT_DELAY_MAX_MS)
        return -EINVAL;
    atomic_store(&ls->max_per_ip, o->max_conns_per_ip);
    atomic_store(&ls->rate_per_ip, o->connect_rate_per_ip);
    atomic_store(&ls->fanout_delay_ms, o->fanout_delay_ms);
    return 0;
}

int mx_server_unlisten(struct mx_server *s, const char *name)
{
    struct mx_listener *ls = listener_named(s, name);
    if (!ls || !atomic_load(&ls->want))
        return -ENOENT;
    atomic_store(&ls->want, false);
    if (s->acceptor.running)
        mx__acceptor_sync(&s->acceptor);
    close(ls->fd);
    ls->fd = -1;
    mx_info("listener %s on %s closed; its connections stay until they end", ls->name, ls->addr);
    return 0;
}

static int start_workers(struct mx_server *s)
{
    /* Room for every worker a reload may add: untouched pages cost no
     * memory, and a worker's address never changes. */
    s->workers = calloc(MX_MAX_WORKERS, sizeof *s->workers);
    if (!s->workers)
        return -ENOMEM;
    for (unsigned i = 0; i < s->opts.workers; i++) {
        int err = mx__worker_init(&s->workers[i], s, i, s->be);
        if (err == 0)
            err = mx__worker_start(&s->workers[i]);
        if (err < 0) {
            mx__worker_fini(&s->workers[i]);
            return err;
        }
        s->nseen++;
        s->nworkers++;
    }
    return 0;
}

int mx_server_start(struct mx_server *s)
{
    if (s->started || s->nlisteners == 0)
        return -EINVAL;
    s->started = true;
    int err = mx__offload_start(&s->offload, s->opts.offload_threads, s->opts.offload_queue_max);
    if (err == 0)
        err = start_workers(s);
    if (err == 0)
        err = mx__acceptor_start(&s->acceptor, s);
    if (err < 0)
        mx_server_stop(s);
    return err;
}

void mx_server_stop(struct mx_server *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->acceptor.srv)
        mx__acceptor_stop(&s->acceptor);
    struct mx_msg m = { .type = MX_MSG_STOP, .fd = -1 };
    for (unsigned i = 0; i < s->nseen; i++)
        if (s->workers[i].running)
            mx__inbox_post(&s->workers[i].inbox, &m);
    /* Jobs not yet started go back as cancelled; running ones finish and
     * the workers wait for them. */
    mx__offload_cancel_queued(&s->offload);
}

int mx_server_post(struct mx_server *s, uint64_t conn_id, mx_post_fn *fn, void *arg)
{
    unsigned idx = mx__id_worker(conn_id);
    if (idx >= s->nseen || !s->workers[idx].running)
        return -ENOENT;
    struct mx_msg m = { .type = MX_MSG_POST, .fd = -1, .ptr = arg, .id = conn_id, .post = fn };
    return mx__inbox_post(&s->workers[idx].inbox, &m);
}

int mx_server_run(struct mx_server *s, unsigned worker, mx_run_fn *fn, void *arg)
{
    /* A retiring worker is still reached until its thread ends. */
    if (worker >= s->nseen || !s->workers[worker].running)
        return -ENOENT;
    struct mx_msg m = { .type = MX_MSG_RUN, .fd = -1, .ptr = arg, .run = fn };
    return mx__inbox_post(&s->workers[worker].inbox, &m);
}

struct sync_run {
    mx_run_fn *fn;
    void *arg;
    sem_t done;
};

static void run_then_post(void *p)
{
    struct sync_run *r = p;
    r->fn(r->arg);
    sem_post(&r->done);
}

int mx_server_run_sync(struct mx_server *s, unsigned worker, mx_run_fn *fn, void *arg)
{
    for (unsigned i = 0; i < s->nseen; i++)
        if (s->workers[i].running && pthread_equal(pthread_self(), s->workers[i].tid))
            return -EDEADLK;
    struct sync_run r = { .fn = fn, .arg = arg };
    sem_init(&r.done, 0, 0);
    int err = mx_server_run(s, worker, run_then_post, &r);
    if (err == 0)
        while (sem_wait(&r.done) < 0 && errno == EINTR)
            ;
    sem_destroy(&r.done);
    return err;
}

struct limits_post {
    struct mx_worker *w;
    const struct mx__limits *lim;
};

/* On the worker, between two turns: its connections see the whole new
 * set from the next turn on. */
static void apply_limits(void *arg)
{
    struct limits_post *p = arg;
    p->w->lim = *p->lim;
}

int mx_server_update(struct mx_server *s, const struct mx_server_opts *o)
{
    struct mx__limits lim;
    mx__limits_of(o, &lim);
    int err = 0;
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct limits_post p = { &s->workers[i], &lim };
        int e = mx_server_run_sync(s, i, apply_limits, &p);
        if (e < 0)
            err = e;
    }
    atomic_store(&s->max_conns, o->max_connections);
    atomic_store(&s->max_per_ip, o->max_connections_per_ip);
    atomic_store(&s->rate_per_ip, o->connect_rate_per_ip);
    atomic_store(&s->offload.max, o->offload_queue_max);
    s->opts.max_connections = o->max_connections;
    s->opts.max_connections_per_ip = o->max_connections_per_ip;
    s->opts.connect_rate_per_ip = o->connect_rate_per_ip;
    s->opts.offload_queue_max = o->offload_queue_max;
    s->opts.max_line = o->max_line;
    s->opts.output_high_water = o->output_high_water;
    s->opts.output_low_water = o->output_low_water;
    s->opts.output_max = o->output_max;
    s->opts.idle_timeout_ms = o->idle_timeout_ms;
    s->opts.shutdown_timeout_ms = o->shutdown_timeout_ms;
    return err;
}

unsigned mx_server_workers(const struct mx_server *s)
{
    /* Before the start, the count it will start with. */
    return s->workers ? atomic_load(&s->nworkers) : s->opts.workers;
}

int mx_server_finished(struct mx_server *s)
{
    for (unsigned i = 0; i < s->nseen; i++)
        if (s->workers[i].running && !atomic_load(&s->workers[i].finished))
            return 0;
    return 1;
}

void mx_server_free(struct mx_server *s)
{
    if (!s)
        return;
    mx_server_stop(s);
    /* Join them all before freeing any: a worker still stopping may post
     * to another one (a chat's "X has quit"). */
    for (unsigned i = 0; i < s->nseen; i++)
        mx__worker_join(&s->workers[i]);
    /* A header read while draining may have refused after the acceptor
     * stopped. */
    mx__ip_bursts_over(&s->ip_bursts, 0, true);
    /* The pool's last post may still be writing an inbox's eventfd. */
    if (s->started)
        mx__offload_stop(&s->offload);
    for (unsigned i = 0; i < s->nseen; i++)
        mx__worker_fini(&s->workers[i]);
    for (unsigned i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].fd >= 0)
            close(s->listeners[i].fd);
    free(s->workers);
    mx__admit_ip_fini(&s->perip);
    free(s);
}
