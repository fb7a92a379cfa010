/* sock.c - socket helpers (see sock.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/sock.h"

static int parse_port(const char *s, in_port_t *port)
{
    /* Digits only: strtoul alone would take blanks and signs. */
    unsigned long v = 0;
    if (!*s || strlen(s) > 5)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > 65535)
        return -EINVAL;
    *port = htons((in_port_t)v);
    return 0;
}

static int parse_v6(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *close = strchr(s, ']');
    char host[INET6_ADDRSTRLEN];
    size_t hl = close ? (size_t)(close - s - 1) : 0;
    if (!close || close[1] != ':' || hl == 0 || hl >= sizeof host)
        return -EINVAL;
    memcpy(host, s + 1, hl);
    host[hl] = '\0';
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    memset(a, 0, sizeof *a);
    a->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
        return -EINVAL;
    *len = sizeof *a;
    return parse_port(close + 2, &a->sin6_port);
}

static int parse_v4(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = strrchr(s, ':');
    char host[INET_ADDRSTRLEN];
    size_t hl = colon ? (size_t)(colon - s) : 0;
    if (!colon || hl == 0 || hl >= sizeof host)
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    if (strcmp(host, "*") == 0)
        a->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return -EINVAL;
    *len = sizeof *a;
    return parse_port(colon + 1, &a->sin_port);
}

int mx__sock_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    return s[0] == '[' ? parse_v6(s, ss, len) : parse_v4(s, ss, len);
}

void mx__sock_format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, outlen, "[%s]:%u", host, ntohs(a->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, outlen, "%s:%u", host, ntohs(a->sin_port));
    } else {
        snprintf(out, outlen, "(family %d)", sa->sa_family);
    }
}

int mx__sock_listen(const struct sockaddr *sa, socklen_t len, int backlog)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (sa->sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, sa, len) < 0 || listen(fd, backlog) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

void mx__sock_tune_accepted(int fd)
{
    int one = 1;
    /* Echo and chat replies are small and latency-bound; the output queue
     * already batches them into one writev per turn. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
