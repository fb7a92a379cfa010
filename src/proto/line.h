/* line.h - finding complete lines (LF or CRLF terminated) under a cap. */
#ifndef MUXD_PROTO_LINE_H
#define MUXD_PROTO_LINE_H

#include <stddef.h>
#include <sys/types.h>

/* Looks at the start of p[0..n). Returns the first line's length including
 * its "\n"; 0 if no line is complete yet and what is there may still
 * become one of at most max bytes; -1 if the line, without its "\n" or
 * "\r\n", is (or will be) longer than max. */
ssize_t mx_line_next(const char *p, size_t n, size_t max);

#endif
