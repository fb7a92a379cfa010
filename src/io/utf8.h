/* utf8.h - UTF-8 checks for transports that must carry text (WebSocket
 * text messages, RFC 6455 section 8.1): strict RFC 3629, so no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
#ifndef MUXD_IO_UTF8_H
#define MUXD_IO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool mx__utf8_valid(const char *p, size_t n);

/* p[0..n) into out with each invalid sequence replaced by U+FFFD (the
 * Unicode "maximal subpart" practice: one replacement per bad prefix).
 * out has room for 3 * n bytes. Returns the bytes written. */
size_t mx__utf8_scrub(const char *p, size_t n, char *out);

#endif
