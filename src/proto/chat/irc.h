/* irc.h - the IRC building blocks of the chat service: the line parser,
 * rfc1459 casemapping, nick / channel / mask rules and the reply
 * formatter. Pure functions on caller buffers: no allocation, no state,
 * any thread. See docs/chat-protocol.md for the protocol subset.
 */
#ifndef MUXD_PROTO_CHAT_IRC_H
#define MUXD_PROTO_CHAT_IRC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A line is at most 512 bytes including its CRLF (RFC 2812 2.3). */
#define IRC_LINE_MAX 512
/* 14 middle parameters and one trailing at most (RFC 2812 2.3.1). */
#define IRC_MAX_PARAMS 15

/* Why a line was refused. */
enum irc_err {
    IRC_OK = 0,
    IRC_EEMPTY = -1,    /* nothing but spaces: ignore it silently */
    IRC_ENOCMD = -2,    /* a prefix and no command */
    IRC_EBADCMD = -3,   /* a command that is neither letters nor 3 digits */
    IRC_ENUL = -4,      /* a NUL byte in the line */
    IRC_EBARECR = -5,   /* a CR that does not end the line */
};

struct irc_msg {
    char *tags;                     /* IRCv3 tag data without the '@'; NULL when absent */
    char *prefix;                   /* without the ':'; NULL when absent */
    char *cmd;                      /* upper-cased in place */
    int nparams;
    char *params[IRC_MAX_PARAMS];   /* the last may hold spaces (trailing) */
    bool trailing;                  /* the last parameter came after " :" */
};

/* Checks the raw bytes of one line, p[0..n) without its LF: a CR is only
 * allowed as the last byte. IRC_OK, IRC_ENUL or IRC_EBARECR. */
int irc_line_check(const char *p, size_t n);

/* Parses a NUL-terminated line (no CR/LF) in place: splits it with NULs
 * and fills m, whose pointers point into line. A leading "@tags " is
 * taken whole into m->tags (irc_tag_get and irc_client_tags read it).
 * Spaces between parameters
 * may repeat. Past 14 middle parameters the rest of the line, spaces
 * and all (less one leading ':'), is the 15th, with trailing set.
 * IRC_OK, IRC_EEMPTY, IRC_ENOCMD or IRC_EBADCMD. */
int irc_parse(char *line, struct irc_msg *m);

/* rfc1459 casemapping: A-Z [ ] \ ^ are the upper case of a-z { } | ~.
 * RFC 2812 2.2 names ~ and ^ the other way round, but '~' + 32 leaves
 * ASCII; ISUPPORT's "rfc1459" folds '^' down to '~', as here. */
static inline char irc_tolower(char c)
{
    if ((c >= 'A' && c <= 'Z') || c == '[' || c == ']' || c == '\\' || c == '^')
        return (char)(c + 32);
    return c;
}
/* dst gets the folded src, truncated to cap - 1 bytes, NUL-terminated
 * (cap > 0). */
void irc_casefold(char *dst, const char *src, size_t cap);
/* Compares as irc_casefold would (<0, 0, >0). */
int irc_casecmp(const char *a, const char *b);
/* FNV-1a 64 over the folded bytes: equal for names equal under casemap. */
uint64_t irc_casehash(const char *s);

/* letter / special first, then letters, digits, specials or '-'; 1 to
 * nicklen bytes (RFC 2812 2.3.1). */
bool irc_nick_valid(const char *s, size_t nicklen);
/* '#' then 1 or more bytes, at most chanlen in all, none of NUL, BEL, CR,
 * LF, space, ',' or ':'. */
bool irc_channel_valid(const char *s, size_t chanlen);
/* Matches s against a mask with '*' (any run) and '?' (one byte),
 * case-insensitively under rfc1459. */
bool irc_mask_match(const char *mask, const char *s);
/* Does s match any mask of a comma-separated list (empty items skipped)? */
bool irc_mask_list_match(const char *list, const char *s);
/* The full nick!user@host form of a ban mask, as other servers store it:
 * "bob" is bob!*@*, "*@host" *!*@host, "host.name" (a '.' or ':' and no
 * '!' or '@') *!*@host.name, "nick!user" nick!user@*, an empty part '*'.
 * Case is kept. Refused (0): an empty mask, one starting with ':', one
 * holding a byte below 0x21 or DEL (a space would split it, a leading ':'
 * make it a trailing parameter, in every line that carries it), and one
 * whose full form needs cap bytes or more. Otherwise its length, with
 * out NUL-terminated. */
size_t irc_mask_normalise(const char *in, char *out, size_t cap);

/* Is s well-formed UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF)? */
bool irc_utf8_valid(const char *s);
/* Where to cut s (at least n + 1 bytes readable) to at most n bytes
 * without splitting a UTF-8 sequence: n, or the start of the sequence
 * s[n] continues (at most 3 bytes back). Bytes that are not UTF-8 are
 * cut at n. */
size_t irc_utf8_cut(const char *s, size_t n);

/* irc_cloak.c: the cloak of an address under secret, e.g.
 * "a1b2c3d4.e5f6a7b8.cloak": HMAC-SHA256(secret, addr), 64 bits of it in
 * hex. The same address and secret give the same cloak on every worker
 * and after a restart; without the secret it cannot be reversed by
 * trying addresses. cap >= IRC_CLOAK_LEN + 1. false if HMAC failed (out
 * is then "unknown.cloak"). */
#define IRC_CLOAK_LEN 23
bool irc_cloak(const char *secret, const char *addr, char *out, size_t cap);

/* Formats into buf (cap >= IRC_LINE_MAX + 1 is enough for any reply) a
 * line printf-style and ends it with CRLF; a line that would pass 512
 * bytes with its CRLF is cut to 510 bytes first (or a little less, so
 * as not to split a UTF-8 sequence: irc_utf8_cut). Returns the length
 * including CRLF (never more than cap - 1; buf is NUL-terminated). */
size_t irc_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ":server NNN target " followed by fmt, as irc_fmt. target is the
 * client's nick, or "*" before it has one. */
size_t irc_numeric(char *buf, size_t cap, const char *server, unsigned num,
                   const char *target, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The same with a va_list. */
size_t irc_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
size_t irc_vnumeric(char *buf, size_t cap, const char *server, unsigned num,
                    const char *target, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* irc_query.c: the pure parts of the queries.
 *
 * WHO's second parameter: flags, then optionally WHOX's "%fields[,token]"
 * (ircv3.net/specs/extensions/whox). The fields a reply carries, in the
 * order they go out (IRC_WHOX_ORDER); letters outside it are ignored, as
 * the spec asks. "d" (hop count) and "o" (op level) are not in the spec
 * but common (ircu order): clients that ask for them count on them. */
#define IRC_WHOX_ORDER "tcuihsnfdlaor"
struct irc_who_opts {
    bool opers;                 /* the 'o' flag: operators only */
    bool whox;                  /* a '%': 354 replies, not 352 */
    unsigned fields;            /* bit i: IRC_WHOX_ORDER[i] asked for */
    char token[4];              /* 1 to 3 digits; "0" when none or invalid */
};
/* Parses WHO's options (NULL: none) into o. */
void irc_who_opts_parse(const char *s, struct irc_who_opts *o);
static inline bool irc_whox_has(const struct irc_who_opts *o, char field)
{
    for (unsigned i = 0; IRC_WHOX_ORDER[i]; i++)
        if (IRC_WHOX_ORDER[i] == field)
            return o->fields >> i & 1;
    return false;
}

/* LIST's conditions, from its parameters (ELIST=MNU): "#name" or a mask
 * ("#a*") to list, "!mask" not to, ">n" more than n users, "<n" fewer
 * than n; several, comma-separated, in one parameter or two. Masks point
 * into the parsed text. At most IRC_LIST_MASKS of each kind; more, and
 * malformed counts, are dropped. */
#define IRC_LIST_MASKS 16
struct irc_list_query {
    const char *masks[IRC_LIST_MASKS], *nots[IRC_LIST_MASKS];
    unsigned nmasks, nnots;
    unsigned long more_than;    /* > this many users (0: any) */
    unsigned long less_than;    /* < this many (0: no bound) */
};
/* Adds the conditions of s (a comma list, split in place) to q, which
 * starts zeroed. */
void irc_list_parse(char *s, struct irc_list_query *q);
/* Does a channel called name with users members pass q? */
bool irc_list_match(const struct irc_list_query *q, const char *name, unsigned long users);
/* ---- IRCv3 message tags (irc_tags.c) ---------------------------------- */

/* What a client may send in tags, or a server add: tag data bytes (the
 * '@' and the space after it not counted). A line's tags are at most
 * IRC_TAGS_MAX bytes, '@' and space included. */
#define IRC_CLIENT_TAGS_MAX 4094
#define IRC_TAGS_MAX 8191
/* The longest line a client may send: its tags, then the 512 bytes. */
#define IRC_IN_MAX (IRC_CLIENT_TAGS_MAX + 2 + IRC_LINE_MAX)
/* "2026-12-03T12:34:56.789Z" */
#define IRC_TIME_LEN 24

/* v[0..n) escaped into out, NUL-terminated: ';' as \:, space as \s,
 * backslash as \\, CR as \r, LF as \n. Its length, or SIZE_MAX if it
 * does not fit in cap. */
size_t irc_tag_escape(const char *v, size_t n, char *out, size_t cap);
/* The reverse: an unknown "\x" is x, a lone trailing backslash dropped. */
size_t irc_tag_unescape(const char *v, size_t n, char *out, size_t cap);
/* ["+"] [vendor "/"] name: vendor of letters, digits, '-', '.'; name of
 * letters, digits, '-'; neither empty. */
bool irc_tag_key_valid(const char *k, size_t n);
/* The client-only ("+") tags of a tag list with a valid key, in the
 * canonical escaped form, ';'-separated, into out (NUL-terminated): its
 * length (0: none), or SIZE_MAX if they do not fit in cap. Other tags
 * are dropped. */
size_t irc_client_tags(const char *tags, char *out, size_t cap);
/* The unescaped value of the last tag named key ("" when it has none):
 * false if there is no such tag or its value does not fit in cap. */
bool irc_tag_get(const char *tags, const char *key, char *out, size_t cap);
/* server-time's UTC stamp with milliseconds (IRC_TIME_LEN bytes, cap >
 * that); 0 if ts cannot be shown. */
struct timespec;
size_t irc_time_fmt(const struct timespec *ts, char *out, size_t cap);
/* How many of the words w[0..n) fit on one line of width bytes, joined
 * by single spaces: at least one (a word longer than width goes alone). */
unsigned irc_words_fit(const char *const *w, unsigned n, size_t width);

#endif
