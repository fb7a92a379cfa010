/* kline.h - K-lines: bans by user@host mask, and the file that keeps them
 * across restarts (docs/chat-protocol.md#k-lines).
 *
 * irc_kline.c is pure (masks, matching, the list, the file's text) and
 * kline_file.c reads and writes the file; neither knows of clients or
 * locks, so the daemon's config loader and the unit tests use them alone.
 */
#ifndef MUXD_PROTO_CHAT_KLINE_H
#define MUXD_PROTO_CHAT_KLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* user@host: a user name (10) and an address or host name (63) with room
 * for wildcards around them. */
#define KLINE_USER_MAX 16
#define KLINE_HOST_MAX 64
#define KLINE_MASK_MAX (KLINE_USER_MAX + 1 + KLINE_HOST_MAX)
#define KLINE_REASON_MAX 200
#define KLINE_BY_MAX 32
/* A line of the file, its LF included: longer ones are refused. */
#define KLINE_LINE_MAX 512

struct kline {
    char mask[KLINE_MASK_MAX + 1];  /* normalised: kline_mask_norm */
    int64_t expires;                /* Unix seconds; 0 = never */
    int64_t set_at;                 /* Unix seconds */
    char by[KLINE_BY_MAX + 1];      /* the operator's nick */
    char reason[KLINE_REASON_MAX + 1];
};

struct kline_list {
    struct kline *v;
    unsigned n, cap;
};

/* in as a K-line mask: "user@host", each side 1 or more of letters,
 * digits, wildcards ('*', '?') and, in the user, the bytes a USER name
 * keeps; in the host also '.', ':', '-', '_'. Folded to lower case with
 * runs of '*' made one, into out (cap > KLINE_MASK_MAX). The host must
 * name something: all wildcards ("*@*") would ban everyone. 0, or -1 with
 * *why saying what is wrong. */
int kline_mask_norm(const char *in, char *out, size_t cap, const char **why);

/* Is k in force at now and does user@host match it? */
bool kline_matches(const struct kline *k, const char *user, const char *host, int64_t now);
/* The first K-line of l that applies to user@host at now, or NULL. */
const struct kline *kline_find(const struct kline_list *l, const char *user,
                               const char *host, int64_t now);

/* Drops the K-lines whose time has come. */
void kline_expire(struct kline_list *l, int64_t now);
/* k (normalised) into l: it replaces a K-line of the same mask, else it
 * is added when l holds fewer than max once expired ones are dropped.
 * 0, -ENOSPC, -ENOMEM. */
int kline_put(struct kline_list *l, const struct kline *k, unsigned max, int64_t now);
/* Removes the K-line of mask (normalised); false when there is none. */
bool kline_remove(struct kline_list *l, const char *mask);
void kline_list_free(struct kline_list *l);
/* dst becomes a copy of src (dst freed first). 0 or -ENOMEM (dst empty). */
int kline_list_copy(struct kline_list *dst, const struct kline_list *src);

/* The file, one K-line a line:
 *   MASK EXPIRES SET_AT BY :REASON
 * EXPIRES and SET_AT in Unix seconds (EXPIRES 0: permanent); blank lines
 * and lines starting with '#' are skipped. */

/* One line (no LF) into k. 1 for a K-line, 0 for a blank or comment
 * line, -1 with *why. */
int kline_parse_line(const char *line, struct kline *k, const char **why);

/* A whole file's text into out (empty first; expired K-lines are left
 * out). 0, or -1 with *lineno (1-based; 0 when no line is to blame) and
 * why written: a bad line, a line longer than KLINE_LINE_MAX, more than
 * max K-lines, no memory. */
int kline_parse_text(const char *text, struct kline_list *out, unsigned max, int64_t now,
                     unsigned *lineno, char *why, size_t len);

/* l as the file's text, a header comment first, expired K-lines left out:
 * malloc'ed, NUL-terminated, its length in *len. NULL on ENOMEM. */
char *kline_format(const struct kline_list *l, int64_t now, size_t *len);

/* kline_file.c. What identifies one version of the file: a replaced file
 * (every write renames a new one into place) or an edited one differs. */
struct kline_stamp {
    bool exists;
    dev_t dev;
    ino_t ino;
    int64_t mtime_ns;
    off_t size;
};
void kline_file_stamp(const char *path, struct kline_stamp *st);
bool kline_stamp_same(const struct kline_stamp *a, const struct kline_stamp *b);

/* Reads path into out (a missing file is an empty list) and its stamp
 * into st. 0, or -1 with "PATH:LINE: what" (or "PATH: what") in err. */
int kline_file_load(const char *path, unsigned max, int64_t now, struct kline_list *out,
                    struct kline_stamp *st, char *err, size_t len);

/* Replaces path with text whole or not at all: a temporary file beside
 * it, written and fsync'ed, renamed over it, the directory fsync'ed. 0,
 * or -errno with what failed in err. */
int kline_file_write(const char *path, const char *text, size_t n, char *err, size_t len);

#endif
