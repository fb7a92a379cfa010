/* conn.c - opening echo_bench's connections (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pattern.h"
#include "timing.h"

#define CONNECT_WINDOW 256     /* connects in flight at once */
#define CONNECT_TIMEOUT_S 30

/* One non-blocking connect; 0 when done, 1 when in progress. */
static int connect_start(const struct opts *o, struct conn *c)
{
    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    /* Small messages with several in flight: Nagle would hold them back
     * waiting for ACKs and measure the delayed-ACK timer, not the server. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) == 0)
        return 0;
    return errno == EINPROGRESS ? 1 : -errno;
}

int conn_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

static int connect_failed(const struct opts *o, unsigned i, unsigned n, int err)
{
    fprintf(stderr, "echo_bench: connect %u of %u to %s: %s\n", i + 1, n, o->target,
            strerror(-err));
    return -1;
}

/* Waits for one in-progress connect to finish; returns its index. */
static int connect_reap(const struct opts *o, int ep, struct conn *cs, unsigned n,
                        uint64_t deadline)
{
    struct epoll_event ev;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) {
            fprintf(stderr, "echo_bench: connects to %s did not complete in %d s\n", o->target,
                    CONNECT_TIMEOUT_S);
            return -1;
        }
        int k = epoll_wait(ep, &ev, 1, (int)((deadline - now) / NS_PER_MS) + 1);
        if (k < 0 && errno != EINTR) {
            perror("echo_bench: epoll_wait");
            return -1;
        }
        if (k <= 0)
            continue;
        unsigned i = ev.data.u32;
        epoll_ctl(ep, EPOLL_CTL_DEL, cs[i].fd, NULL);
        int err = conn_error(cs[i].fd);
        return err < 0 ? connect_failed(o, i, n, err) : (int)i;
    }
}

/* At most CONNECT_WINDOW at a time, so a burst cannot overflow the
 * server's SYN or accept backlog (which would turn into one-second SYN
 * retries, not an error). */
int connect_all(const struct opts *o, struct conn *cs, unsigned n)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("echo_bench: epoll_create1");
        return -1;
    }
    uint64_t deadline = now_ns() + CONNECT_TIMEOUT_S * NS_PER_S;
    unsigned pending = 0, i = 0;
    int rc = 0;
    while (rc == 0 && (i < n || pending > 0)) {
        if (i < n && pending < CONNECT_WINDOW) {
            int r = connect_start(o, &cs[i]);
            struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
            if (r < 0)
                rc = connect_failed(o, i, n, r);
            else if (r == 1 && epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == 0)
                pending++;
            else if (r == 1)
                rc = connect_failed(o, i, n, -errno);
            i++;
            continue;
        }
        if (connect_reap(o, ep, cs, n, deadline) < 0)
            rc = -1;
        pending--;
    }
    close(ep);
    return rc;
}

struct conn *conns_new(const struct opts *o, unsigned n)
{
    struct conn *cs = calloc(n, sizeof *cs);
    uint64_t *times = calloc((size_t)n * o->depth, sizeof *times);
    if (!cs || !times) {
        free(cs);
        free(times);
        return NULL;
    }
    for (unsigned i = 0; i < n; i++)
        cs[i] = (struct conn){ .fd = -1, .id = i, .base = pat_base(i),
                               .t_issue = times + (size_t)i * o->depth };
    return cs;
}

void conns_free(struct conn *cs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    free(cs[0].t_issue);
    free(cs);
}

/* The soft descriptor limit is often far below the hard one; take it all,
 * and say so up front if the connections cannot fit. */
int fit_fd_limit(unsigned n)
{
    struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)n + 32 > rl.rlim_cur) {
        fprintf(stderr, "echo_bench: %u connections do not fit the descriptor limit %llu; "
                "use several processes\n", n, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}
