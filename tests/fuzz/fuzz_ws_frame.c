/* fuzz_ws_frame.c - the WebSocket frame header parser
 * (src/reactor/ws_frame.c) on any bytes, frame after frame as a
 * connection reads them. Properties: a header it takes is 2 to 14 bytes
 * and its payload within the limit; every shorter prefix of a header
 * asks for more (nothing is decided early); a refusal is 1002 or 1009;
 * unmasking twice gives the bytes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t max = (uint64_t)data[0] << 4;   /* 0 to 4080 */
    data++;
    size--;
    static char a[4096], b[4096];
    size_t at = 0;
    while (at < size) {
        struct mx__ws_frame f, g;
        int h = mx__ws_frame_parse(data + at, size - at, max, &f);
        if (h == 0)
            break;
        if (h < 0) {
            if (h != -MX_WS_PROTOCOL_ERROR && h != -MX_WS_TOO_BIG)
                abort();
            break;
        }
        if (h < 2 || h > 14 || f.len > max || (f.op >= MX_WS_CLOSE && f.len > 125))
            abort();
        for (int n = 0; n < h; n++)
            if (mx__ws_frame_parse(data + at, (size_t)n, max, &g) != 0)
                abort();
        if (size - at - (size_t)h < f.len)
            break;
        const char *p = (const char *)data + at + h;
        mx__ws_unmask(a, p, f.len, f.mask, 0);
        mx__ws_unmask(b, a, f.len, f.mask, 0);
        if (memcmp(b, p, f.len) != 0)
            abort();
        at += (size_t)h + f.len;
    }
    return 0;
}
