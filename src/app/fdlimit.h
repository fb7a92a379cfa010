/* fdlimit.h - does max_connections fit in the descriptors this process
 * may open? Every connection is one, and past the hard RLIMIT_NOFILE the
 * acceptor can only refuse (EMFILE), whatever max_connections says. */
#ifndef MUXD_APP_FDLIMIT_H
#define MUXD_APP_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptors muxd keeps for itself: listeners, each worker's event loop
 * and wake-up, the offload pool's, stdio. A round figure with room. */
#define MX_FD_RESERVE 64

/* The hard RLIMIT_NOFILE, the most the soft one can be raised to;
 * 0 when unlimited or unknown. */
unsigned long mx_fd_hard_limit(void);

/* True, with a warning in buf, when max_connections does not fit under
 * the hard limit hard (0: no limit) less MX_FD_RESERVE. */
bool mx_fd_ceiling_warning(size_t max_connections, unsigned long hard, char *buf, size_t len);

#endif
