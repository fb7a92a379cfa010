/* bench/peers/peer_addr.h - what the peer echo servers share: parsing
 * HOST:PORT into a listening socket and saying where it listens. */
#ifndef PEER_ADDR_H
#define PEER_ADDR_H

/* Opens a non-blocking TCP listening socket (SO_REUSEADDR, backlog 4096) on
 * "HOST:PORT" or "[V6]:PORT", HOST numeric; PORT 0 = any free port. Returns
 * the fd, or -1 after printing why on stderr, prefixed by prog. */
int peer_listen(const char *prog, const char *hostport);

/* Prints "listening on HOST:PORT" with the port actually bound to stdout
 * and flushes it, so a script can read the port of a PORT 0 socket. */
void peer_announce(int fd);

#endif
