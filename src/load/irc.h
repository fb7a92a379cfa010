/* irc.h - what muxd-load's chat mode needs of IRC (RFC 1459): splitting a
 * received line into prefix, command and parameters, and the text of a
 * load message.
 *
 * A load message's text is "<sender> <seq> <ts> " and then padding up to
 * the message size: sender is the sending client's index, seq its
 * per-sender sequence number from 0, ts the intended send time in
 * CLOCK_MONOTONIC nanoseconds (receivers on the same host share that
 * clock). The padding is a function of sender and seq, so a receiver can
 * tell a corrupted text from a good one.
 */
#ifndef MUXD_LOAD_IRC_H
#define MUXD_LOAD_IRC_H

#include <stddef.h>
#include <stdint.h>

#define LD_IRC_MAX_PARAMS 15

struct ld_irc_line {
    const char *prefix;  /* without the ':'; "" when there was none */
    const char *cmd;     /* "PRIVMSG", "001", ... */
    unsigned nparams;
    const char *params[LD_IRC_MAX_PARAMS]; /* the trailing one without its ':' */
};

/* Splits line (NUL-terminated, without CR LF) in place. 0, or -1 when
 * there is no command. */
int ld_irc_parse(char *line, struct ld_irc_line *m);

struct ld_load_msg {
    unsigned sender;
    uint64_t seq;
    uint64_t ts_ns;
};

/* Writes the text of a load message of size bytes (more if the numbers do
 * not fit in size) into buf, NUL-terminated; returns its length, or 0 when
 * cap is too small. */
size_t ld_load_format(char *buf, size_t cap, const struct ld_load_msg *m, size_t size);
/* The length ld_load_format gives m at size bytes. */
size_t ld_load_len(const struct ld_load_msg *m, size_t size);
/* Parses a text written by ld_load_format: 0, -1 when it is not a load
 * message, -2 when the numbers parse but the padding is wrong (corrupt); the
 * caller checks the length with ld_load_len. */
int ld_load_parse(const char *text, struct ld_load_msg *m);

#endif
