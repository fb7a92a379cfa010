/* net.h - socket helpers with no Criterion in them, so that the small
 * stand-alone servers of tests/load (which are not test binaries) can use
 * them as well as the harness. Returns 0 / a descriptor, or -errno. */
#ifndef MUXD_TEST_NET_H
#define MUXD_TEST_NET_H

#include <stdbool.h>

/* A listening TCP socket on 127.0.0.1 at a port the kernel picks; the port
 * goes to *port. Loopback only: a test must never be reachable from
 * outside. */
int mx_listen_loopback(int backlog, int *port);

/* The listener of a stand-alone fake server (tests/load): as above, then
 * "port N" on stdout, the line lr_server_start waits for. Exits the
 * process, naming prog, if it cannot listen. */
int mx_listen_announced(const char *prog);

/* A loopback port that was free a moment ago (bound, read back, released:
 * someone may take it before the caller binds, a race a test can live
 * with), for servers that cannot report the port they chose. -errno on
 * failure. */
int mx_free_port(void);

/* The loop of a one-thread fake server: level-triggered epoll over the
 * listener lfd and every connection it accepts. on_accept(fd) returns
 * false to refuse fd (closed here); on_readable(ep, fd) must read fd and
 * take it off ep if it closes it. Runs until the process is killed;
 * returns (-errno) only if epoll cannot be set up. */
int mx_serve_forever(int lfd, bool (*on_accept)(int fd),
                      void (*on_readable)(int ep, int fd));

#endif
