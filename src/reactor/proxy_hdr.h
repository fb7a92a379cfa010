/* proxy_hdr.h - the PROXY protocol header (haproxy's proxy-protocol.txt,
 * versions 1 and 2), parsed from the first bytes of a connection.
 *
 * Pure: no I/O, no allocation, no state between calls. The caller keeps
 * the bytes received so far and asks again with more until the answer is
 * no longer MX__PROXY_MORE; a header is at most MX__PROXY_MAX bytes, so
 * parsing it again from the start costs nothing worth saving.
 */
#ifndef MUXD_REACTOR_PROXY_HDR_H
#define MUXD_REACTOR_PROXY_HDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "muxd/stats.h"

/* Versions a listener accepts (a mask): MX_PROXY_ANY is both. */
#define MX__PROXY_V1 1u
#define MX__PROXY_V2 2u

/* v1: the longest line the spec allows, CR LF included. */
#define MX__PROXY_V1_MAX 107
/* v2: the fixed part, and the most we take after it (addresses and TLVs;
 * the spec allows 65535, no sender we know of needs more than a few
 * hundred). */
#define MX__PROXY_V2_FIXED 16
#define MX__PROXY_V2_BODY_MAX 512
#define MX__PROXY_MAX (MX__PROXY_V2_FIXED + MX__PROXY_V2_BODY_MAX)

enum mx__proxy_rc {
    MX__PROXY_MORE,   /* a valid beginning: wait for more bytes */
    MX__PROXY_DONE,   /* a whole header: see struct mx__proxy_hdr */
    MX__PROXY_ERROR,  /* not a header we accept: close the connection */
};

struct mx__proxy_hdr {
    size_t len;         /* DONE: the header's bytes, to skip */
    unsigned version;   /* DONE: 1 or 2 */
    /* DONE: whether src holds the client's address. false for v2 LOCAL
     * (the proxy's own connection, a health check), v1 UNKNOWN and
     * families we do not carry (AF_UNSPEC, AF_UNIX, datagrams): the spec
     * says to keep the real peer then. */
    bool has_src;
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } src;
    const char *why;    /* ERROR: the reason, a static string */
    enum mx_proxy_refusal refusal; /* ERROR: its kind, for the counters */
};

/* Parses p[0..n) as the start of a PROXY header of one of the versions
 * in the mask. On DONE, out->len bytes are the header and the rest of p
 * is the client's first data. */
enum mx__proxy_rc mx__proxy_parse(const void *p, size_t n, unsigned versions,
                                  struct mx__proxy_hdr *out);

#endif
