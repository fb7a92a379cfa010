/* fdlimit.c - max_connections against the descriptor ceiling (see
 * fdlimit.h). */
#include "app/fdlimit.h"

#include <stdio.h>
#include <sys/resource.h>

unsigned long mx_fd_hard_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
        return 0;
    return (unsigned long)rl.rlim_max;
}

bool mx_fd_ceiling_warning(size_t max_connections, unsigned long hard, char *buf, size_t len)
{
    unsigned long room = hard > MX_FD_RESERVE ? hard - MX_FD_RESERVE : 0;
    if (hard == 0 || max_connections <= room)
        return false;
    snprintf(buf, len, "[limits] max_connections = %zu, but this process may open at most "
             "%lu descriptors (hard RLIMIT_NOFILE), about %lu connections; past that new "
             "ones are refused. Raise the limit (ulimit -Hn, systemd LimitNOFILE=) or lower "
             "max_connections", max_connections, hard, room);
    return true;
}
