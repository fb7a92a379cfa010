/* ws_frame.c - WebSocket frame headers (ws_frame.h).
 *
 * Strict in what a client sends: muxd serves browsers and IRC web
 * clients, which all mask and use shortest lengths, so anything else is
 * a broken or hostile peer and is refused rather than guessed at. */
#include "reactor/ws_frame.h"

static bool known_op(uint8_t op)
{
    return op <= MX_WS_BINARY || (op >= MX_WS_CLOSE && op <= MX_WS_PONG);
}

int mx__ws_frame_parse(const unsigned char *p, size_t n, uint64_t max, struct mx__ws_frame *f)
{
    if (n < 2)
        return 0;
    f->fin = p[0] & 0x80;
    f->op = p[0] & 0x0f;
    if ((p[0] & 0x70) || !known_op(f->op) || !(p[1] & 0x80))
        return -MX_WS_PROTOCOL_ERROR;   /* reserved bits, opcode, unmasked */
    uint64_t len = p[1] & 0x7f;
    size_t at = 2;
    if (len >= 126) {
        size_t k = len == 126 ? 2 : 8;
        if (n < at + k)
            return 0;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | p[at + i];
        at += k;
        if ((k == 2 && len < 126) || (k == 8 && len <= 0xffff) || len >> 63)
            return -MX_WS_PROTOCOL_ERROR;
    }
    if (f->op >= MX_WS_CLOSE && (!f->fin || len > 125))
        return -MX_WS_PROTOCOL_ERROR;
    if (len > max)
        return -MX_WS_TOO_BIG;
    if (n < at + 4)
        return 0;
    for (int i = 0; i < 4; i++)
        f->mask[i] = p[at + i];
    f->len = len;
    return (int)(at + 4);
}

void mx__ws_unmask(char *out, const char *p, size_t n, const uint8_t mask[4], uint64_t at)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(p[i] ^ mask[(at + i) & 3]);
}

size_t mx__ws_frame_header(unsigned char *out, bool fin, uint8_t op, uint64_t len)
{
    out[0] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    size_t k = len <= 0xffff ? 2 : 8;
    out[1] = k == 2 ? 126 : 127;
    for (size_t i = 0; i < k; i++)
        out[2 + i] = (unsigned char)(len >> (8 * (k - 1 - i)));
    return 2 + k;
}

bool mx__ws_close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}
