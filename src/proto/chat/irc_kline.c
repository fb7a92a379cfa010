/* irc_kline.c - K-lines without state: mask rules, matching, the list and
 * the text of the file that keeps it. Pure: no locks, no files, no
 * clients; chat_kline.c and kline_file.c build on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/irc.h"
#include "proto/chat/kline.h"

/* ---- masks --------------------------------------------------------------- */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A user name keeps any printable byte but these (chat_reg.c's USER);
 * ',' would read as a list and '#' as a comment in the file. */
static bool user_byte(char c)
{
    return c > ' ' && c < 0x7f && !strchr("@!:,#", c);
}

/* Addresses and host names: IPv4, IPv6 (':'), names. */
static bool host_byte(char c)
{
    return is_alnum(c) || strchr(".:-_*?", c);
}

/* Copies one side folded, runs of '*' made one; -1 on a byte it refuses
 * or when it does not fit in max. */
static int side_norm(const char *p, size_t n, bool host, char *out, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!(host ? host_byte(c) : user_byte(c)))
            return -1;
        if (c == '*' && o && out[o - 1] == '*')
            continue;
        if (o == max)
            return -1;
        out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    out[o] = '\0';
    return 0;
}

static bool all_wild(const char *s)
{
    return strspn(s, "*?.:") == strlen(s);
}

int kline_mask_norm(const char *in, char *out, size_t cap, const char **why)
{
    const char *at = strchr(in, '@');
    char user[KLINE_USER_MAX + 1], host[KLINE_HOST_MAX + 1];
    if (!at || at == in || !at[1] || strchr(at + 1, '@')) {
        *why = "a K-line mask is user@host, each side given";
        return -1;
    }
    if (side_norm(in, (size_t)(at - in), false, user, KLINE_USER_MAX) < 0) {
        *why = "the user part has a character a user name cannot have, or is too long";
        return -1;
    }
    if (side_norm(at + 1, strlen(at + 1), true, host, KLINE_HOST_MAX) < 0) {
        *why = "the host part may only have letters, digits, '.', ':', '-', '_', '*' and "
               "'?', and is at most 64 characters";
        return -1;
    }
    if (all_wild(host)) {
        *why = "the host part must name something: it would ban everyone";
        return -1;
    }
    snprintf(out, cap, "%s@%s", user, host);
    return 0;
}

/* ---- matching ------------------------------------------------------------ */

bool kline_matches(const struct kline *k, const char *user, const char *host, int64_t now)
{
    if (k->expires && k->expires <= now)
        return false;
    char who[KLINE_USER_MAX + KLINE_HOST_MAX + 2];
    snprintf(who, sizeof who, "%s@%s", user, host);
    return irc_mask_match(k->mask, who);
}

const struct kline *kline_find(const struct kline_list *l, const char *user, const char *host,
                               int64_t now)
{
    for (unsigned i = 0; i < l->n; i++)
        if (kline_matches(&l->v[i], user, host, now))
            return &l->v[i];
    return NULL;
}

/* ---- the list ------------------------------------------------------------ */

void kline_expire(struct kline_list *l, int64_t now)
{
    unsigned o = 0;
    for (unsigned i = 0; i < l->n; i++)
        if (!l->v[i].expires || l->v[i].expires > now)
            l->v[o++] = l->v[i];
    l->n = o;
}

static struct kline *find_mask(const struct kline_list *l, const char *mask)
{
    for (unsigned i = 0; i < l->n; i++)
        if (strcmp(l->v[i].mask, mask) == 0)
            return &l->v[i];
    return NULL;
}

static int grow(struct kline_list *l)
{
    if (l->n < l->cap)
        return 0;
    unsigned cap = l->cap ? 2 * l->cap : 16;
    struct kline *v = realloc(l->v, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    l->v = v;
    l->cap = cap;
    return 0;
}

int kline_put(struct kline_list *l, const struct kline *k, unsigned max, int64_t now)
{
    kline_expire(l, now);
    struct kline *same = find_mask(l, k->mask);
    if (same) {
        *same = *k;
        return 0;
    }
    if (l->n >= max)
        return -ENOSPC;
    if (grow(l) < 0)
        return -ENOMEM;
    l->v[l->n++] = *k;
    return 0;
}

bool kline_remove(struct kline_list *l, const char *mask)
{
    struct kline *k = find_mask(l, mask);
    if (!k)
        return false;
    *k = l->v[--l->n];
    return true;
}

void kline_list_free(struct kline_list *l)
{
    free(l->v);
    *l = (struct kline_list){ 0 };
}

int kline_list_copy(struct kline_list *dst, const struct kline_list *src)
{
    kline_list_free(dst);
    if (!src->n)
        return 0;
    dst->v = malloc(src->n * sizeof *dst->v);
    if (!dst->v)
        return -ENOMEM;
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    dst->n = dst->cap = src->n;
    return 0;
}

/* ---- the file's text ----------------------------------------------------- */

/* A number of Unix seconds: digits only, no sign, no overflow. */
static bool parse_time(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 15)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The next space-separated word of *p: its start, its length in *n. */
static const char *word(const char **p, size_t *n)
{
    const char *s = *p + strspn(*p, " ");
    *n = strcspn(s, " ");
    *p = s + *n;
    return s;
}

static int parse_fields(const char *line, struct kline *k, const char **why)
{
    size_t n;
    const char *p = line, *w = word(&p, &n);
    char mask[KLINE_MASK_MAX + 1];
    if (n >= sizeof mask) {
        *why = "the mask is too long";
        return -1;
    }
    memcpy(mask, w, n);
    mask[n] = '\0';
    if (kline_mask_norm(mask, k->mask, sizeof k->mask, why) < 0)
        return -1;
    w = word(&p, &n);
    if (!parse_time(w, n, &k->expires)) {
        *why = "the expiry is not a number of seconds (0 = never)";
        return -1;
    }
    w = word(&p, &n);
    if (!parse_time(w, n, &k->set_at)) {
        *why = "the time it was set is not a number of seconds";
        return -1;
    }
    w = word(&p, &n);
    if (n == 0 || n > KLINE_BY_MAX || *w == ':' || memchr(w, '\t', n)) {
        *why = "who set it is missing or longer than 32 characters";
        return -1;
    }
    snprintf(k->by, sizeof k->by, "%.*s", (int)n, w);
    p += strspn(p, " ");
    if (*p != ':' || strlen(p + 1) > KLINE_REASON_MAX) {
        *why = "the reason must follow a ':' and be at most 200 characters";
        return -1;
    }
    snprintf(k->reason, sizeof k->reason, "%s", p + 1);
    return 0;
}

int kline_parse_line(const char *line, struct kline *k, const char **why)
{
    const char *s = line + strspn(line, " \t");
    if (!*s || *s == '#')
        return 0;
    if (strchr(line, '\r')) {
        *why = "a CR in the line";
        return -1;
    }
    memset(k, 0, sizeof *k);
    return parse_fields(s, k, why) < 0 ? -1 : 1;
}

/* One line of text at p (n bytes, no LF) into out. */
static int take_line(const char *p, size_t n, struct kline_list *out, unsigned max,
                     int64_t now, const char **why)
{
    char buf[KLINE_LINE_MAX];
    struct kline k;
    if (n >= KLINE_LINE_MAX) {
        *why = "the line is longer than 511 characters";
        return -1;
    }
    /* A file edited on another system may end its lines with CR LF. */
    if (n && p[n - 1] == '\r')
        n--;
    memcpy(buf, p, n);
    buf[n] = '\0';
    int rc = kline_parse_line(buf, &k, why);
    if (rc <= 0 || (k.expires && k.expires <= now))
        return rc;
    if (find_mask(out, k.mask)) {
        *why = "a second K-line for the same mask";
        return -1;
    }
    if (out->n >= max) {
        *why = "more K-lines than max_klines allows";
        return -1;
    }
    if (grow(out) < 0) {
        *why = "out of memory";
        return -1;
    }
    out->v[out->n++] = k;
    return 0;
}

int kline_parse_text(const char *text, struct kline_list *out, unsigned max, int64_t now,
                     unsigned *lineno, char *why, size_t len)
{
    kline_list_free(out);
    *lineno = 0;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        const char *what = NULL;
        ++*lineno;
        if (take_line(p, n, out, max, now, &what) < 0) {
            snprintf(why, len, "%s", what);
            kline_list_free(out);
            return -1;
        }
        p += n + (p[n] == '\n');
    }
    *lineno = 0;
    return 0;
}

#define KLINE_HEADER \
    "# muxd K-lines, rewritten by KLINE and UNKLINE (docs/chat-protocol.md).\n" \
    "# MASK EXPIRES SET_AT BY :REASON  (Unix seconds; EXPIRES 0 = permanent)\n"

char *kline_format(const struct kline_list *l, int64_t now, size_t *len)
{
    size_t cap = sizeof KLINE_HEADER + (size_t)l->n * KLINE_LINE_MAX, n;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    n = (size_t)snprintf(buf, cap, "%s", KLINE_HEADER);
    for (unsigned i = 0; i < l->n; i++) {
        const struct kline *k = &l->v[i];
        if (k->expires && k->expires <= now)
            continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s %" PRId64 " %" PRId64 " %s :%s\n", k->mask,
                              k->expires, k->set_at, k->by, k->reason);
    }
    *len = n;
    return buf;
}
