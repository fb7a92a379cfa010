/* listen_opts.h - a listener section's options for mx_server_listen_with. */
#ifndef MUXD_APP_LISTEN_OPTS_H
#define MUXD_APP_LISTEN_OPTS_H

#include "app/config.h"
#include "app/protocols.h"
#include "muxd/server.h"

/* o's strings point into l (and cfg): they must outlive the call of
 * mx_server_listen_with, which copies what it keeps. */
void mx_app_listen_opts(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                        const struct mx_app_listener *al, void *data,
                        struct mx_listen_opts *o);

#endif
