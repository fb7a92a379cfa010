/* weak_echo.c - a deliberately weak echo server for muxd-load hostile's
 * tests: what many a first event loop looks like. One thread, one loop,
 * blocking sockets, no limit on anything, and SIGPIPE left at its default
 * (the process dies). muxd-load hostile must catch each weakness:
 *
 *  - a client that never reads blocks the loop inside write(): every other
 *    client stalls (never-reader: the well-behaved p99 blows up);
 *  - a line of any length is echoed as it comes (overlong-line: IGNORED);
 *  - a write to a connection the client has reset is retried, and the
 *    second one raises SIGPIPE (reset-mid-write: the server is DOWN).
 *
 *   load_weak_echo      prints "port N" once listening on 127.0.0.1
 *
 * Runs until killed (or until SIGPIPE kills it). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

/* All of it, the naive way: a failed write is taken for a transient one
 * and tried again, so after a reset the next write raises SIGPIPE. */
static void write_all(int fd, const char *p, size_t n)
{
    for (int tries = 0; n > 0 && tries < 100; tries++) {
        ssize_t k = write(fd, p, n);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
}

static void echo_once(int ep, int fd)
{
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        return;
    }
    write_all(fd, buf, (size_t)n);
}

static bool take(int fd)
{
    (void)fd;
    return true; /* no limit on connections either */
}

int main(void)
{
    /* The default a naive server never thinks about; a test runner that
     * ignores SIGPIPE would otherwise hand its SIG_IGN down through exec. */
    signal(SIGPIPE, SIG_DFL);
    int lfd = mx_listen_announced("weak_echo");
    mx_serve_forever(lfd, take, echo_once);
    return 1;
}
