/* reload.h - the daemon's running configuration, and reloading it: the
 * one path for SIGHUP now and for chat's REHASH later. */
#ifndef MUXD_APP_RELOAD_H
#define MUXD_APP_RELOAD_H

#include <stddef.h>

#include "app/cli.h"
#include "app/config.h"
#include "app/protocols.h"
#include "muxd/server.h"

#define MX_APP_RETIRED 48

struct mx_app {
    struct mx_cli cli;           /* its -w and -b win over the file, always */
    struct mx_config cfg;        /* what runs now */
    /* Each listener's protocol, options and state (they outlive the
     * server), in cfg's order. */
    struct mx_app_listener ls[MX_MAX_LISTENERS];
    /* Listeners a reload closed: their connections may still use them. */
    struct mx_app_listener retired[MX_APP_RETIRED];
};

/* Reads cli's config file into cfg, applies the command line's
 * overrides and validates. -1 with "file:line: [section] key: ..." in err. */
int mx_app_load_config(const struct mx_cli *cli, struct mx_config *cfg, char *err, size_t len);

/* The server options cfg asks for. */
void mx_app_server_opts(const struct mx_config *cfg, struct mx_server_opts *o);

/* Rereads the config file and applies what can change while s runs: the
 * keys marked live in the key table (limits, shutdown timeout, offload
 * queue, log level); listeners added, removed, or moved to another
 * address or protocol (closed, then opened; the open connections of a
 * closed one stay until they end); the keys of a protocol that takes
 * reloads (chat: options rebuilt, MOTD file read again). Everything else
 * is kept until a restart. Logs one
 * line saying what changed and what was kept. A file with an error is
 * logged (file, line, key) and changes nothing. Main thread. 0, or -1
 * when the file was refused or the server could not take the change. */
int mx_app_reload(struct mx_app *app, struct mx_server *s);

#endif
