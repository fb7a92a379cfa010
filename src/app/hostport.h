/* hostport.h - "HOST:PORT" as [cluster] redis takes it: where muxd
 * connects to, so HOST may be a name (looked up when connecting), unlike
 * a listen address, which the server binds as a number. */
#ifndef MUXD_APP_HOSTPORT_H
#define MUXD_APP_HOSTPORT_H

#include <stddef.h>

/* s is HOST:PORT, HOST an IPv4 address (10.0.0.5), a host name
 * (redis.example, letters, digits, '-' and '_' in dot-separated labels)
 * or an IPv6 address in brackets ([::1]), PORT 1 to 65535. 0 with HOST
 * (without brackets) in host and PORT in *port; -1, with host and *port
 * untouched, when s is not that shape or HOST does not fit in hostlen.
 * host or port may be NULL to check s alone. */
int mx_hostport_parse(const char *s, char *host, size_t hostlen, unsigned *port);

#endif
