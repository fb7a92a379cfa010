/* cluster.h - [cluster]: a chat listener's bus to the other nodes
 * (src/cluster/, docs/cluster.md), built from the config and linked to
 * the listener's struct mx_chat. */
#ifndef MUXD_APP_CLUSTER_H
#define MUXD_APP_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "app/config.h"

struct mx_chat;

struct mx_app_cluster_opts {
    bool on;                        /* [cluster] redis is set */
    char host[128];
    unsigned port;
    char user[64], password[128];
    char node[64];                  /* node_name, or the host name */
    char prefix[96];                /* "muxd:LISTENER:": one network per chat listener */
    unsigned heartbeat_ms, timeout_ms;
    size_t queue_max;
};

/* From cfg's [cluster], for the chat listener named listener. 0; -1 when
 * the address does not parse (the config loader refuses it first). */
int mx_app_cluster_opts(const struct mx_config *cfg, const char *listener,
                        struct mx_app_cluster_opts *o);
/* Starts a bus for chat (not yet serving) and links them. 0 or -errno. */
int mx_app_cluster_attach(struct mx_chat *chat, const struct mx_app_cluster_opts *o);
/* Before the server chat serves is freed: the bus thread stops (it posts
 * to the workers). Again, or for a chat without a bus: nothing. */
void mx_app_cluster_stop(struct mx_chat *chat);
/* After mx_chat_free's caller is done with chat's bus: frees the link. */
void mx_app_cluster_free(struct mx_chat *chat);

#endif
