/* hs_net.c - hostile mode's sockets: connecting with the options an abuser
 * needs, resets, seeing the server's side of a connection in /proc, and a
 * blocking IRC registration for abusers that must be registered first. */
#include "hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

int ld_hs_connect_start(const struct ld_opts *o, const struct ld_hs_sockopt *so)
{
    const struct ld_target *t = &o->targets[0]; /* hostile takes one server */
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Before connect: the window and segment size are agreed in the
     * handshake, and a small mss keeps the server's send buffer small. */
    if (so && so->rcvbuf)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &so->rcvbuf, sizeof so->rcvbuf);
    if (so && so->mss)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &so->mss, sizeof so->mss);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (so && so->src && bind(fd, so->src, so->srclen) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int ld_hs_connect(const struct ld_opts *o, const struct ld_hs_sockopt *so, int timeout_ms)
{
    int fd = ld_hs_connect_start(o, so);
    if (fd < 0)
        return fd;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int n = poll(&p, 1, timeout_ms);
    int err = 0;
    socklen_t len = sizeof err;
    if (n <= 0)
        err = n == 0 ? ETIMEDOUT : errno;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        close(fd);
        return -err;
    }
    return fd;
}

void ld_hs_close_rst(int fd)
{
    struct linger l = { 1, 0 };
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

int ld_hs_alive(const struct ld_opts *o)
{
    int fd = ld_hs_connect(o, NULL, 2000);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

/* "0100007F:1F90" (IPv4) or four words and the port (IPv6), as
 * /proc/net/tcp{,6} prints an endpoint: raw address words in hex. */
static bool endpoint(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        snprintf(buf, len, "%08X:%04X", a->sin_addr.s_addr, ntohs(a->sin_port));
        return true;
    }
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uint32_t w[4];
    memcpy(w, &a->sin6_addr, sizeof w);
    snprintf(buf, len, "%08X%08X%08X%08X:%04X", w[0], w[1], w[2], w[3], ntohs(a->sin6_port));
    return true;
}

static bool loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The state (hex, as in /proc) of the socket local -> remote, or -1. */
static int proc_state(const char *file, const char *local, const char *remote)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -2;
    char line[512], l[64], r[64];
    int st = -1;
    unsigned s;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, " %*s %63s %63s %x", l, r, &s) == 3 && strcmp(l, local) == 0 &&
            strcmp(r, remote) == 0) {
            st = (int)s;
            break;
        }
    fclose(f);
    return st;
}

bool ld_hs_server_closed(int fd)
{
    struct sockaddr_storage me, srv;
    socklen_t ml = sizeof me, sl = sizeof srv;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0 ||
        getpeername(fd, (struct sockaddr *)&srv, &sl) < 0)
        return false;
    if (!loopback(&srv))
        return false;
    char local[64], remote[64];
    endpoint(&srv, local, sizeof local);
    endpoint(&me, remote, sizeof remote);
    int st = proc_state(srv.ss_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", local,
                        remote);
    enum { ESTABLISHED = 1, SYN_RECV = 3, CLOSE_WAIT = 8 };
    if (st == -2)
        return false; /* no /proc: cannot tell */
    return st != ESTABLISHED && st != SYN_RECV && st != CLOSE_WAIT;
}

void ld_hs_chan(const struct ld_opts *o, char *buf, size_t len)
{
    snprintf(buf, len, "#%s0", o->chan_prefix);
}

/* ---- a blocking IRC registration ---- */

struct reg {
    int fd;
    const char *nick, *chan;
    bool welcomed, joined;
    char buf[8192];
    size_t len;
    char *why;
    size_t whylen;
};

static int send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* The replies that refuse a registration or a join (not, say, 422 for a
 * missing MOTD). */
static bool refusal(const char *cmd)
{
    static const char *const codes[] = { "403 ", "405 ", "431 ", "432 ", "433 ", "436 ",
                                         "437 ", "461 ", "462 ", "464 ", "465 ", "471 ",
                                         "473 ", "474 ", "475 ", "477 " };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strncmp(cmd, codes[i], 4) == 0)
            return true;
    return false;
}

/* One line from the server; -1 when it refused us. */
static int reg_line(struct reg *r, char *l)
{
    char *sp = strchr(l, ' ');
    const char *cmd = l[0] == ':' && sp ? sp + 1 : l;
    if (strncmp(cmd, "PING ", 5) == 0) {
        char pong[600];
        snprintf(pong, sizeof pong, "PONG %s\r\n", cmd + 5);
        return send_str(r->fd, pong);
    }
    if (strncmp(cmd, "001 ", 4) == 0 && !r->welcomed) {
        r->welcomed = true;
        char join[96];
        snprintf(join, sizeof join, "JOIN %s\r\n", r->chan ? r->chan : "");
        return r->chan ? send_str(r->fd, join) : 0;
    }
    size_t nl = strlen(r->nick);
    if (r->chan && strncmp(l + 1, r->nick, nl) == 0 && l[1 + nl] == '!' && strstr(cmd, "JOIN "))
        r->joined = true;
    if (strncmp(cmd, "ERROR", 5) == 0 || refusal(cmd)) {
        snprintf(r->why, r->whylen, "registering %s: %s", r->nick, l);
        return -1;
    }
    return 0;
}

static int reg_read(struct reg *r)
{
    ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        snprintf(r->why, r->whylen, "registering %s: the server closed the connection", r->nick);
        return -1;
    }
    r->len += (size_t)n;
    r->buf[r->len] = '\0';
    char *p = r->buf, *lf;
    while ((lf = strchr(p, '\n'))) {
        *lf = '\0';
        if (lf > p && lf[-1] == '\r')
            lf[-1] = '\0';
        if (reg_line(r, p) < 0)
            return -1;
        p = lf + 1;
    }
    r->len -= (size_t)(p - r->buf);
    memmove(r->buf, p, r->len);
    if (r->len == sizeof r->buf - 1)
        r->len = 0; /* a line longer than any IRC line: drop it */
    return 0;
}

int ld_hs_chat_register(int fd, const char *nick, const char *chan, int timeout_ms, char *why,
                     size_t whylen)
{
    struct reg r = { .fd = fd, .nick = nick, .chan = chan, .why = why, .whylen = whylen };
    char hello[160];
    snprintf(hello, sizeof hello, "NICK %s\r\nUSER %s 0 * :muxd-load hostile\r\n", nick, nick);
    if (send_str(fd, hello) < 0) {
        snprintf(why, whylen, "registering %s: %s", nick, strerror(errno));
        return -1;
    }
    uint64_t end = ld_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
    while (!(r.welcomed && (!chan || r.joined))) {
        uint64_t now = ld_now_ns();
        if (now >= end) {
            snprintf(why, whylen, "registering %s: no %s within %d ms", nick,
                     r.welcomed ? "JOIN" : "001", timeout_ms);
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)((end - now) / NS_PER_MS) + 1) > 0 && reg_read(&r) < 0)
            return -1;
    }
    return 0;
}
