/* sock.h - socket helpers: addresses, listening sockets, accepted sockets.
 * All return -errno on failure. */
#ifndef MUXD_IO_SOCK_H
#define MUXD_IO_SOCK_H

#include <stddef.h>
#include <sys/socket.h>

/* "127.0.0.1:7000", "[::1]:7000", "*:7000" (all IPv4 addresses) or
 * "[::]:7000". Numeric hosts only: a server's bind address should not
 * depend on DNS. -EINVAL on anything else. */
int mx__sock_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* "1.2.3.4:5" or "[::1]:5" into out (at least MX_ADDRSTRLEN bytes). */
#define MX_ADDRSTRLEN 56
void mx__sock_format_addr(const struct sockaddr *sa, char *out, size_t outlen);

/* A non-blocking, close-on-exec listening socket with SO_REUSEADDR. */
int mx__sock_listen(const struct sockaddr *sa, socklen_t len, int backlog);

/* Options for a freshly accepted TCP socket (TCP_NODELAY). */
void mx__sock_tune_accepted(int fd);

#endif
