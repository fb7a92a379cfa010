/* bench/peers/epoll_echo.c - the no-framework lower bound: one thread, one
 * edge-triggered epoll loop, raw echo.
 *
 *   epoll_echo HOST:PORT      (PORT 0: any free port; prints where it listens)
 *
 * Each readable burst is read into one shared 64 KiB scratch buffer and
 * written straight back. Only what the socket would not take is copied into
 * a buffer of the connection's own; while that holds bytes the connection is
 * not read (its peer then fills the kernel buffers and waits), and EPOLLOUT
 * drains it. So an idle or keeping-up connection costs its slot and no heap.
 * SIGTERM or SIGINT: close everything, exit 0.
 */
#include "peer_addr.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SCRATCH = 64 * 1024, MAX_EVENTS = 256 };

struct conn {
    bool open, readable, writable;
    char *pend;      /* bytes the socket did not take yet, or NULL */
    size_t off, len; /* pend[off, len) is still to be written */
};

static struct conn *conns; /* indexed by fd */
static size_t nconns;
static char scratch[SCRATCH];

static struct conn *slot(int fd)
{
    if ((size_t)fd >= nconns) {
        size_t n = nconns ? nconns : 1024;
        while (n <= (size_t)fd)
            n *= 2;
        struct conn *c = realloc(conns, n * sizeof *c);
        if (c == NULL)
            return NULL;
        memset(c + nconns, 0, (n - nconns) * sizeof *c);
        conns = c;
        nconns = n;
    }
    return &conns[fd];
}

static void drop(int fd)
{
    struct conn *c = &conns[fd];
    free(c->pend);
    *c = (struct conn){0};
    close(fd); /* also leaves the epoll set */
}

/* Writes buf[0, n); keeps what the socket would not take. -1: close. */
static int send_or_keep(int fd, struct conn *c, const char *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(fd, buf + done, n - done, MSG_NOSIGNAL);
        if (w > 0) {
            done += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            c->writable = false;
            break;
        } else {
            return -1;
        }
    }
    if (done == n)
        return 0;
    char *p = malloc(n - done);
    if (p == NULL)
        return -1;
    memcpy(p, buf + done, n - done);
    c->pend = p;
    c->off = 0;
    c->len = n - done;
    return 0;
}

/* Writes the kept bytes; 0 when they are all gone, 1 when some remain. */
static int flush_pending(int fd, struct conn *c)
{
    while (c->off < c->len) {
        ssize_t w = send(fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w > 0)
            c->off += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && errno == EAGAIN)
            return c->writable = false, 1;
        else
            return -1;
    }
    free(c->pend);
    c->pend = NULL;
    c->off = c->len = 0;
    return 0;
}

/* Does all the work the edge allows: drain what is kept, then read and
 * echo until the socket is empty or would block on writing. */
static void serve(int fd)
{
    struct conn *c = &conns[fd];
    for (;;) {
        if (c->pend != NULL) {
            if (!c->writable)
                return;
            int rc = flush_pending(fd, c);
            if (rc < 0)
                return drop(fd);
            if (rc > 0)
                return;
        }
        if (!c->readable)
            return;
        ssize_t r = recv(fd, scratch, sizeof scratch, 0);
        if (r > 0) {
            if (send_or_keep(fd, c, scratch, (size_t)r) < 0)
                return drop(fd);
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && errno == EAGAIN) {
            c->readable = false;
        } else {
            return drop(fd); /* EOF or error */
        }
    }
}

static void accept_all(int ep, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                perror("epoll_echo: accept4");
            return; /* EAGAIN, or EMFILE and friends: try on the next edge */
        }
        struct conn *c = slot(fd);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.fd = fd};
        if (c == NULL || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            continue;
        }
        *c = (struct conn){.open = true};
    }
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: epoll_echo HOST:PORT   (port 0: any; prints the port bound)\n");
        return 2;
    }
    int lfd = peer_listen("epoll_echo", argv[1]);
    if (lfd < 0)
        return 1;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
    struct epoll_event sev = {.events = EPOLLIN, .data.fd = sfd};
    if (sfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev) != 0) {
        perror("epoll_echo: setup");
        return 1;
    }
    peer_announce(lfd);

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("epoll_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                accept_all(ep, lfd);
            } else if (fd == sfd) {
                for (size_t f = 0; f < nconns; f++)
                    if (conns[f].open)
                        drop((int)f);
                free(conns);
                return 0;
            } else if (conns[fd].open) {
                uint32_t e = evs[i].events;
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    conns[fd].readable = true; /* a read then finds EOF or the error */
                if (e & EPOLLOUT)
                    conns[fd].writable = true;
                serve(fd);
            }
        }
    }
}
