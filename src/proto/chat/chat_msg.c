/* chat_msg.c - a fan-out line and its variants by capability.
 *
 * "Tags are formatted once per message like the rest of fan-out; a
 * capability a member did not request never reaches it." A line to fan
 * out is one struct chat_msg: the plain line (what a client without
 * capabilities gets, shared by all of them as today) and up to seven
 * variants, one per mix of server-time, client tags (message-tags) and
 * the extended-join form, each built the first time a member needs it
 * and then shared by every member, on every worker, that needs the same.
 * A worker builds a variant without a lock and publishes it with one
 * compare-and-swap; the rare loser of a race drops its copy.
 *
 * The time is taken when the message is made, so every member sees the
 * same stamp whenever its variant is built.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

struct chat_msg *chat_msg_new(struct mx_chunk *line, struct mx_chunk *alt, const char *tags,
                              uint32_t need)
{
    size_t nt = tags ? strlen(tags) : 0;
    struct chat_msg *m = line ? malloc(sizeof *m + nt + 1) : NULL;
    if (!m) {
        mx_chunk_unref(line);
        mx_chunk_unref(alt);
        return NULL;
    }
    atomic_init(&m->refs, 1);
    m->need = need;
    m->vmask = CAP_SERVER_TIME | (nt ? CAP_MESSAGE_TAGS : 0) | (alt ? CAP_EXTENDED_JOIN : 0);
    clock_gettime(CLOCK_REALTIME, &m->at);
    m->alt = alt;
    atomic_init(&m->v[0], line);
    for (unsigned i = 1; i < CHAT_VARIANTS; i++)
        atomic_init(&m->v[i], NULL);
    m->ntags = nt;
    memcpy(m->tags, tags ? tags : "", nt + 1);
    return m;
}

struct chat_msg *chat_msg_ref(struct chat_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void chat_msg_unref(struct chat_msg *m)
{
    if (!m || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < CHAT_VARIANTS; i++)
        mx_chunk_unref(atomic_load_explicit(&m->v[i], memory_order_relaxed));
    mx_chunk_unref(m->alt);
    free(m);
}

/* "@time=...;tags " for the variant key (tag bits only), into buf. */
static size_t tag_prefix(const struct chat_msg *m, unsigned key, char *buf, size_t cap)
{
    size_t n = 0;
    buf[n++] = '@';
    if (key & CAP_SERVER_TIME) {
        memcpy(buf + n, "time=", 5);
        n += 5;
        n += irc_time_fmt(&m->at, buf + n, cap - n);
    }
    if (key & CAP_MESSAGE_TAGS) {
        if (n > 1)
            buf[n++] = ';';
        memcpy(buf + n, m->tags, m->ntags);
        n += m->ntags;
    }
    buf[n++] = ' ';
    return n;
}

static struct mx_chunk *build(const struct chat_msg *m, unsigned key)
{
    struct mx_chunk *body = (key & CAP_EXTENDED_JOIN)
        ? m->alt : atomic_load_explicit(&m->v[0], memory_order_relaxed);
    if (!(key & (CAP_SERVER_TIME | CAP_MESSAGE_TAGS)))
        return mx_chunk_ref(body);
    char pre[IRC_TIME_LEN + IRC_CLIENT_TAGS_MAX + 16];
    size_t np = tag_prefix(m, key, pre, sizeof pre);
    struct mx_chunk *ch = mx_chunk_new(np + body->len);
    if (ch) {
        memcpy(ch->data, pre, np);
        memcpy(ch->data + np, body->data, body->len);
        ch->len = (uint32_t)(np + body->len);
    }
    return ch;
}

struct mx_chunk *chat_msg_for(struct chat_msg *m, uint32_t caps)
{
    if (m->need && !(caps & m->need))
        return NULL;
    unsigned key = caps & m->vmask;
    struct mx_chunk *ch = atomic_load_explicit(&m->v[key], memory_order_acquire);
    if (ch)
        return ch;
    struct mx_chunk *mine = build(m, key);
    if (!mine)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(&m->v[key], &ch, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
    mx_chunk_unref(mine); /* another worker built it first: ch is theirs */
    return ch;
}

struct mx_chunk *chat_time_tagged(const struct mx_chunk *line)
{
    char t[IRC_TIME_LEN + 1];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t nt = irc_time_fmt(&now, t, sizeof t);
    bool tagged = line->len && line->data[0] == '@';
    /* "@time=T " before the line, or "@time=T;" in place of its '@'. */
    size_t pre = 1 + 5 + nt + (tagged ? 0 : 1);
    struct mx_chunk *ch = mx_chunk_new(pre + line->len);
    if (!ch)
        return NULL;
    memcpy(ch->data, "@time=", 6);
    memcpy(ch->data + 6, t, nt);
    size_t n = 6 + nt;
    if (tagged) {
        ch->data[n++] = ';';
        memcpy(ch->data + n, line->data + 1, line->len - 1);
        n += line->len - 1;
    } else {
        ch->data[n++] = ' ';
        memcpy(ch->data + n, line->data, line->len);
        n += line->len;
    }
    ch->len = (uint32_t)n;
    return ch;
}
