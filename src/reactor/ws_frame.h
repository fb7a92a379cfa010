/* ws_frame.h - WebSocket frames (RFC 6455 section 5): the parser of a
 * client's frame header and the encoder of a server's. Pure: no state,
 * no I/O, any thread. */
#ifndef MUXD_REACTOR_WS_FRAME_H
#define MUXD_REACTOR_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    MX_WS_CONT = 0x0,
    MX_WS_TEXT = 0x1,
    MX_WS_BINARY = 0x2,
    MX_WS_CLOSE = 0x8,
    MX_WS_PING = 0x9,
    MX_WS_PONG = 0xa,
};

/* Close codes muxd sends (section 7.4.1). */
enum {
    MX_WS_NORMAL = 1000,
    MX_WS_GOING_AWAY = 1001,
    MX_WS_PROTOCOL_ERROR = 1002,
    MX_WS_BAD_DATA = 1007,       /* a text message that is not UTF-8 */
    MX_WS_TOO_BIG = 1009,
};

struct mx__ws_frame {
    bool fin;
    uint8_t op;
    uint8_t mask[4];
    uint64_t len;                /* payload bytes */
};

/* The header of a client frame at p[0..n): 0 while it is incomplete, its
 * length (2 to 14) once whole (f filled in), or minus a close code:
 * -MX_WS_PROTOCOL_ERROR for reserved bits, an unknown opcode, a control
 * frame that is fragmented or over 125 bytes, an unmasked frame, or a
 * length not in its shortest form; -MX_WS_TOO_BIG for a payload over
 * max. */
int mx__ws_frame_parse(const unsigned char *p, size_t n, uint64_t max, struct mx__ws_frame *f);

/* Copies p[0..n) into out unmasked; at is the offset of p[0] in the
 * frame's payload (the mask repeats every 4 bytes). out may be p. */
void mx__ws_unmask(char *out, const char *p, size_t n, const uint8_t mask[4], uint64_t at);

/* A server frame's header (never masked, section 5.1) for a payload of
 * len bytes, into out (at least 10 bytes): its length. */
size_t mx__ws_frame_header(unsigned char *out, bool fin, uint8_t op, uint64_t len);

/* Whether a close frame's code is one a peer may send (section 7.4). */
bool mx__ws_close_code_ok(unsigned code);

#endif
