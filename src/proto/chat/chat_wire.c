/* chat_wire.c - what this node tells the others (docs/cluster.md): the
 * subjects it hears, the lines it publishes, and its clients' channel
 * memberships. Nothing here without a bus (chat->has_bus false).
 *
 * Payloads are text, newline-separated: NODE, NEED and AT (the capability
 * a member needs: TAGMSG's message-tags; a space; when it happened, as
 * SECONDS.NANOSECONDS, for @time), TAGS (client tags, maybe empty), for
 * the node and network subjects one more field (the target nick; the
 * channels a QUIT or NICK concerns, comma-separated), then the line as
 * this node formatted it, CRLF included, and for a JOIN its extended-join
 * form after it, CRLF too. chat_remote.c reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

/* A line, its tags and the rest: well under this. */
#define PAYLOAD_MAX 16384

void chan_subject(const struct mx_chat *chat, const char *name, char *buf, size_t len)
{
    char folded[CHAT_CHANLEN + 1];
    irc_casefold(folded, name, sizeof folded);
    snprintf(buf, len, "%s%s", chat->subj, folded);
}

void chan_subscribe(struct mx_chat *chat, const struct chat_channel *ch, bool on)
{
    if (!chat->has_bus)
        return;
    char subject[256];
    chan_subject(chat, ch->name, subject, sizeof subject);
    chat->bus.subscribe(chat->bus.arg, subject, on);
}

int wire_head(const struct mx_chat *chat, const struct chat_msg *m, char *buf, size_t cap)
{
    struct timespec now;
    if (!m)
        clock_gettime(CLOCK_REALTIME, &now);
    const struct timespec *at = m ? &m->at : &now;
    int n = snprintf(buf, cap, "%s\n%u %lld.%09ld\n%.*s\n", chat->node,
                     m ? (unsigned)m->need : 0, (long long)at->tv_sec, at->tv_nsec,
                     m ? (int)m->ntags : 0, m ? m->tags : "");
    return n > 0 && (size_t)n < cap ? n : -1;
}

/* head (the fields before the line), then line and alt (its
 * extended-join form, or NULL), published on subject. */
static void publish(struct mx_chat *chat, const char *subject, const char *head, size_t hlen,
                    const struct mx_chunk *line, const struct mx_chunk *alt)
{
    size_t alen = alt ? alt->len : 0;
    if (hlen + line->len + alen > PAYLOAD_MAX)
        return;
    char *p = malloc(hlen + line->len + alen);
    if (!p)
        return;
    memcpy(p, head, hlen);
    memcpy(p + hlen, line->data, line->len);
    if (alt)
        memcpy(p + hlen + line->len, alt->data, alen);
    chat->bus.publish(chat->bus.arg, subject, p, hlen + line->len + alen);
    free(p);
}

void wire_chan_msg(struct mx_chat *chat, const char *chan, struct chat_msg *m)
{
    if (!chat->has_bus || !m)
        return;
    char subject[256], head[PAYLOAD_MAX];
    chan_subject(chat, chan, subject, sizeof subject);
    int n = wire_head(chat, m, head, sizeof head);
    if (n > 0)
        publish(chat, subject, head, (size_t)n,
                atomic_load_explicit(&m->v[0], memory_order_relaxed), m->alt);
}

void wire_chan_line(struct mx_chat *chat, const char *chan, struct mx_chunk *line)
{
    if (!chat->has_bus || !line)
        return;
    struct chat_msg *m = chat_msg_new(mx_chunk_ref(line), NULL, NULL, 0);
    wire_chan_msg(chat, chan, m);
    chat_msg_unref(m);
}

void wire_user_line(struct mx_chat *chat, struct chat_channel *const *chans, unsigned n,
                    const struct mx_chunk *line)
{
    if (!chat->has_bus || !line || n == 0)
        return;
    char head[PAYLOAD_MAX];
    int len = wire_head(chat, NULL, head, sizeof head);
    for (unsigned i = 0; len > 0 && (size_t)len < sizeof head && i < n; i++)
        len += snprintf(head + len, sizeof head - (size_t)len, "%s%s", i ? "," : "",
                        chans[i]->name);
    if (len > 0 && (size_t)len + 1 < sizeof head) {
        head[len++] = '\n';
        publish(chat, chat->usubj, head, (size_t)len, line, NULL);
    }
}

/* A list's masks, space-separated, after p. */
static size_t put_list(char *p, size_t cap, const struct chat_masks *l)
{
    size_t n = 0;
    for (unsigned i = 0; i < l->n && n < cap; i++)
        n += (size_t)snprintf(p + n, cap - n, "%s%s", i ? " " : "", l->v[i]);
    return n < cap ? n : cap - 1;
}

/* ch's modes as the network keeps them:
 * "FLAGS\nKEY\nLIMIT\nCREATED\nBANS\nEXCEPTS\nINVEX" (chat_chan.c reads
 * them). A malloc'ed string, or NULL. */
static char *modes_text(const struct chat_channel *ch)
{
    size_t cap = 256 + CHAT_NLISTS * CHAT_MAX_LIST * (IRC_LINE_MAX / 4);
    char *v = malloc(cap);
    if (!v)
        return NULL;
    static const char letters[] = "ntsim";
    size_t n = 0;
    for (unsigned i = 0; letters[i]; i++)
        if (ch->modes & (1u << i))
            v[n++] = letters[i];
    n += (size_t)snprintf(v + n, cap - n, "\n%s\n%u\n%lld", ch->key, ch->limit,
                          (long long)ch->created);
    for (unsigned l = 0; l < CHAT_NLISTS; l++) {
        v[n++] = '\n';
        n += put_list(v + n, cap - n, &ch->lists[l]);
    }
    v[n] = '\0';
    return v;
}

void wire_member(struct mx_chat *chat, struct chat_channel *ch, const struct chat_client *cl,
                 bool on)
{
    if (!chat->has_bus || !cl->registered || !chat->bus.member)
        return;
    char folded[CHAT_CHANLEN + 1];
    char who[CHAT_NICKLEN + CHAT_USERLEN + 64 + CHAT_REALLEN + 8];
    irc_casefold(folded, ch->name, sizeof folded);
    /* "nick!user@host\nreal name\nSTATUS": NAMES takes the first and the
     * last, WHO all three. STATUS: o, v (its modes there), i (+i). */
    const struct chat_member *m = on ? chan_member(ch, cl) : NULL;
    unsigned st = m ? m->modes : 0;
    snprintf(who, sizeof who, "%s!%s@%s\n%s\n%s%s%s", cl->nick, cl->user, cl->vhost, cl->real,
             st & MEM_OP ? "o" : "", st & MEM_VOICE ? "v" : "",
             cl->umodes & UM_INVISIBLE ? "i" : "");
    /* Its creator on the network: the modes go in the same step. */
    char *modes = on && ch->net_new ? modes_text(ch) : NULL;
    ch->net_new = false;
    chat->bus.member(chat->bus.arg, folded, cl->uid, on ? who : NULL, modes);
    if (modes && chat->bus.state)  /* what LIST shows: the name as created */
        chat->bus.state(chat->bus.arg, folded, "#", ch->name);
    free(modes);
}

void wire_topic(struct mx_chat *chat, const struct chat_channel *ch)
{
    if (!chat->has_bus || !chat->bus.state)
        return;
    char folded[CHAT_CHANLEN + 1], v[sizeof ch->topic_by + 32 + CHAT_TOPICLEN + 1];
    irc_casefold(folded, ch->name, sizeof folded);
    if (ch->topic)
        snprintf(v, sizeof v, "%s\n%lld\n%s", ch->topic_by, (long long)ch->topic_at, ch->topic);
    chat->bus.state(chat->bus.arg, folded, "*", ch->topic ? v : NULL);
}

void wire_modes(struct mx_chat *chat, const struct chat_channel *ch)
{
    if (!chat->has_bus || !chat->bus.state)
        return;
    char *v = modes_text(ch), folded[CHAT_CHANLEN + 1];
    irc_casefold(folded, ch->name, sizeof folded);
    if (v)
        chat->bus.state(chat->bus.arg, folded, "+", v);
    free(v);
    chat->bus.state(chat->bus.arg, folded, "#", ch->name);  /* LIST's */
}

void wire_invite(struct mx_chat *chat, const char *chan, const char *nick, bool on)
{
    if (!chat->has_bus || !chat->bus.state)
        return;
    char folded[CHAT_CHANLEN + 1], field[CHAT_NICKLEN + 3];
    irc_casefold(folded, chan, sizeof folded);
    snprintf(field, sizeof field, "i:%s", nick);
    irc_casefold(field + 2, nick, sizeof field - 2);
    chat->bus.state(chat->bus.arg, folded, field, on ? "1" : NULL);
}
