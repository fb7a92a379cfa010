/* reload.c - loading the config for the daemon, and reloading it while
 * the server runs (reload.h). */
#include "app/reload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/config_keys.h"
#include "app/cpus.h"
#include "app/listen_opts.h"
#include "app/overrides.h"
#include "app/protocols.h"
#include "muxd/log.h"

int mx_app_load_config(const struct mx_cli *cli, struct mx_config *cfg, char *err, size_t len)
{
    mx_config_default(cfg);
    if (mx_config_load(cfg, cli->config_path, err, len) < 0)
        return -1;
    if (mx_cli_override(cli, cfg, err, len) < 0)
        return -1;
    const char *slash = strrchr(cli->config_path, '/');
    snprintf(cfg->dir, sizeof cfg->dir, "%.*s", slash ? (int)(slash - cli->config_path) + 1 : 0,
             cli->config_path);
    snprintf(cfg->path, sizeof cfg->path, "%s", cli->config_path);
    return mx_config_validate(cfg, cli->config_path, err, len) < 0 ? -1 : 0;
}

static unsigned resolve_workers(unsigned workers)
{
    if (workers)
        return workers;
    unsigned n = mx_cpus_usable();
    return n > MX_MAX_WORKERS ? MX_MAX_WORKERS : n;
}

void mx_app_server_opts(const struct mx_config *cfg, struct mx_server_opts *o)
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
    o->max_connections_per_ip = cfg->max_connections_per_ip;
    o->connect_rate_per_ip = cfg->connect_rate_per_ip;
    o->uring_buffers = cfg->uring_buffers;
    o->uring_buffer_size = cfg->uring_buffer_size;
    o->uring_incremental = cfg->uring_incremental == 0;
    o->uring_bundles = cfg->uring_bundles == 0;
    o->uring_fixed_files = cfg->uring_fixed_files == 0;
    /* auto sizes the pool like the workers: as many jobs can run at once
     * as there are loops handing them out. */
    o->offload_threads = cfg->offload_threads == MX_OFFLOAD_THREADS_AUTO
                             ? o->workers : cfg->offload_threads;
    o->offload_queue_max = cfg->offload_queue_max;
}

/* A listener's options are built (and thrown away) only to check them:
 * a chat MOTD that cannot be read refuses the file like a syntax error. */
static int check_listeners(const struct mx_config *cfg, char *err, size_t len)
{
    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        struct mx_app_listener al;
        if (mx_app_listener_prepare(&al, cfg, &cfg->listeners[i], err, len) < 0)
            return -1;
        mx_app_listener_free(&al);
    }
    return 0;
}

/* The reload's log line, in two lists, and which running listeners moved
 * (a new address or protocol: they are closed and opened again). */
struct summary {
    char applied[768], kept[768];
    size_t napplied, nkept;
    const struct mx_config *run;
    bool moved[MX_MAX_LISTENERS];
};

static void add(char *list, size_t cap, size_t *used, const struct mx_cfg_change *ch)
{
    if (*used >= cap)
        return;
    const char *sep = *used ? ", " : "";
    /* A password is no business of the log's. */
    bool secret = ch->key && ch->key->secret;
    int n = ch->key && secret
        ? snprintf(list + *used, cap - *used, "%s[%s] %s changed", sep, ch->label,
                   ch->key->name)
        : ch->key
        ? snprintf(list + *used, cap - *used, "%s[%s] %s %s -> %s", sep, ch->label,
                   ch->key->name, ch->was, ch->now)
        : snprintf(list + *used, cap - *used, "%s[%s] %s", sep, ch->label,
                   ch->now ? "added" : "removed");
    *used += n < 0 ? 0 : (size_t)n;
}

/* The running listener a change is about, or -1 for a global key. */
static int listener_of(const struct summary *sum, const struct mx_cfg_change *ch)
{
    for (unsigned i = 0; i < sum->run->nlisteners; i++) {
        const char *b = (const char *)&sum->run->listeners[i];
        if ((const char *)ch->run_base >= b && (const char *)ch->run_base < b + sizeof
            sum->run->listeners[i])
            return (int)i;
    }
    return -1;
}

/* Whether the change is applied now: a listener that came, went or moved
 * is opened or closed (apply_listeners); a protocol key reaches a running
 * listener only if its protocol takes reloads; global keys marked live. */
static bool is_live(struct summary *sum, const struct mx_cfg_change *ch)
{
    if (!ch->key)
        return true;
    int i = listener_of(sum, ch);
    if (i < 0)
        return ch->key->live;
    if (mx_cfg_key_find(MX_SECT_LISTENER, ch->key->name) == ch->key) {
        /* A transport key marked live (per-address limits) is applied in
         * place (update_listen_opts); listen, protocol and the PROXY keys
         * move it (they are diffed first). */
        if (!ch->key->live)
            sum->moved[i] = true;
        return true;
    }
    const struct mx_app_proto *p = mx_app_proto_find(sum->run->listeners[i].protocol);
    return sum->moved[i] || (p && p->reload);
}

/* A live key takes the new value in the running config; any other is
 * kept as it runs, and said so. */
static void on_change(const struct mx_cfg_change *ch, void *arg)
{
    struct summary *sum = arg;
    if (is_live(sum, ch)) {
        if (ch->key)
            mx_cfg_key_copy(ch->key, ch->run_base, ch->next_base);
        add(sum->applied, sizeof sum->applied, &sum->napplied, ch);
    } else {
        add(sum->kept, sizeof sum->kept, &sum->nkept, ch);
    }
}

static int run_index(const struct mx_config *run, const char *name)
{
    for (unsigned i = 0; i < run->nlisteners; i++)
        if (strcmp(run->listeners[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Running listener i goes: no new connections; its open ones stay, and so
 * does its protocol state, until the daemon exits. */
static void close_listener(struct mx_app *app, struct mx_server *s, const struct mx_config *run,
                           unsigned i)
{
    mx_server_unlisten(s, run->listeners[i].name);
    for (unsigned k = 0; k < MX_APP_RETIRED; k++) {
        if (!app->retired[k].p) {
            app->retired[k] = app->ls[i];
            app->ls[i] = (struct mx_app_listener){ 0 };
            return;
        }
    }
    mx_warn("reload: no room to keep listener %s's state; it stays in place",
            run->listeners[i].name);
}

/* A listener of next opens: its options, its state, its socket. */
static int open_listener(struct mx_app_listener *al, struct mx_server *s,
                         const struct mx_config *next, const struct mx_listener_cfg *l,
                         void *shared)
{
    char err[512];
    if (mx_app_listener_prepare(al, next, l, err, sizeof err) < 0) {
        mx_error("reload: %s", err);
        return -1;
    }
    void *data = l->share_with[0] ? shared : mx_app_listener_data(al, s);
    struct mx_listen_opts lo;
    if (data)
        mx_app_listen_opts(next, l, al, data, &lo);
    int rc = data ? mx_server_listen_with(s, &lo) : -ENOMEM;
    if (rc < 0) {
        mx_error("reload: listener %s: cannot listen on %s: %s", l->name, l->listen,
                 strerror(-rc));
        mx_app_listener_free(al);
        return -1;
    }
    return 0;
}

/* A listener that reopens gets a new protocol state, so those sharing its
 * old one (share_with) reopen with it, or they would be left on a network
 * of their own. */
static void move_sharers(const struct mx_config *run, struct summary *sum)
{
    for (unsigned i = 0; i < run->nlisteners; i++)
        for (unsigned j = 0; sum->moved[i] && j < run->nlisteners; j++)
            if (strcmp(run->listeners[j].share_with, run->listeners[i].name) == 0)
                sum->moved[j] = true;
}

/* The running listeners become next's: those that stay keep their state
 * (and run's values), those that went or moved close first (a moved one
 * may take its own address back), then the new ones open. */
static void apply_listeners(struct mx_app *app, struct mx_server *s, struct mx_config *run,
                            const struct mx_config *next, struct summary *sum)
{
    static struct mx_config old;
    old = *run;
    move_sharers(&old, sum);
    for (unsigned i = 0; i < old.nlisteners; i++)
        if (sum->moved[i] || run_index(next, old.listeners[i].name) < 0)
            close_listener(app, s, &old, i);
    struct mx_app_listener was[MX_MAX_LISTENERS];
    memcpy(was, app->ls, sizeof was);
    memset(app->ls, 0, sizeof app->ls);
    run->nlisteners = 0;
    for (unsigned k = 0; k < next->nlisteners; k++) {
        const struct mx_listener_cfg *l = &next->listeners[k];
        int i = run_index(&old, l->name);
        struct mx_app_listener *al = &app->ls[run->nlisteners];
        if (i >= 0 && !sum->moved[i]) {
            *al = was[i];
            run->listeners[run->nlisteners++] = old.listeners[i];
        } else if (open_listener(al, s, next, l,
                                 l->share_with[0] ? mx_app_shared_data(app->ls, run->listeners,
                                                                       run->nlisteners,
                                                                       l->share_with)
                                                  : NULL) == 0) {
            run->listeners[run->nlisteners++] = *l;
        }
    }
}

/* The live transport options (per-address limits) of every running
 * listener, from run: those that stayed take them in place; ones opened
 * by this reload have them already (set again, the same). */
static void update_listen_opts(struct mx_app *app, struct mx_server *s,
                               const struct mx_config *run)
{
    for (unsigned i = 0; i < run->nlisteners; i++) {
        struct mx_listen_opts lo;
        mx_app_listen_opts(run, &run->listeners[i], &app->ls[i], NULL, &lo);
        int rc = mx_server_listen_update(s, &lo);
        if (rc < 0)
            mx_error("reload: listener %s: %s", lo.name, strerror(-rc));
    }
}

/* Every running listener whose protocol takes reloads gets its options
 * rebuilt from run, changed keys or not: a MOTD file's new text counts
 * too. (Ones opened by this reload have them fresh: rebuilt again, the
 * same.) */
static int reload_listeners(struct mx_app *app, const struct mx_config *run)
{
    char err[512];
    for (unsigned i = 0; i < run->nlisteners; i++) {
        if (mx_app_listener_tls_reload(&app->ls[i], run, &run->listeners[i], err,
                                       sizeof err) < 0)
            mx_error("reload: %s", err);
        int rc = mx_app_listener_reload(&app->ls[i], run, &run->listeners[i], err, sizeof err);
        if (rc == -1) {
            mx_error("reload: %s", err);
            return -1;
        }
    }
    return 0;
}

int mx_app_reload(struct mx_app *app, struct mx_server *s)
{
    static struct mx_config next, run; /* large; the main thread's alone */
    char err[512];
    if (mx_app_load_config(&app->cli, &next, err, sizeof err) < 0 ||
        check_listeners(&next, err, sizeof err) < 0) {
        mx_error("reload refused, nothing changed: %s", err);
        return -1;
    }
    run = app->cfg;
    struct summary sum = { .run = &run };
    mx_config_diff(&run, &next, on_change, &sum);
    /* [oper NAME] sections are live and global: the whole table, sections
     * that came or went included (the diff only logged them). */
    memcpy(run.opers, next.opers, sizeof run.opers);
    run.nopers = next.nopers;
    struct mx_server_opts o;
    mx_app_server_opts(&run, &o);
    int rc = mx_server_update(s, &o);
    if (rc < 0) {
        mx_error("reload: the server could not take the new limits: %s", strerror(-rc));
        return -1;
    }
    mx_log_set_level(run.log_level);
    mx_log_set_format(run.log_format);
    if (o.workers != mx_server_workers(s) && (rc = mx_server_set_workers(s, o.workers)) < 0)
        mx_error("reload: workers stay at %u: %s", mx_server_workers(s), strerror(-rc));
    apply_listeners(app, s, &run, &next, &sum);
    update_listen_opts(app, s, &run);
    rc = reload_listeners(app, &run);
    app->cfg = run;
    if (!sum.napplied && !sum.nkept)
        mx_info("reload: %s unchanged", app->cli.config_path);
    else
        mx_info("reload: applied: %s; kept until a restart: %s",
                sum.napplied ? sum.applied : "none", sum.nkept ? sum.kept : "none");
    return rc;
}
