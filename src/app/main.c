/* main.c - the muxd daemon: command line, config, signals, lifecycle.
 *
 * Exit status: 0 after a clean stop, 1 when the server cannot start, 2 on a
 * bad command line or config. SIGINT/SIGTERM/SIGQUIT (stop), SIGHUP
 * (reload, reload.c), SIGUSR1 (stats line) and SIGUSR2 (ignored) are taken
 * by mx_server_serve on the main thread, so no handler ever runs inside a
 * worker; SIGPIPE is ignored (a peer gone mid-write is an error return).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/config.h"
#include "app/cpus.h"
#include "app/fdlimit.h"
#include "io/fault.h"
#include "app/listen_opts.h"
#include "app/overrides.h"
#include "app/protocols.h"
#include "app/notify.h"
#include "app/reload.h"
#include "muxd/muxd.h"
#include "proto/admin/admin.h"

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

/* Before the server is freed: threads of the listeners' own that post to
 * its workers stop. */
static void stop_listeners(struct mx_app *app)
{
    for (unsigned i = 0; i < MX_MAX_LISTENERS; i++)
        mx_app_listener_stop(&app->ls[i]);
    for (unsigned i = 0; i < MX_APP_RETIRED; i++)
        mx_app_listener_stop(&app->retired[i]);
}

static void free_listeners(struct mx_app *app)
{
    for (unsigned i = 0; i < MX_MAX_LISTENERS; i++)
        mx_app_listener_free(&app->ls[i]);
    for (unsigned i = 0; i < MX_APP_RETIRED; i++)
        mx_app_listener_free(&app->retired[i]);
}

/* Builds every listener's options before the server exists, so a bad one
 * (an unreadable chat MOTD) exits 2 like any config error, also for
 * --check-config. */
static int prepare_listeners(struct mx_app *app)
{
    char err[512];
    const struct mx_config *cfg = &app->cfg;
    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        if (mx_app_listener_prepare(&app->ls[i], cfg, &cfg->listeners[i], err, sizeof err) < 0) {
            fprintf(stderr, "muxd: %s\n", err);
            free_listeners(app);
            return -1;
        }
    }
    return 0;
}

static int add_listeners(struct mx_server *s, struct mx_app *app)
{
    const struct mx_config *cfg = &app->cfg;
    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        const struct mx_listener_cfg *l = &cfg->listeners[i];
        void *data = l->share_with[0]
                         ? mx_app_shared_data(app->ls, cfg->listeners, i, l->share_with)
                         : mx_app_listener_data(&app->ls[i], s);
        if (!data) {
            mx_error("listener %s: out of memory", l->name);
            return -ENOMEM;
        }
        struct mx_listen_opts lo;
        mx_app_listen_opts(cfg, l, &app->ls[i], data, &lo);
        int err = mx_server_listen_with(s, &lo);
        if (err < 0) {
            mx_error("listener %s: cannot listen on %s: %s", l->name, l->listen, strerror(-err));
            return err;
        }
    }
    return 0;
}

/* [admin] listen: the metrics and health listener, served by the workers
 * like any other (src/proto/admin). o must outlive the server. */
static int add_admin(struct mx_server *s, const struct mx_config *cfg, struct mx_admin_opts *o)
{
    if (!cfg->admin_listen[0])
        return 0;
    *o = (struct mx_admin_opts){ .request_timeout_ms = cfg->admin_request_timeout_ms,
                                 .max_request = 8 * 1024 };
    int err = mx_server_listen(s, "admin", cfg->admin_listen, &mx_admin_proto, o);
    if (err == -ENOSPC)
        mx_error("[admin] cannot listen on %s: it counts as a listener, and %d is the most "
                 "a server has", cfg->admin_listen, MX_MAX_LISTENERS_PER_SERVER);
    else if (err < 0)
        mx_error("[admin] cannot listen on %s: %s", cfg->admin_listen, strerror(-err));
    return err;
}

struct running {
    struct mx_app *app;
    const struct mx_server_opts *o;
    unsigned long fd_limit;
};

static void notify(const char *state)
{
    int err = mx_app_notify(state);
    if (err < 0)
        mx_warn("cannot notify the service manager ($NOTIFY_SOCKET): %s", strerror(-err));
}

/* The line the tests and scripts wait for: the server is up. */
static void started(struct mx_server *s, void *arg)
{
    const struct running *r = arg;
    mx_info("muxd %s started: backend=%s workers=%u offload-threads=%u listeners=%u "
            "fd-limit=%lu", MUXD_VERSION, mx_server_backend(s), r->o->workers,
            r->o->offload_threads, r->app->cfg.nlisteners, r->fd_limit);
    notify("READY=1\nSTATUS=serving");
}

/* RELOADING=1 carries the clock reading systemd (notify-reload) wants. */
static void reload(struct mx_server *s, void *arg)
{
    const struct running *r = arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[96];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    notify(msg);
    int rc = mx_app_reload(r->app, s);
    notify(rc == 0 ? "READY=1\nSTATUS=serving" : "READY=1\nSTATUS=serving; the last reload was refused");
}

static void stopping(struct mx_server *s, void *arg)
{
    (void)s;
    (void)arg;
    notify("STOPPING=1");
}

static int serve(struct mx_app *app, unsigned long fd_limit)
{
    struct mx_server_opts o;
    mx_app_server_opts(&app->cfg, &o);
    struct mx_server *s;
    int err = mx_server_new(&o, &s);
    if (err < 0) {
        mx_error("cannot create the server: %s", strerror(-err));
        free_listeners(app);
        return 1;
    }
    struct running r = { app, &o, fd_limit };
    struct mx_admin_opts admin;
    err = add_listeners(s, app);
    if (err == 0)
        err = add_admin(s, &app->cfg, &admin);
    if (err == 0) {
        struct mx_serve_hooks hooks = { .started = started, .reload = reload,
                                        .stopping = stopping, .arg = &r };
        err = mx_server_serve(s, &hooks);
        if (err == -EINTR)
            _exit(1);   /* the workers are still closing: leave them */
        if (err < 0)
            mx_error("cannot start: %s", strerror(-err));
    }
    stop_listeners(app);
    mx_server_free(s);
    free_listeners(app);
    if (err < 0)
        return 1;
    mx_info("muxd stopped");
    return 0;
}

int main(int argc, char **argv)
{
    static struct mx_app app; /* large: its config has every listener's */
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
    app.cli = cli;
    struct mx_config *cfg = &app.cfg;
    if (mx_app_load_config(&cli, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "muxd: %s\n", err);
        return 2;
    }
    const char *backend, *why;
    int err2 = mx_backend_pick(cfg->backend, &backend, &why);
    if (err2 < 0) {
        fprintf(stderr, "muxd: backend %s cannot run here: %s\n", cfg->backend,
                why ? why : strerror(-err2));
        return 2;
    }
    if (prepare_listeners(&app) < 0)
        return 2;
    char fdwarn[512];
    bool fd_short = mx_fd_ceiling_warning(cfg->max_connections, mx_fd_hard_limit(), fdwarn,
                                          sizeof fdwarn);
    if (cli.check_config) {
        free_listeners(&app);
        mx_config_print(cfg, stdout);
        struct mx_server_opts in_use;
        mx_app_server_opts(cfg, &in_use);
        printf("; workers in use: %u\n", in_use.workers);
        printf("; backend in use: %s%s%s\n", backend, why ? " - " : "", why ? why : "");
        if (fd_short)
            fprintf(stderr, "muxd: warning: %s\n", fdwarn);
        return 0;
    }
    mx_log_set_level(cfg->log_level);
    mx_log_set_format(cfg->log_format);
    if (fd_short)
        mx_warn("%s", fdwarn);
    if (mx__faults_init(err, sizeof err) < 0) {
        mx_error("%s", err);
        free_listeners(&app);
        return 2;
    }
    if (getenv("MUXD_FAULTS"))
        mx_warn("fault injection armed: MUXD_FAULTS=%s (a test facility)", getenv("MUXD_FAULTS"));
    signal(SIGPIPE, SIG_IGN);
    return serve(&app, raise_fd_limit());
}
