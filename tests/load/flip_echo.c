/* flip_echo.c - a deliberately broken echo server for muxd-load's tests:
 * it echoes every connection's bytes, except that byte number FLIP_AT of
 * each connection's stream (default 1000) comes back with one bit flipped.
 *
 *   load_flip_echo [FLIP_AT]     prints "port N" once listening on 127.0.0.1
 *
 * One thread, level-triggered epoll, blocking sends (test loads are
 * small). Runs until killed. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536

static uint64_t offset[MAX_FDS]; /* bytes echoed so far, per connection */

static int listen_any(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("flip_echo: listen");
        exit(1);
    }
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

/* Echoes what one read got, flipping the chosen byte if it is in there. */
static void echo_once(int ep, int fd, uint64_t flip_at)
{
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0 || fd >= MAX_FDS) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        return;
    }
    uint64_t at = offset[fd];
    if (flip_at >= at && flip_at < at + (uint64_t)n)
        buf[flip_at - at] ^= 0x04;
    offset[fd] += (uint64_t)n;
    for (ssize_t sent = 0; sent < n;) {
        ssize_t k = send(fd, buf + sent, (size_t)(n - sent), MSG_NOSIGNAL);
        if (k <= 0)
            return;
        sent += k;
    }
}

int main(int argc, char **argv)
{
    uint64_t flip_at = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
    int lfd = listen_any();
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != lfd) {
                echo_once(ep, fd, flip_at);
                continue;
            }
            int c = accept(lfd, NULL, NULL);
            if (c < 0)
                continue;
            if (c < MAX_FDS)
                offset[c] = 0;
            struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };
            epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
    }
}
