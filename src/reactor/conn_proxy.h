/* conn_proxy.h - a PROXY listener's settings and its connections'
 * preamble (conn_proxy.c). */
#ifndef MUXD_REACTOR_CONN_PROXY_H
#define MUXD_REACTOR_CONN_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "muxd/server.h"
#include "reactor/cidr.h"

struct mx_conn;

/* What a listener keeps of mx_listen_opts' PROXY fields, for the life of
 * the server (its connections point to it). */
struct mx__proxy_cfg {
    enum mx_proxy_mode mode;     /* MX_PROXY_OFF: no preamble */
    unsigned timeout_ms;
    unsigned nfrom;
    struct mx__cidr from[MX__CIDR_MAX];
};

/* Fills cfg from o: 0, or -EINVAL for a bad mode or proxy_from, or an
 * empty proxy_from with a mode other than off. */
int mx__proxy_cfg_set(struct mx__proxy_cfg *cfg, const struct mx_listen_opts *o);

/* On the owner worker. begin: a new connection of a PROXY listener,
 * attached: refused unless its source is trusted, else it waits for the
 * header (MX_C_PREAMBLE) with its deadline armed. recv: bytes that came
 * during the preamble; once the header is whole the protocol opens.
 * Both return whether c is still open. */
bool mx__proxy_begin(struct mx_conn *c);
bool mx__proxy_recv(struct mx_conn *c, const char *p, size_t n);
/* The peer's EOF before the header was whole: c is closed (false). */
bool mx__proxy_eof(struct mx_conn *c);

#endif
