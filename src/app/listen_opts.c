/* listen_opts.c - a [listener] section's transport options (PROXY header,
 * per-address limits, TLS) as the server takes them (mx_listen_opts):
 * one place for the daemon's start and its reloads. */
#include "app/listen_opts.h"

#include <string.h>

#include "app/web_page.h"

void mx_app_listen_opts(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                        const struct mx_app_listener *al, void *data,
                        struct mx_listen_opts *o)
{
    (void)cfg;
    *o = (struct mx_listen_opts){
        .name = l->name, .addr = l->listen, .proto = al->p->proto, .proto_data = data,
    };
    /* PROXY protocol. */
    o->proxy = l->proxy_protocol;
    o->proxy_from = l->proxy_from;
    o->proxy_timeout_ms = l->proxy_timeout_ms;
    /* Per-address admission: 0 leaves it to [limits] (the server's). */
    o->max_conns_per_ip = l->max_connections_per_ip;
    o->connect_rate_per_ip = l->connect_rate_per_ip;
    /* TLS. */
    o->tls = al->tls;
    o->overflow = l->overflow;
    o->fanout_delay_ms = l->fanout_delay_ms;
    /* WebSocket; the web client is an IRC client: chat listeners only. */
    o->transport = l->transport;
    o->allowed_origins = l->allowed_origins;
    o->ws_max_message = l->ws_max_message;
    o->ws_timeout_ms = l->handshake_timeout_ms;
    if (strcmp(l->protocol, "chat") == 0) {
        o->web_page = (const char *)mx_app_web_page;
        o->web_page_len = mx_app_web_page_len;
    }
}
