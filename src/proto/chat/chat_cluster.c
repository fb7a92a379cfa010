/* chat_cluster.c - the chat network across nodes (docs/cluster.md): a
 * channel message is published once on its channel's subject; what other
 * nodes publish on the subjects of channels with members here is fanned
 * out to those members as a local line would be.
 *
 * The payload: "NODE\nNEED\nTAGS\nLINE", where NODE is the sender's node
 * (a node skips its own: it delivered them already), NEED the
 * capability the line asks of a member (TAGMSG: message-tags), TAGS the
 * client tags (canonical, maybe empty) and LINE the line as the sender's
 * node formatted it, CRLF included. Names and tags hold no newline.
 *
 * Order: a sender's lines are published by its worker in order, go to
 * Redis on the bus's one publisher connection, come back on each node's
 * one subscriber connection in that order, and the bus thread posts them
 * to each worker in order (muxd/server.h: posts from one thread run in
 * order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

/* A line, its tags and the rest: well under this. */
#define PAYLOAD_MAX 16384

void chat_cluster_publish(struct mx_chat *chat, const char *chan, struct chat_msg *m)
{
    if (!chat->has_bus || !m)
        return;
    const struct mx_chunk *line = atomic_load_explicit(&m->v[0], memory_order_relaxed);
    char subject[256];
    chan_subject(chat, chan, subject, sizeof subject);
    char *p = malloc(PAYLOAD_MAX);
    if (!p)
        return;
    int head = snprintf(p, PAYLOAD_MAX, "%s\n%u\n%.*s\n", chat->node, (unsigned)m->need,
                        (int)m->ntags, m->tags);
    if (head > 0 && (size_t)head + line->len <= PAYLOAD_MAX) {
        memcpy(p + head, line->data, line->len);
        chat->bus.publish(chat->bus.arg, subject, p, (size_t)head + line->len);
    }
    free(p);
}

/* Splits off the text up to the next newline of [*p, end): NULL if none. */
static const char *field(const char **p, const char *end, size_t *len)
{
    const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        return NULL;
    *len = (size_t)(nl - s);
    *p = nl + 1;
    return s;
}

void mx_chat_bus_message(struct mx_chat *chat, const char *subject, size_t slen,
                         const char *payload, size_t len)
{
    size_t plen = strlen(chat->subj), nlen, needlen, tlen;
    const char *p = payload, *end = payload + len;
    const char *node = field(&p, end, &nlen), *need = field(&p, end, &needlen);
    const char *tags = field(&p, end, &tlen);
    if (!tags || slen <= plen || slen - plen > CHAT_CHANLEN || p == end)
        return;  /* not ours: another version, or garbage */
    if (nlen == strlen(chat->node) && memcmp(node, chat->node, nlen) == 0)
        return;
    char name[CHAT_CHANLEN + 1], tagz[4096];
    if (tlen >= sizeof tagz)
        return;
    memcpy(name, subject + plen, slen - plen);
    name[slen - plen] = '\0';
    memcpy(tagz, tags, tlen);
    tagz[tlen] = '\0';
    uint32_t want = (uint32_t)strtoul(need, NULL, 10) & CAP_MESSAGE_TAGS;
    (void)needlen;
    chan_fanout_posted(chat, name, chat_msg_new(mx_chunk_copy(p, (size_t)(end - p)), NULL,
                                                tagz, want));
}

static void resubscribe(struct nt_node *n, void *arg)
{
    chan_subscribe(arg, chan_of(n), true);
}

void mx_chat_bus_up(struct mx_chat *chat)
{
    chat_lock(chat);
    nt_each(&chat->chans, resubscribe, chat);
    chat_unlock(chat);
}

int mx_chat_set_bus(struct mx_chat *chat, const struct mx_chat_bus *bus, const char *node,
                    const char *prefix)
{
    free(chat->node);
    free(chat->subj);
    chat->node = chat->subj = NULL;
    chat->has_bus = false;
    if (!bus)
        return 0;
    size_t n = strlen(prefix) + 3;
    chat->node = strdup(node);
    chat->subj = malloc(n);
    if (!chat->node || !chat->subj) {
        free(chat->node);
        free(chat->subj);
        chat->node = chat->subj = NULL;
        return -ENOMEM;
    }
    snprintf(chat->subj, n, "%sc:", prefix);
    chat->bus = *bus;
    chat->has_bus = true;
    return 0;
}

const struct mx_chat_bus *mx_chat_get_bus(const struct mx_chat *chat)
{
    return chat->has_bus ? &chat->bus : NULL;
}
