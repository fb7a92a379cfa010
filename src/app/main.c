/* main.c - the muxd daemon: command line, config, signals, lifecycle.
 *
 * Exit status: 0 after a clean stop, 1 when the server cannot start, 2 on a
 * bad command line or config. SIGINT/SIGTERM are taken by mx_server_serve
 * on the main thread, so no handler ever runs inside a worker.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/config.h"
#include "app/cpus.h"
#include "app/fdlimit.h"
#include "app/overrides.h"
#include "app/protocols.h"
#include "muxd/muxd.h"

/* The soft limit is often 1024 while the hard one is far higher; a server
 * meant for many connections takes all it is allowed. */
static unsigned long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = was;
        else
            mx_info("fd limit raised from %lu to the hard limit %lu",
                    (unsigned long)was, (unsigned long)rl.rlim_max);
    }
    return (unsigned long)rl.rlim_cur;
}

static int load_config(const struct mx_cli *cli, struct mx_config *cfg)
{
    char err[512];
    mx_config_default(cfg);
    if (mx_config_load(cfg, cli->config_path, err, sizeof err) < 0) {
        fprintf(stderr, "muxd: %s\n", err);
        return -1;
    }
    if (mx_cli_override(cli, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "muxd: %s\n", err);
        return -1;
    }
    if (mx_config_validate(cfg, cli->config_path, err, sizeof err) < 0) {
        fprintf(stderr, "muxd: %s\n", err);
        return -1;
    }
    return 0;
}

static unsigned resolve_workers(unsigned workers)
{
    if (workers)
        return workers;
    unsigned n = mx_cpus_usable();
    return n > MX_MAX_WORKERS ? MX_MAX_WORKERS : n;
}

static void server_opts(const struct mx_config *cfg, struct mx_server_opts *o)
{
    mx_server_opts_default(o);
    o->workers = resolve_workers(cfg->workers);
    o->backend = cfg->backend;
    o->listen_backlog = cfg->listen_backlog;
    o->shutdown_timeout_ms = cfg->shutdown_timeout_ms;
    o->max_connections = cfg->max_connections;
    o->max_line = cfg->max_line;
    o->output_high_water = cfg->output_high_water;
    o->output_low_water = cfg->output_low_water;
    o->output_max = cfg->output_max;
    o->idle_timeout_ms = cfg->idle_timeout_ms;
    o->uring_buffers = cfg->uring_buffers;
    o->uring_buffer_size = cfg->uring_buffer_size;
    /* auto sizes the pool like the workers: as many jobs can run at once
     * as there are loops handing them out. */
    o->offload_threads = cfg->offload_threads == MX_OFFLOAD_THREADS_AUTO
                             ? o->workers : cfg->offload_threads;
    o->offload_queue_max = cfg->offload_queue_max;
}

/* Each listener's protocol, options and state; they outlive the server. */
struct listeners {
    struct mx_app_listener l[MX_MAX_LISTENERS];
};

static void free_listeners(struct listeners *ls)
{
    for (unsigned i = 0; i < MX_MAX_LISTENERS; i++)
        mx_app_listener_free(&ls->l[i]);
}

/* Builds every listener's options before the server exists, so a bad one
 * (an unreadable chat MOTD) exits 2 like any config error, also for
 * --check-config. */
static int prepare_listeners(const struct mx_config *cfg, struct listeners *ls)
{
    char err[512];
    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        if (mx_app_listener_prepare(&ls->l[i], cfg, &cfg->listeners[i], err, sizeof err) < 0) {
            fprintf(stderr, "muxd: %s\n", err);
            free_listeners(ls);
            return -1;
        }
    }
    return 0;
}

static int add_listeners(struct mx_server *s, const struct mx_config *cfg,
                         struct listeners *ls)
{
    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        const struct mx_listener_cfg *l = &cfg->listeners[i];
        void *data = mx_app_listener_data(&ls->l[i], s);
        if (!data) {
            mx_error("listener %s: out of memory", l->name);
            return -ENOMEM;
        }
        int err = mx_server_listen(s, l->name, l->listen, ls->l[i].p->proto, data);
        if (err < 0) {
            mx_error("listener %s: cannot listen on %s: %s", l->name, l->listen, strerror(-err));
            return err;
        }
    }
    return 0;
}

struct started_info {
    const struct mx_config *cfg;
    const struct mx_server_opts *o;
    unsigned long fd_limit;
};

/* The line the tests and scripts wait for: the server is up. */
static void log_started(struct mx_server *s, void *arg)
{
    const struct started_info *i = arg;
    mx_info("muxd %s started: backend=%s workers=%u offload-threads=%u listeners=%u "
            "fd-limit=%lu", MUXD_VERSION, mx_server_backend(s), i->o->workers,
            i->o->offload_threads, i->cfg->nlisteners, i->fd_limit);
}

static int serve(const struct mx_config *cfg, struct listeners *ls, unsigned long fd_limit)
{
    struct mx_server_opts o;
    server_opts(cfg, &o);
    struct mx_server *s;
    int err = mx_server_new(&o, &s);
    if (err < 0) {
        mx_error("cannot create the server: %s", strerror(-err));
        free_listeners(ls);
        return 1;
    }
    struct started_info info = { cfg, &o, fd_limit };
    err = add_listeners(s, cfg, ls);
    if (err == 0) {
        err = mx_server_serve(s, log_started, &info);
        if (err == -EINTR)
            _exit(1);   /* the workers are still closing: leave them */
        if (err < 0)
            mx_error("cannot start: %s", strerror(-err));
    }
    mx_server_free(s);
    free_listeners(ls);
    if (err < 0)
        return 1;
    mx_info("muxd stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct mx_cli cli;
    char err[512];
    if (mx_cli_parse(argc, argv, &cli, err, sizeof err) < 0) {
        fprintf(stderr, "muxd: %s\n", err);
        mx_cli_usage(stderr);
        return 2;
    }
    if (cli.help) {
        mx_cli_usage(stdout);
        return 0;
    }
    if (cli.version) {
        printf("muxd %s\n", MUXD_VERSION);
        return 0;
    }
    struct mx_config cfg;
    if (load_config(&cli, &cfg) < 0)
        return 2;
    const char *backend, *why;
    int err2 = mx_backend_pick(cfg.backend, &backend, &why);
    if (err2 < 0) {
        fprintf(stderr, "muxd: backend %s cannot run here: %s\n", cfg.backend,
                why ? why : strerror(-err2));
        return 2;
    }
    struct listeners ls = { 0 };
    if (prepare_listeners(&cfg, &ls) < 0)
        return 2;
    char fdwarn[512];
    bool fd_short = mx_fd_ceiling_warning(cfg.max_connections, mx_fd_hard_limit(), fdwarn,
                                          sizeof fdwarn);
    if (cli.check_config) {
        free_listeners(&ls);
        mx_config_print(&cfg, stdout);
        printf("; workers in use: %u\n", resolve_workers(cfg.workers));
        printf("; backend in use: %s%s%s\n", backend, why ? " - " : "", why ? why : "");
        if (fd_short)
            fprintf(stderr, "muxd: warning: %s\n", fdwarn);
        return 0;
    }
    mx_log_set_level(cfg.log_level);
    if (fd_short)
        mx_warn("%s", fdwarn);
    signal(SIGPIPE, SIG_IGN);
    return serve(&cfg, &ls, raise_fd_limit());
}
