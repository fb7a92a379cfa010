/* notify.c - the service manager's notification protocol, written out
 * instead of linking libsystemd for one sendto: one datagram of
 * "KEY=value" lines to the AF_UNIX socket in $NOTIFY_SOCKET (a path, or an
 * abstract name when it starts with '@'). */
#include "app/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_addr(struct sockaddr_un *sa, socklen_t *len)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return -ENOENT;
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa->sun_path)
        return -EINVAL;
    *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@')
        sa->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    return 0;
}

int mx_app_notify(const char *state)
{
    struct sockaddr_un sa;
    socklen_t len;
    int err = notify_addr(&sa, &len);
    if (err == -ENOENT)
        return 0;
    if (err < 0)
        return err;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    err = r < 0 ? -errno : 0;
    close(fd);
    return err;
}
