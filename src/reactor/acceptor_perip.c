/* acceptor_perip.c - the acceptor's per-address admission step: judge a
 * fresh socket by its address's count and connect rate (admit_ip.h),
 * refuse with the protocol's line, log refusals by the burst.
 *
 * All of it runs on the acceptor thread, before any worker sees the
 * socket: a flood from one address costs an accept, a getpeername, a
 * table probe and a close, and never a connection object, a worker's
 * turn or a protocol callback.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/clock.h"
#include "reactor/server.h"

/* A burst ends once a second goes by without another of its kind: the
 * end line comes with the first connection after that (the acceptor
 * keeps no timers), or at stop. */
#define BURST_QUIET_MS 1000

static const char *const burst_name[MX__IP_BURSTS] = {
    [MX__IP_BURST_LIMIT] = "max_connections_per_ip",
    [MX__IP_BURST_RATE] = "connect_rate_per_ip",
    [MX__IP_BURST_FULL] = "per-address table full",
};

static void end_burst(struct mx_acceptor *a, int kind)
{
    mx_info("%s: %llu connections %s in that burst", burst_name[kind],
            (unsigned long long)a->ip_burst[kind].n,
            kind == MX__IP_BURST_FULL ? "admitted without per-address limits" : "refused");
    a->ip_burst[kind].n = 0;
}

void mx__acceptor_ip_bursts_over(struct mx_acceptor *a, uint64_t now_ms, bool all)
{
    for (int k = 0; k < MX__IP_BURSTS; k++) {
        const struct mx__ip_burst *b = &a->ip_burst[k];
        if (b->n && (all || now_ms - b->last_ms >= BURST_QUIET_MS))
            end_burst(a, k);
    }
}

/* Counts one more of kind; true if it starts a burst (the caller warns). */
static bool burst_add(struct mx_acceptor *a, int kind, uint64_t now_ms)
{
    struct mx__ip_burst *b = &a->ip_burst[kind];
    b->last_ms = now_ms;
    return b->n++ == 0;
}

/* The address alone, an IPv4-mapped one as IPv4 (how the peer knows it). */
static void ip_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    const void *addr = &((const struct sockaddr_in *)ss)->sin_addr;
    int family = ss->ss_family;
    if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        family = AF_INET;
        addr = &in6->sin6_addr.s6_addr[12];
    } else if (family == AF_INET6) {
        addr = &in6->sin6_addr;
    }
    if (!inet_ntop(family, addr, out, (socklen_t)len))
        snprintf(out, len, "?");
}

/* One non-blocking send of the protocol's line, then close: never waits
 * for the peer. Input it already sent is read away first so that the
 * close ends in a FIN after the line rather than a reset that could
 * discard it at the peer. */
static void refuse(struct mx_listener *ls, int fd, enum mx_refusal why, const char *ip)
{
    char buf[512];
    size_t n = ls->proto->refuse ? ls->proto->refuse(ls->proto_data, why, ip, buf, sizeof buf)
                                 : 0;
    if (n) {
        char sink[1024];
        (void)recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        (void)send(fd, buf, n < sizeof buf ? n : sizeof buf, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close(fd);
}

static void refused(struct mx_acceptor *a, struct mx_listener *ls, int fd,
                    enum mx__admit_verdict v, const struct sockaddr_storage *ss,
                    unsigned max, unsigned rate, uint64_t now)
{
    char ip[INET6_ADDRSTRLEN];
    ip_str(ss, ip, sizeof ip);
    bool over_rate = v == MX__ADMIT_OVER_RATE;
    refuse(ls, fd, over_rate ? MX_REFUSE_PER_IP_RATE : MX_REFUSE_PER_IP_LIMIT, ip);
    a->rejected++;
    mx__count(over_rate ? &a->rejected_per_ip_rate : &a->rejected_per_ip_limit, 1);
    if (!burst_add(a, over_rate ? MX__IP_BURST_RATE : MX__IP_BURST_LIMIT, now))
        return;
    if (over_rate)
        mx_warn("connect_rate_per_ip (%u/s) exceeded by %s on %s: refusing connections over it",
                rate, ip, ls->name);
    else
        mx_warn("max_connections_per_ip (%u) reached by %s on %s: refusing connections over it",
                max, ip, ls->name);
}

static void untracked(struct mx_acceptor *a, uint64_t now)
{
    mx__count(&a->per_ip_untracked, 1);
    if (burst_add(a, MX__IP_BURST_FULL, now))
        mx_warn("per-address table full (%u addresses hold connections): admitting new "
                "addresses without per-address limits", MX__ADMIT_IP_CAP);
}

bool mx__acceptor_admit_ip(struct mx_acceptor *a, int fd, struct mx_listener *ls,
                           uint32_t *ticket)
{
    struct mx_server *s = a->srv;
    *ticket = 0;
    /* Behind a proxy the peer is the proxy: its clients are admitted by
     * the address their header carries, on the worker (conn_proxy.c). */
    if (ls->proxy.mode != MX_PROXY_OFF)
        return true;
    unsigned max, rate;
    mx__listener_ip_limits(s, ls, &max, &rate);
    bool bursts = a->ip_burst[0].n | a->ip_burst[1].n | a->ip_burst[2].n;
    if (!max && !rate && !bursts) /* off: not even a clock read */
        return true;
    uint64_t now = mx__clock_ms();
    mx__acceptor_ip_bursts_over(a, now, false);
    if (!max && !rate)
        return true;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return true; /* reset already: its worker will find out */
    unsigned scope = (unsigned)(ls - s->listeners);
    enum mx__admit_verdict v =
        mx__admit_ip_take(&s->perip, (struct sockaddr *)&ss, scope, max, rate, now, ticket);
    if (v == MX__ADMIT_OVER_LIMIT || v == MX__ADMIT_OVER_RATE) {
        refused(a, ls, fd, v, &ss, max, rate, now);
        return false;
    }
    if (v == MX__ADMIT_UNTRACKED)
        untracked(a, now);
    return true;
}
