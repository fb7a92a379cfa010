/* irc.c - the chat tests' IRC client (see irc.h). */
#include "irc.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int irc_open_bufs(struct irc *c, int port, int rcvbuf, int sndbuf)
{
    return irc_open_opts(c, port, &(struct mx_sockopts){ .rcvbuf = rcvbuf, .sndbuf = sndbuf });
}

int irc_open_opts(struct irc *c, int port, const struct mx_sockopts *o)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    snprintf(c->nick, sizeof c->nick, "(unregistered)");
    c->rcap = 64 * 1024;
    if (!(c->rbuf = malloc(c->rcap)))
        return -ENOMEM;
    int fd = mx_connect_opts(port, o);
    if (fd < 0)
        return fd;
    c->fd = fd;
    return 0;
}

int irc_open(struct irc *c, int port)
{
    return irc_open_bufs(c, port, 0, 0);
}

void irc_close(struct irc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = c->rcap = 0;
}

int irc_send_raw(struct irc *c, const void *p, size_t n)
{
    return mx_send_all(c->fd, p, n);
}

int irc_send(struct irc *c, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf - 2)
        return -EINVAL;
    buf[n++] = '\r';
    buf[n++] = '\n';
    return irc_send_raw(c, buf, (size_t)n);
}

static void remember(struct irc *c, const char *line)
{
    unsigned slot = c->nrecent++ % IRC_T_RECENT;
    snprintf(c->recent[slot], sizeof c->recent[slot], "%.159s", line);
}

const char *irc_recent(const struct irc *c)
{
    static char out[IRC_T_RECENT * 162 + 1];
    size_t len = 0;
    unsigned n = c->nrecent < IRC_T_RECENT ? c->nrecent : IRC_T_RECENT;
    out[0] = '\0';
    for (unsigned i = c->nrecent - n; i < c->nrecent; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "  %s\n",
                                c->recent[i % IRC_T_RECENT]);
    if (c->eof && len + 8 < sizeof out)
        snprintf(out + len, sizeof out - len, "  <EOF>\n");
    return out;
}

/* Moves one complete line from rbuf into c->line, if there is one. */
static bool take_line(struct irc *c)
{
    char *lf = memchr(c->rbuf, '\n', c->rlen);
    if (!lf)
        return false;
    size_t n = (size_t)(lf - c->rbuf), keep = n;
    if (keep && c->rbuf[keep - 1] == '\r')
        keep--;
    if (keep >= sizeof c->line)
        keep = sizeof c->line - 1;
    memcpy(c->line, c->rbuf, keep);
    c->line[keep] = '\0';
    memmove(c->rbuf, lf + 1, c->rlen - n - 1);
    c->rlen -= n + 1;
    remember(c, c->line);
    return true;
}

int irc_next(struct irc *c, int timeout_ms)
{
    int64_t deadline = mx_now_ms() + timeout_ms;
    for (;;) {
        if (take_line(c))
            return 1;
        if (c->eof || c->fd < 0)
            return 0;
        if (c->rlen == c->rcap) {
            /* A line longer than the buffer: keep its tail only. */
            c->rlen = 0;
        }
        int left = (int)(deadline - mx_now_ms());
        if (left < 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        ssize_t got = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
        if (got > 0) {
            c->rlen += (size_t)got;
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            c->eof = true;
        }
    }
}

/* Start of the command in line, and its length. */
static const char *cmd_of(const char *line, size_t *len)
{
    const char *p = line;
    if (*p == ':') {
        p = strchr(p, ' ');
        if (!p)
            p = line + strlen(line);
        while (*p == ' ')
            p++;
    }
    *len = strcspn(p, " ");
    return p;
}

void irc_line_cmd(const char *line, char *out, size_t cap)
{
    size_t n;
    const char *p = cmd_of(line, &n);
    snprintf(out, cap, "%.*s", (int)n, p);
}

bool irc_line_param(const char *line, int i, char *out, size_t cap)
{
    size_t n;
    const char *p = cmd_of(line, &n) + n;
    for (int k = 0;; k++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return false;
        if (*p == ':') {
            if (k != i)
                return false;
            snprintf(out, cap, "%s", p + 1);
            return true;
        }
        size_t w = strcspn(p, " ");
        if (k == i) {
            snprintf(out, cap, "%.*s", (int)w, p);
            return true;
        }
        p += w;
    }
}

bool irc_line_is(const char *line, const char *cmd, const char *text)
{
    if (cmd) {
        size_t n;
        const char *p = cmd_of(line, &n);
        if (n != strlen(cmd) || strncmp(p, cmd, n) != 0)
            return false;
    }
    return !text || strstr(line, text);
}

const char *irc_expect(struct irc *c, const char *cmd, const char *text, int timeout_ms)
{
    int64_t deadline = mx_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - mx_now_ms());
        if (irc_next(c, left < 0 ? 0 : left) != 1)
            return NULL;
        if (irc_line_is(c->line, cmd, text))
            return c->line;
    }
}

const char *irc_expect_next(struct irc *c, const char *cmd, const char *text,
                            int timeout_ms)
{
    if (irc_next(c, timeout_ms) != 1)
        return NULL;
    return irc_line_is(c->line, cmd, text) ? c->line : NULL;
}

bool irc_quiet(struct irc *c, int ms)
{
    return irc_next(c, ms) != 1;
}

bool irc_wait_eof(struct irc *c, int timeout_ms)
{
    int64_t deadline = mx_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - mx_now_ms());
        int r = irc_next(c, left < 0 ? 0 : left);
        if (r == 0)
            return true;
        if (r < 0)
            return false;
    }
}

int irc_register(struct irc *c, const char *nick, const char *user, int timeout_ms)
{
    if (irc_send(c, "NICK %s", nick) < 0 || irc_send(c, "USER %s 0 * :Test %s", user, nick) < 0)
        return -1;
    if (!irc_expect(c, "001", NULL, timeout_ms))
        return -1;
    snprintf(c->nick, sizeof c->nick, "%s", nick);
    int64_t deadline = mx_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - mx_now_ms());
        if (irc_next(c, left < 0 ? 0 : left) != 1)
            return -1;
        if (irc_line_is(c->line, "376", NULL) || irc_line_is(c->line, "422", NULL))
            return 0;
    }
}

int irc_login(struct irc *c, int port, const char *nick, int timeout_ms)
{
    int rc = irc_open(c, port);
    if (rc < 0) {
        snprintf(c->line, sizeof c->line, "connect: %s", strerror(-rc));
        return -1;
    }
    char user[16];
    snprintf(user, sizeof user, "u%.8s", nick);
    for (char *p = user; *p; p++)
        if (*p == '[' || *p == ']' || *p == '{' || *p == '}' || *p == '\\' || *p == '|')
            *p = 'x';
    return irc_register(c, nick, user, timeout_ms);
}

int irc_join(struct irc *c, const char *chan, const char *key, int timeout_ms)
{
    int rc = key ? irc_send(c, "JOIN %s %s", chan, key) : irc_send(c, "JOIN %s", chan);
    if (rc < 0)
        return -1;
    char want[128];
    snprintf(want, sizeof want, " %s :End of NAMES", chan);
    return irc_expect(c, "366", want, timeout_ms) ? 0 : -1;
}

int irc_sync(struct irc *c, const char *token, const char *cmd, const char *text,
             int *before, int timeout_ms)
{
    if (irc_send(c, "PING :%s", token) < 0)
        return -1;
    int64_t deadline = mx_now_ms() + timeout_ms;
    char want[128];
    snprintf(want, sizeof want, ":%s", token);
    for (;;) {
        int left = (int)(deadline - mx_now_ms());
        if (irc_next(c, left < 0 ? 0 : left) != 1)
            return -1;
        if (irc_line_is(c->line, "PONG", want))
            return 0;
        if (before && irc_line_is(c->line, cmd, text))
            (*before)++;
    }
}

void irc_lines_take(struct irc *c, struct irc_lines *l)
{
    l->plen = c->rlen < sizeof l->part ? c->rlen : 0;
    memcpy(l->part, c->rbuf, l->plen);
    c->rlen = 0;
}

int irc_lines_read(int fd, struct irc_lines *l, void (*fn)(void *arg, char *line), void *arg)
{
    char buf[sizeof l->part + 65536];
    memcpy(buf, l->part, l->plen);
    ssize_t got = recv(fd, buf + l->plen, sizeof buf - l->plen - 1, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
        return 0;
    size_t len = l->plen + (size_t)(got > 0 ? got : 0), off = 0;
    char *lf;
    while ((lf = memchr(buf + off, '\n', len - off))) {
        *lf = '\0';
        if (lf > buf + off && lf[-1] == '\r')
            lf[-1] = '\0';
        fn(arg, buf + off);
        off = (size_t)(lf - buf) + 1;
    }
    /* A "line" longer than the kept room is dropped, not kept growing. */
    l->plen = len - off < sizeof l->part ? len - off : 0;
    memcpy(l->part, buf + off, l->plen);
    return 1;
}

