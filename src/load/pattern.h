/* pattern.h - the bytes muxd-load sends, and checks coming back.
 *
 * Stream byte o of a connection is ld_pat_at(base + o)[0], base being that
 * connection's ld_pat_base(). Any slice of up to ld_pat_len() bytes from
 * ld_pat_at() is contiguous, so sends go straight from the table and checks
 * are one memcmp per slice.
 *
 * Raw mode: a fixed pseudo-random table of LD_PAT_LEN bytes, a prime, so two
 * different messages of one stream never carry the same bytes (unless the
 * message size is a multiple of it), and a lost, repeated or reordered
 * message shows up as a mismatch, as do bytes from another connection
 * (each starts at its own base).
 *
 * Lines mode, for line protocols: every message of SIZE bytes is one line,
 * SIZE - 1 pseudo-random bytes that are never '\n' and then '\n'. A line
 * never starts with 'S', so a line-based service cannot take one for a
 * request word such as SPIN or SLEEP. The table holds a whole number of
 * lines (a prime number of them, at least LD_PAT_LEN bytes in all) and every
 * base is at a line start.
 */
#ifndef MUXD_LOAD_PATTERN_H
#define MUXD_LOAD_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LD_PAT_LEN 65521u

/* Builds the table; size is the message size (used in lines mode only).
 * 0, or -1 when out of memory. */
int ld_pat_init(bool lines, size_t size);
void ld_pat_free(void);
/* The bytes from stream offset off on. */
const unsigned char *ld_pat_at(uint64_t off);
/* The longest slice ld_pat_at() can give. */
size_t ld_pat_len(void);
/* Where connection id's stream starts in the table. */
uint64_t ld_pat_base(unsigned id);

#endif
