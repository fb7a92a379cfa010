/* cidr.h - address ranges ("10.0.0.0/8", "::1"): a listener's proxy_from,
 * the sources trusted to send a PROXY header. */
#ifndef MUXD_REACTOR_CIDR_H
#define MUXD_REACTOR_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Ranges one list may hold: a config line fits about 20 IPv4 ones. */
#define MX__CIDR_MAX 32

struct mx__cidr {
    unsigned char addr[16];  /* network order; the first 4 bytes for IPv4 */
    uint8_t bits;            /* prefix length: 0..32 or 0..128 */
    uint8_t v6;              /* 1: IPv6, 0: IPv4 */
};

/* Parses text, comma-separated ranges with blanks allowed around each:
 * an address alone is one host (/32, /128), and a range may not have
 * bits set past its prefix ("10.0.0.1/8" is a typo for a host or for
 * 10.0.0.0/8; we do not guess which). *n gets the count (0 for empty
 * text). 0, or -EINVAL with the reason in why (naming the bad entry). */
int mx__cidr_parse_list(const char *text, struct mx__cidr *out, unsigned max, unsigned *n,
                        char *why, size_t len);

/* Whether sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * its IPv4 one) is in one of the n ranges. */
bool mx__cidr_match(const struct mx__cidr *list, unsigned n, const struct sockaddr *sa);

#endif
