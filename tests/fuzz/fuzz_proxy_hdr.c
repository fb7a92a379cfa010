/* fuzz_proxy_hdr.c - the PROXY protocol header parser
 * (src/reactor/proxy_hdr.c) on any bytes, as a connection feeds it: the
 * bytes so far, again and again as more arrive. Properties: every prefix
 * of an input that parses gives MORE (a header is never decided early nor
 * differently once more bytes are in); a header it takes lies inside the
 * input and within MX__PROXY_MAX; a carried address is IPv4 or IPv6. */
#include <stdint.h>
#include <stdlib.h>

#include "reactor/proxy_hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned versions = (data[0] & 3u) ? (data[0] & 3u) : 3u;
    data++;
    size--;
    struct mx__proxy_hdr h;
    enum mx__proxy_rc rc = mx__proxy_parse(data, size, versions, &h);
    if (rc == MX__PROXY_DONE) {
        if (h.len > size || h.len > MX__PROXY_MAX || (h.version != 1 && h.version != 2))
            abort();
        if (h.has_src && h.src.sa.sa_family != AF_INET && h.src.sa.sa_family != AF_INET6)
            abort();
        /* Every shorter read is a valid beginning, and the whole header
         * read alone says the same. */
        struct mx__proxy_hdr p;
        for (size_t n = 0; n < h.len; n++)
            if (mx__proxy_parse(data, n, versions, &p) != MX__PROXY_MORE)
                abort();
        if (mx__proxy_parse(data, h.len, versions, &p) != MX__PROXY_DONE || p.len != h.len)
            abort();
    }
    if (rc == MX__PROXY_ERROR && !h.why)
        abort();
    return 0;
}
