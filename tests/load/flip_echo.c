/* flip_echo.c - a deliberately broken echo server for muxd-load's tests:
 * it echoes every connection's bytes, except that byte number FLIP_AT of
 * each connection's stream (default 1000) comes back with one bit flipped.
 *
 *   load_flip_echo [FLIP_AT]     prints "port N" once listening on 127.0.0.1
 *
 * One thread, level-triggered epoll, blocking sends (test loads are
 * small). Runs until killed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#define MAX_FDS 65536

static uint64_t offset[MAX_FDS]; /* bytes echoed so far, per connection */

static uint64_t flip_at = 1000;

/* Echoes what one read got, flipping the chosen byte if it is in there. */
static void echo_once(int ep, int fd)
{
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
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

static bool track(int fd)
{
    if (fd >= MAX_FDS)
        return false;
    offset[fd] = 0;
    return true;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        flip_at = strtoull(argv[1], NULL, 10);
    int lfd = mx_listen_announced("flip_echo");
    mx_serve_forever(lfd, track, echo_once);
    perror("flip_echo: epoll");
    return 1;
}
