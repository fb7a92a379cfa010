/* net.c - Criterion-free socket helpers (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int mx_listen_loopback(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int mx_listen_announced(const char *prog)
{
    int port;
    int fd = mx_listen_loopback(1024, &port);
    if (fd < 0) {
        fprintf(stderr, "%s: listen: %s\n", prog, strerror(-fd));
        exit(1);
    }
    printf("port %d\n", port);
    fflush(stdout);
    return fd;
}

int mx_free_port(void)
{
    int port;
    int fd = mx_listen_loopback(1, &port);
    if (fd < 0)
        return fd;
    close(fd);
    return port;
}

static void accept_one(int ep, int lfd, bool (*on_accept)(int fd))
{
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (!on_accept(c)) {
        close(c);
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
        close(c);
}

int mx_serve_forever(int lfd, bool (*on_accept)(int fd),
                     void (*on_readable)(int ep, int fd))
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        return -errno;
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == lfd)
                accept_one(ep, lfd, on_accept);
            else
                on_readable(ep, evs[i].data.fd);
        }
    }
}
