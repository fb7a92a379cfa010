/* protocols.c - the registry's rows, and the life of a listener's options
 * and state. Adding a protocol: a proto_NAME.c with its row, and one line
 * here. */
#include "app/protocols.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct mx_app_proto mx_app_echo, mx_app_work, mx_app_chat;

const struct mx_app_proto *const mx_app_protos[] = {
    &mx_app_echo,
    &mx_app_work,
    &mx_app_chat,
};

const size_t mx_app_nprotos = sizeof mx_app_protos / sizeof mx_app_protos[0];

_Static_assert(sizeof mx_app_protos / sizeof mx_app_protos[0] <= MX_MAX_PROTOCOLS,
               "struct mx_listener_cfg has a block for every protocol");

const struct mx_app_proto *mx_app_proto_find(const char *name)
{
    for (size_t i = 0; i < mx_app_nprotos; i++)
        if (strcmp(mx_app_protos[i]->name, name) == 0)
            return mx_app_protos[i];
    return NULL;
}

static size_t proto_index(const struct mx_app_proto *p)
{
    size_t i = 0;
    while (mx_app_protos[i] != p)
        i++;
    return i;
}

void *mx_app_proto_cfg(struct mx_listener_cfg *l, const struct mx_app_proto *p)
{
    return &l->proto[proto_index(p)];
}

const void *mx_app_proto_cfg_const(const struct mx_listener_cfg *l,
                                   const struct mx_app_proto *p)
{
    return &l->proto[proto_index(p)];
}

void *mx_app_opts_copy(const void *o, size_t n, const struct mx_listener_cfg *l, char *err,
                       size_t len)
{
    void *copy = malloc(n);
    if (copy)
        memcpy(copy, o, n);
    else
        snprintf(err, len, "[listener %.63s]: out of memory", l->name);
    return copy;
}

/* A path from the config: relative ones are the config file's. */
static void config_path(char *out, size_t cap, const struct mx_config *cfg, const char *p)
{
    snprintf(out, cap, "%s%s", p[0] == '/' ? "" : cfg->dir, p);
}

static int tls_opts(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                    struct mx_tls_opts *o, char *cert, char *key, size_t cap,
                    char *err, size_t len)
{
    if (!l->tls_cert[0] || !l->tls_key[0]) {
        snprintf(err, len, "[listener %.63s] tls = on needs tls_cert and tls_key", l->name);
        return -1;
    }
    config_path(cert, cap, cfg, l->tls_cert);
    config_path(key, cap, cfg, l->tls_key);
    *o = (struct mx_tls_opts){ .cert_file = cert, .key_file = key,
                               .min_version = l->tls_min_version ? "1.3" : "1.2",
                               .ciphers = l->tls_ciphers,
                               .handshake_timeout_ms = l->handshake_timeout_ms,
                               .inline_handshakes = !l->tls_handshake_offload,
                               .no_kernel_tls = l->ktls == 1 };
    return 0;
}

static int tls_new(struct mx_app_listener *al, const struct mx_config *cfg,
                   const struct mx_listener_cfg *l, char *err, size_t len)
{
    char cert[sizeof cfg->dir + sizeof l->tls_cert], key[sizeof cert], why[400];
    struct mx_tls_opts o;
    if (tls_opts(cfg, l, &o, cert, key, sizeof cert, err, len) < 0)
        return -1;
    if (mx_tls_new(&o, &al->tls, why, sizeof why) < 0) {
        snprintf(err, len, "[listener %.63s] %s", l->name, why);
        return -1;
    }
    return 0;
}

int mx_app_listener_tls_reload(struct mx_app_listener *al, const struct mx_config *cfg,
                               const struct mx_listener_cfg *l, char *err, size_t len)
{
    if (!al->tls)
        return 0;
    char cert[sizeof cfg->dir + sizeof l->tls_cert], key[sizeof cert], why[400];
    struct mx_tls_opts o;
    if (tls_opts(cfg, l, &o, cert, key, sizeof cert, err, len) < 0)
        return -1;
    if (mx_tls_reload(al->tls, &o, why, sizeof why) < 0) {
        snprintf(err, len, "[listener %.63s] %s (the old certificate stays)", l->name, why);
        return -1;
    }
    return 0;
}

int mx_app_listener_prepare(struct mx_app_listener *al, const struct mx_config *cfg,
                            const struct mx_listener_cfg *l, char *err, size_t len)
{
    const struct mx_app_proto *p = mx_app_proto_find(l->protocol);

    *al = (struct mx_app_listener){ 0 };
    if (!p) {   /* the config's checks keep this from happening */
        snprintf(err, len, "[listener %.63s] protocol: unknown '%s'", l->name, l->protocol);
        return -1;
    }
    void *opts = p->opts_new(cfg, l, mx_app_proto_cfg_const(l, p), err, len);
    if (!opts)
        return -1;
    *al = (struct mx_app_listener){ .p = p, .opts = opts };
    if (l->tls && tls_new(al, cfg, l, err, len) < 0) {
        mx_app_listener_free(al);
        return -1;
    }
    return 0;
}

void *mx_app_listener_data(struct mx_app_listener *al, struct mx_server *s)
{
    if (!al->p->state_new)
        return al->opts;
    al->state = al->p->state_new(al->opts, s);
    return al->state;
}

void *mx_app_shared_data(const struct mx_app_listener *ls, const struct mx_listener_cfg *cfgs,
                         unsigned n, const char *name)
{
    for (unsigned j = 0; j < n; j++)
        if (strcmp(cfgs[j].name, name) == 0)
            return ls[j].state ? ls[j].state : ls[j].opts;
    return NULL;
}

int mx_app_listener_reload(struct mx_app_listener *al, const struct mx_config *cfg,
                           const struct mx_listener_cfg *l, char *err, size_t len)
{
    if (!al->p || !al->p->reload || !al->state)
        return -ENOSYS;
    struct mx_app_listener fresh;
    if (mx_app_listener_prepare(&fresh, cfg, l, err, len) < 0)
        return -1;
    int rc = al->p->reload(al->state, fresh.opts);
    if (rc < 0) {
        snprintf(err, len, "[listener %.63s]: reload: %s", l->name, strerror(-rc));
        mx_app_listener_free(&fresh);
        return -1;
    }
    /* The running options become the fresh ones; the old go with fresh
     * (and so does fresh's TLS context: the running one was reloaded). */
    void *old = al->opts;
    al->opts = fresh.opts;
    fresh.opts = old;
    mx_app_listener_free(&fresh);
    return 0;
}

void mx_app_listener_stop(struct mx_app_listener *al)
{
    if (al->p && al->state && al->p->state_stop)
        al->p->state_stop(al->state);
}

void mx_app_listener_free(struct mx_app_listener *al)
{
    mx_tls_free(al->tls);
    al->tls = NULL;
    if (!al->p)
        return;
    if (al->state)
        al->p->state_free(al->state);
    if (al->p->opts_free)
        al->p->opts_free(al->opts);
    else
        free(al->opts);
    *al = (struct mx_app_listener){ 0 };
}
