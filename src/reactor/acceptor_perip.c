/* acceptor_perip.c - the acceptor's per-address admission step: judge a
 * fresh socket by its address's count and connect rate (admit_ip.h),
 * refuse with the protocol's line, log refusals by the burst (ip_burst.h).
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
    mx__ip_refused_log(&a->srv->ip_bursts, now, over_rate, max, rate, ip, ls->name, false);
}

bool mx__acceptor_admit_ip(struct mx_acceptor *a, int fd, struct mx_listener *ls,
                           uint32_t *ticket)
{
    struct mx_server *s = a->srv;
    *ticket = 0;
    unsigned max, rate;
    mx__listener_ip_limits(s, ls, &max, &rate);
    /* Every accept may end a burst, the workers' ones too. */
    bool bursts = mx__ip_bursts_on(&s->ip_bursts);
    if (!max && !rate && !bursts) /* off: not even a clock read */
        return true;
    uint64_t now = mx__clock_ms();
    mx__ip_bursts_over(&s->ip_bursts, now, false);
    /* Behind a proxy the peer is the proxy: its clients are admitted by
     * the address their header carries, on the worker (conn_proxy.c). */
    if ((!max && !rate) || ls->proxy.mode != MX_PROXY_OFF)
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
    if (v == MX__ADMIT_UNTRACKED) {
        mx__count(&a->per_ip_untracked, 1);
        mx__ip_untracked_log(&s->ip_bursts, now);
    }
    return true;
}
