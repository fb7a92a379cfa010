/* conn_proxy.c - the preamble of a PROXY listener's connections: who may
 * send a header, waiting for it whole, and handing the connection to its
 * protocol with the client's address in place of the proxy's.
 *
 * Until the header is in, the connection is MX_C_PREAMBLE: its bytes are
 * kept in c->in (at most a header and the one read that finished it) and
 * no callback of the protocol runs, so the protocol, the logs and every
 * mx_conn_peer caller only ever see the carried address. All on the
 * owner worker.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "io/sock.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/admit_ip.h"
#include "reactor/conn_proxy.h"
#include "reactor/tls.h"
#include "reactor/proxy_hdr.h"
#include "reactor/server.h"

/* The spec asks for at least 3 s, to cover a TCP retransmit. */
#define DEFAULT_TIMEOUT_MS 5000

int mx_proxy_from_check(const char *list, char *why, size_t len)
{
    struct mx__cidr from[MX__CIDR_MAX];
    unsigned n;
    return mx__cidr_parse_list(list ? list : "", from, MX__CIDR_MAX, &n, why, len);
}

int mx__proxy_cfg_set(struct mx__proxy_cfg *cfg, const struct mx_listen_opts *o)
{
    char why[160];
    memset(cfg, 0, sizeof *cfg);
    if (o->proxy < MX_PROXY_OFF || o->proxy > MX_PROXY_ANY)
        return -EINVAL;
    cfg->mode = o->proxy;
    cfg->timeout_ms = o->proxy_timeout_ms ? o->proxy_timeout_ms : DEFAULT_TIMEOUT_MS;
    if (cfg->mode == MX_PROXY_OFF)
        return 0;
    /* Nobody trusted would make the listener useless, and "anybody"
     * would let every client name its own address: neither is guessed. */
    if (mx__cidr_parse_list(o->proxy_from ? o->proxy_from : "", cfg->from, MX__CIDR_MAX,
                            &cfg->nfrom, why, sizeof why) < 0 || cfg->nfrom == 0)
        return -EINVAL;
    return 0;
}

/* Closes c for its header, or the lack of one, counted by why. */
static bool refused(struct mx_conn *c, enum mx_proxy_refusal why, const char *line)
{
    mx__count(&c->w->stats.proxy_refused[why], 1);
    mx__conn_abort(c, line);
    return false;
}

static unsigned versions(enum mx_proxy_mode m)
{
    return m == MX_PROXY_V1 ? MX__PROXY_V1
         : m == MX_PROXY_V2 ? MX__PROXY_V2
         : MX__PROXY_V1 | MX__PROXY_V2;
}

/* A slow or silent client must not hold a slot (and an fd) for as long
 * as idle_timeout lets an open one. */
static void too_slow(struct mx_conn *c, void *arg)
{
    char why[80];
    (void)arg;
    snprintf(why, sizeof why, "no whole PROXY header within proxy_timeout (%u ms)",
             c->ls->proxy.timeout_ms);
    refused(c, MX_PROXY_REFUSED_TIMEOUT, why);
}

bool mx__proxy_begin(struct mx_conn *c)
{
    const struct mx__proxy_cfg *px = &c->ls->proxy;
    /* No peer address: it reset before the worker could ask (haproxy's
     * TCP health checks connect and reset at once). Nothing to refuse. */
    if (c->peer.sin6_family == AF_UNSPEC) {
        mx__conn_abort(c, NULL);
        return false;
    }
    if (!mx__cidr_match(px->from, px->nfrom, (const struct sockaddr *)&c->peer))
        return refused(c, MX_PROXY_REFUSED_UNTRUSTED,
                       "refused: source not in proxy_from (a PROXY listener)");
    c->flags |= MX_C_PREAMBLE;
    if (mx__conn_timer_arm(c, px->timeout_ms, too_slow, NULL) < 0) {
        mx_warn("conn %s closed: no memory for its PROXY header deadline", mx_conn_peer_str(c));
        mx__conn_abort(c, NULL);
        return false;
    }
    return true;
}

/* The carried address becomes the peer, for good. */
static void take_source(struct mx_conn *c, const struct mx__proxy_hdr *h)
{
    char proxy[MX_ADDRSTRLEN];
    snprintf(proxy, sizeof proxy, "%s", mx_conn_peer_str(c));
    if (h->has_src) {
        size_t len = h->src.sa.sa_family == AF_INET ? sizeof h->src.v4 : sizeof h->src.v6;
        memset(&c->peer, 0, sizeof c->peer);
        memcpy(&c->peer, &h->src, len);
    }
    mx_debug("conn w%u:%u %s: PROXY v%u header from %s%s", c->w->idx, c->slot,
             mx_conn_peer_str(c), h->version, proxy,
             h->has_src ? "" : " (no client address in it: the peer stays)");
}

/* The protocol's refusal line for the carried address, in c's output,
 * unless TLS would have to carry it; then the close. Logged by the burst,
 * as the acceptor's refusals are: a flood behind the proxy is one
 * warning, not a line per connection. */
static void refuse_carried(struct mx_conn *c, bool over_rate, unsigned max, unsigned rate)
{
    const struct mx_listener *ls = c->ls;
    struct mx__wstats *st = &c->w->stats;
    mx__count(over_rate ? &st->rejected_per_ip_rate : &st->rejected_per_ip_limit, 1);
    char ip[MX_ADDRSTRLEN], line[512];
    snprintf(ip, sizeof ip, "%s", mx_conn_peer_str(c));
    char *colon = strrchr(ip, ':');
    if (colon && !strchr(ip, '['))
        *colon = '\0'; /* the address without its port */
    mx__ip_refused_log(&c->w->srv->ip_bursts, c->w->now_ms, over_rate, max, rate, ip, ls->name,
                       true);
    enum mx_refusal why = over_rate ? MX_REFUSE_PER_IP_RATE : MX_REFUSE_PER_IP_LIMIT;
    size_t n = ls->proto->refuse && !ls->tls
                   ? ls->proto->refuse(ls->proto_data, why, ip, line, sizeof line)
                   : 0;
    mx__buf_free(&c->in);
    c->flags &= ~MX_C_PREAMBLE;
    mx__conn_queue_raw(c, line, n < sizeof line ? n : 0);
    mx_conn_close(c, NULL);
}

/* The acceptor saw only the proxy's address: a PROXY listener's clients
 * are held to the per-address limits by the address the header carries,
 * now, before the protocol opens. */
static bool admit_carried(struct mx_conn *c)
{
    struct mx_server *s = c->w->srv;
    const struct mx_listener *ls = c->ls;
    unsigned max, rate;
    mx__listener_ip_limits(s, ls, &max, &rate);
    if (!max && !rate)
        return true;
    mx__ip_bursts_over(&s->ip_bursts, c->w->now_ms, false);
    uint32_t ticket = 0;
    enum mx__admit_verdict v = mx__admit_ip_take(&s->perip, (struct sockaddr *)&c->peer,
                                                 (unsigned)(ls - s->listeners), max, rate,
                                                 c->w->now_ms, &ticket);
    if (v == MX__ADMIT_OVER_LIMIT || v == MX__ADMIT_OVER_RATE) {
        refuse_carried(c, v == MX__ADMIT_OVER_RATE, max, rate);
        return false;
    }
    if (v == MX__ADMIT_UNTRACKED) {
        mx__count(&c->w->stats.per_ip_untracked, 1);
        mx__ip_untracked_log(&s->ip_bursts, c->w->now_ms);
    }
    c->admit_ticket = ticket;
    return true;
}

/* A TLS listener behind a proxy: the handshake starts after the header,
 * and what followed the header is the ClientHello. Taken out of c->in
 * first: c->in holds plaintext from here on. */
static bool start_tls(struct mx_conn *c)
{
    if (mx__tls_start(c, c->ls->tls) < 0) {
        mx__conn_abort(c, "no memory for TLS");
        return false;
    }
    struct mx_buf hello = c->in;
    c->in = (struct mx_buf){ 0 };
    bool open = hello.len == 0 || mx__tls_recv(c, hello.data, hello.len);
    mx__buf_free(&hello);
    return open;
}

/* A WebSocket listener behind a proxy: what followed the header is the
 * upgrade request, for the WebSocket layer, not the protocol. */
static bool start_ws(struct mx_conn *c)
{
    mx__conn_open(c);   /* begins the upgrade */
    if (c->flags & MX_C_DEAD)
        return false;
    struct mx_buf req = c->in;
    c->in = (struct mx_buf){ 0 };
    bool open = req.len == 0 || mx__conn_plain(c, req.data, req.len);
    mx__buf_free(&req);
    return open;
}

/* The header is in: from here on c is an ordinary connection, and what
 * followed the header is its first input. */
static bool header_done(struct mx_conn *c, const struct mx__proxy_hdr *h)
{
    take_source(c, h);
    if (!admit_carried(c))
        return false;
    mx__buf_consume(&c->in, h->len);
    c->flags &= ~MX_C_PREAMBLE;
    mx__conn_timer_free(c);
    if (c->ls->tls)
        return start_tls(c);
    if (c->ws)
        return start_ws(c);
    mx__conn_open(c);
    if (c->flags & MX_C_DEAD)
        return false;
    /* Delivered at the end of this turn, as kept input is after a
     * resume: on_open may have paused or closed meanwhile. */
    if (c->in.len > 0) {
        c->flags |= MX_C_REOFFER;
        mx__conn_mark_dirty(c);
    }
    return true;
}

bool mx__proxy_eof(struct mx_conn *c)
{
    /* Connecting and closing without a byte is what a proxy's TCP health
     * check does: worth no more than any connection's close, and no
     * refusal. */
    if (c->in.len)
        return refused(c, MX_PROXY_REFUSED_TRUNCATED, "EOF before a whole PROXY header");
    mx__conn_abort(c, NULL);
    return false;
}

bool mx__proxy_recv(struct mx_conn *c, const char *p, size_t n)
{
    if (mx__buf_append(&c->in, p, n) < 0) {
        mx_warn("conn %s closed: out of memory for its PROXY header", mx_conn_peer_str(c));
        mx__conn_abort(c, NULL);
        return false;
    }
    struct mx__proxy_hdr h;
    switch (mx__proxy_parse(c->in.data, c->in.len, versions(c->ls->proxy.mode), &h)) {
    case MX__PROXY_MORE:
        return true;
    case MX__PROXY_ERROR:
        return refused(c, h.refusal, h.why);
    case MX__PROXY_DONE:
        break;
    }
    mx__count(&c->w->stats.proxy_accepted, 1);
    return header_done(c, &h);
}
