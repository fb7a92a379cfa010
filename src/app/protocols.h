/* protocols.h - the protocol registry: what the daemon knows of each
 * service it can run on a listener.
 *
 * One row per protocol (protocols.c lists them); a row names the
 * protocol, lists its own listener keys, checks them against the rest of
 * the config, builds the protocol's options and, once the server exists,
 * its per-listener state. Config, --check-config and main walk the rows
 * and never name a protocol. Each protocol's row and key rows live in
 * proto_NAME.c beside this file.
 */
#ifndef MUXD_APP_PROTOCOLS_H
#define MUXD_APP_PROTOCOLS_H

#include <stddef.h>

#include "app/config.h"
#include "muxd/tls.h"
#include "app/config_keys.h"

struct mx_proto;
struct mx_server;

struct mx_app_proto {
    const char *name;                /* the value of `protocol` */
    const struct mx_proto *proto;
    /* Its listener keys; offsets into its own block of a listener's config
     * (struct mx_listener_cfg proto[]), which holds its private struct. */
    const struct mx_cfg_key *keys;
    size_t nkeys;
    /* Optional: rules between its keys and the rest of cfg, run after
     * loading. -1 with "KEY: reason" in why. */
    int (*check)(const struct mx_config *cfg, const void *pcfg, char *why, size_t len);
    /* The option builder: the listener's keys (pcfg) and cfg -> what the
     * protocol needs. It may read files (chat's MOTD), so it runs before
     * the server exists, and for --check-config. NULL with one line,
     * "[listener NAME] KEY: ...", in err. */
    void *(*opts_new)(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                      const void *pcfg, char *err, size_t len);
    void (*opts_free)(void *opts);   /* NULL: free() */
    /* Optional: the listener's proto_data, made from opts for server s;
     * without it proto_data is opts. NULL on ENOMEM. */
    void *(*state_new)(void *opts, struct mx_server *s);
    /* Optional: before the server is freed, for a state with threads of
     * its own that post to the workers (chat's cluster bus). */
    void (*state_stop)(void *state);
    void (*state_free)(void *state); /* after the server is freed */
    /* Optional: a reload hands the running state options freshly built
     * from the new config (opts stays the caller's). Without it the
     * protocol's keys are kept until a restart. 0 or -errno. */
    int (*reload)(void *state, const void *opts);
};

/* In registry order, which is also the order of the blocks in
 * struct mx_listener_cfg. */
extern const struct mx_app_proto *const mx_app_protos[];
extern const size_t mx_app_nprotos;

/* NULL for a name no row has. */
const struct mx_app_proto *mx_app_proto_find(const char *name);

/* p's block of l (its keys' base). */
void *mx_app_proto_cfg(struct mx_listener_cfg *l, const struct mx_app_proto *p);
const void *mx_app_proto_cfg_const(const struct mx_listener_cfg *l,
                                   const struct mx_app_proto *p);

/* For opts_new: a malloc'ed copy of the n bytes at o, or NULL with
 * "[listener NAME]: out of memory" in err. */
void *mx_app_opts_copy(const void *o, size_t n, const struct mx_listener_cfg *l, char *err,
                       size_t len);

/* One running listener: its row, its options and its state. */
struct mx_app_listener {
    const struct mx_app_proto *p;
    void *opts;
    void *state;
    struct mx_tls *tls;          /* tls = on: its context */
};

/* Builds l's options; -1 with err as opts_new writes it. al is then zero
 * (mx_app_listener_free is still fine). */
int mx_app_listener_prepare(struct mx_app_listener *al, const struct mx_config *cfg,
                            const struct mx_listener_cfg *l, char *err, size_t len);

/* The proto_data to serve the listener with on s; NULL on ENOMEM. */
void *mx_app_listener_data(struct mx_app_listener *al, struct mx_server *s);
/* For a listener with share_with = name: the data of listener name among
 * the n running ones (ls, their configs cfgs), or NULL. Its state stays
 * its owner's (freed with it, at exit even if a reload retires it). */
void *mx_app_shared_data(const struct mx_app_listener *ls, const struct mx_listener_cfg *cfgs,
                         unsigned n, const char *name);

/* Every reload: a TLS listener's certificate and key are read again
 * (new connections get them). 0; -1 with err written (the old stay). */
int mx_app_listener_tls_reload(struct mx_app_listener *al, const struct mx_config *cfg,
                               const struct mx_listener_cfg *l, char *err, size_t len);

/* Before the server is freed (its state_stop). A zeroed al is fine. */
void mx_app_listener_stop(struct mx_app_listener *al);
/* After the server is freed. A zeroed al is fine. */
void mx_app_listener_free(struct mx_app_listener *al);

/* A reload of a running listener whose protocol can take one: its options
 * are built again from cfg and l (a MOTD file is read again) and handed
 * to its state. 0; -1 with err written; -ENOSYS (no reload hook). */
int mx_app_listener_reload(struct mx_app_listener *al, const struct mx_config *cfg,
                           const struct mx_listener_cfg *l, char *err, size_t len);

#endif
