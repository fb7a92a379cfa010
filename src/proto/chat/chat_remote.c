/* chat_remote.c - what other nodes publish, arriving on the bus's thread
 * (mx_chat_bus_message): lines of channels with members here, lines to a
 * nick of this node, QUIT and NICK lines of the network; each delivered to
 * the local members as a local line would be, and the state a line
 * changes (a topic, a channel's modes) changed here too. An entry point,
 * like chat.c's callbacks: it may call any file below.
 *
 * The payload: "NODE\nNEED AT\nTAGS\n[EXTRA\n]LINE[ALT]" (chat_wire.c
 * writes it): NODE the sender's node (a node skips its own channel
 * lines: it delivered them already), NEED the capability the line asks
 * of a member (TAGMSG: message-tags), AT when it happened there
 * (SECONDS.NANOSECONDS, for @time; optional), TAGS the client tags
 * (canonical, maybe empty), EXTRA the target nick (node subject) or the
 * channels (network subject), LINE the line as the sender's node
 * formatted it, CRLF included, and ALT a JOIN's extended-join form.
 *
 * Order: a sender's lines are published by its worker in order, go to
 * Redis on the bus's one publisher connection, come back on each node's
 * one subscriber connection in that order, and the bus thread posts them
 * to each worker in order (muxd/server.h: posts from one thread run in
 * order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

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

/* One IRC line, CRLF-terminated, nothing else: what goes to clients
 * as it is must not run into the next line or carry more lines. */
static bool line_ok(const char *p, size_t n)
{
    if (n < 3 || n > IRC_LINE_MAX || p[n - 2] != '\r' || p[n - 1] != '\n')
        return false;
    for (size_t i = 0; i < n - 2; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return false;
    return true;
}

/* Client tags go in front of a line as they are: no space (the tags would
 * end there and the rest pass for a source and command), CR, LF or NUL.
 * Found by fuzz_cluster_msg. */
static bool tags_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == ' ' || p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return false;
    return true;
}

/* A payload's head: NODE, NEED AT, TAGS (and for a nick, NICK), then the
 * line and, for a JOIN, its extended-join form. */
struct head {
    const char *node, *line, *alt;
    size_t nlen, llen, alen;
    uint32_t need;
    struct timespec at;             /* tv_sec 0: not given, now */
    char tags[4096];
    char nick[CHAT_NICKLEN + 1];
};

/* "NEED" or "NEED SECONDS.NANOSECONDS": the need, and the time into *at
 * (left 0 when absent or not a time). */
static uint32_t need_at(const char *s, size_t len, struct timespec *at)
{
    char buf[48], *p;
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), s);
    uint32_t need = (uint32_t)strtoul(buf, &p, 10);
    *at = (struct timespec){ 0 };
    if (*p != ' ')
        return need;
    char *q;
    long long sec = strtoll(p + 1, &q, 10);
    long nsec = *q == '.' ? strtol(q + 1, &q, 10) : -1;
    if (*q == '\0' && sec > 0 && sec < 100000000000LL && nsec >= 0 && nsec < 1000000000L)
        *at = (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
    return need;
}

/* The line in [p, end), and after it, for a JOIN only, its extended-join
 * form (the same source and JOIN, more parameters): each one whole line. */
static bool split_lines(const char *p, const char *end, struct head *h)
{
    const char *crlf = p + 1 < end ? memchr(p + 1, '\n', (size_t)(end - p - 1)) : NULL;
    h->line = p;
    h->llen = crlf ? (size_t)(crlf + 1 - p) : (size_t)(end - p);
    h->alt = h->line + h->llen;
    h->alen = (size_t)(end - h->alt);
    if (!line_ok(h->line, h->llen))
        return false;
    if (!h->alen) {
        h->alt = NULL;
        return true;
    }
    const char *join = memmem(h->line, h->llen, " JOIN ", 6);
    size_t same = join ? (size_t)(join - h->line) + 6 : 0;
    return join && memchr(h->line, ' ', h->llen) == join && h->alen > same &&
           memcmp(h->alt, h->line, same) == 0 && line_ok(h->alt, h->alen);
}

static bool parse_head(const char *payload, size_t len, bool with_nick, struct head *h)
{
    const char *p = payload, *end = payload + len, *need, *tags, *nick = NULL;
    size_t needlen, tlen, klen = 0;
    h->node = field(&p, end, &h->nlen);
    need = h->node ? field(&p, end, &needlen) : NULL;
    tags = need ? field(&p, end, &tlen) : NULL;
    if (tags && with_nick)
        nick = field(&p, end, &klen);
    if (!tags || (with_nick && (!nick || klen == 0 || klen >= sizeof h->nick)) || p == end ||
        tlen >= sizeof h->tags || !tags_ok(tags, tlen))
        return false;
    memcpy(h->tags, tags, tlen);
    h->tags[tlen] = '\0';
    if (nick)
        memcpy(h->nick, nick, klen);
    h->nick[klen] = '\0';
    h->need = need_at(need, needlen, &h->at) & CAP_MESSAGE_TAGS;
    return split_lines(p, end, h);
}

static bool from_self(const struct mx_chat *chat, const struct head *h)
{
    return h->nlen == strlen(chat->node) && memcmp(h->node, chat->node, h->nlen) == 0;
}

static struct chat_msg *head_msg(const struct head *h)
{
    struct chat_msg *m = chat_msg_new(mx_chunk_copy(h->line, h->llen),
                                      h->alt ? mx_chunk_copy(h->alt, h->alen) : NULL, h->tags,
                                      h->need);
    if (m && h->at.tv_sec)
        m->at = h->at;  /* @time: when it happened on its node */
    return m;
}

/* A line to a nick of this node: to its client, if still registered here. */
static void to_local_nick(struct mx_chat *chat, const struct head *h)
{
    chat_lock(chat);
    struct chat_client *cl = cl_by_nick(chat, h->nick);
    bool there = cl && cl->registered;
    uint64_t id = there ? cl->id : 0;
    chat_unlock(chat);
    if (!there)
        return;
    struct chat_msg *m = head_msg(h);
    chat_post_msg(chat, id, m);
    chat_msg_unref(m);
}


/* A TOPIC or MODE line from another node: this node's copy of the
 * channel follows, so TOPIC, MODE, a JOIN's checks and its 332 here
 * agree with the network. */
static void remote_state(struct mx_chat *chat, const char *name, const struct head *h)
{
    char line[IRC_LINE_MAX + 1];
    /* ":prefix CMD ...": most lines are messages, passed over at once. */
    const char *sp = memchr(h->line, ' ', h->llen);
    size_t rest = sp ? h->llen - (size_t)(sp + 1 - h->line) : 0;
    if (!sp || h->llen - 2 >= sizeof line ||
        ((rest < 5 || memcmp(sp + 1, "MODE ", 5) != 0) &&
         (rest < 6 || memcmp(sp + 1, "TOPIC ", 6) != 0)))
        return;
    memcpy(line, h->line, h->llen - 2);
    line[h->llen - 2] = '\0';
    if (memcmp(sp + 1, "MODE ", 5) == 0) {
        chat_mode_remote(chat, name, line);
        return;
    }
    struct irc_msg m;
    if (irc_parse(line, &m) != IRC_OK || !m.prefix || strcmp(m.cmd, "TOPIC") != 0 ||
        m.nparams < 2)
        return;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    if (ch)
        chan_set_topic(ch, m.params[1], m.prefix, time(NULL));
    chat_unlock(chat);
}

/* Another node's KICK of a member of this node: carried out on the
 * member's worker, which sends the line to this node's members (so it is
 * not fanned out here as well). false: not such a KICK. */
static bool remote_kick(struct mx_chat *chat, const char *name, const struct head *h)
{
    const char *sp = memchr(h->line, ' ', h->llen);
    char line[IRC_LINE_MAX + 1];
    if (!sp || h->llen - (size_t)(sp + 1 - h->line) < 5 || memcmp(sp + 1, "KICK ", 5) != 0 ||
        h->llen - 2 >= sizeof line)
        return false;
    memcpy(line, h->line, h->llen - 2);
    line[h->llen - 2] = '\0';
    struct irc_msg m;
    if (irc_parse(line, &m) != IRC_OK || m.nparams < 2)
        return false;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    struct chat_client *t = ch ? cl_by_nick(chat, m.params[1]) : NULL;
    bool here = t && t->registered && cl_on(t, ch);
    if (here)
        chat_kick_post(chat, t->id, ch, mx_chunk_copy(h->line, h->llen), false);
    chat_unlock(chat);
    return here;
}

/* A QUIT or NICK of another node's client: "NODE\n0\n\nCHANS\nLINE", to the
 * local members of any of CHANS (comma-separated), once each. */
static void user_line(struct mx_chat *chat, const char *payload, size_t len)
{
    const char *p = payload, *end = payload + len, *chans;
    size_t nlen, skip, clen;
    const char *node = field(&p, end, &nlen);
    if (!node || !field(&p, end, &skip) || !field(&p, end, &skip) ||
        !(chans = field(&p, end, &clen)) || !line_ok(p, (size_t)(end - p)))
        return;
    if (nlen == strlen(chat->node) && memcmp(node, chat->node, nlen) == 0)
        return;
    char list[CHAT_POSTED_MAX * (CHAT_CHANLEN + 1)];
    if (clen >= sizeof list)
        return;
    memcpy(list, chans, clen);
    list[clen] = '\0';
    const char *names[CHAT_POSTED_MAX];
    unsigned n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && n < CHAT_POSTED_MAX;
         t = strtok_r(NULL, ",", &save))
        if (strlen(t) <= CHAT_CHANLEN)
            names[n++] = t;
    chan_fanout_posted(chat, names, n,
                       chat_msg_new(mx_chunk_copy(p, (size_t)(end - p)), NULL, NULL, 0));
}

void mx_chat_bus_message(struct mx_chat *chat, const char *subject, size_t slen,
                         const char *payload, size_t len)
{
    if (!chat->has_bus)
        return;
    size_t plen = strlen(chat->subj);
    struct head h;
    if (slen == strlen(chat->usubj) && memcmp(subject, chat->usubj, slen) == 0) {
        user_line(chat, payload, len);
        return;
    }
    if (slen == strlen(chat->nsubj) && memcmp(subject, chat->nsubj, slen) == 0) {
        if (parse_head(payload, len, true, &h))
            to_local_nick(chat, &h);
        return;
    }
    if (slen <= plen || slen - plen > CHAT_CHANLEN || memcmp(subject, chat->subj, plen) != 0 ||
        !parse_head(payload, len, false, &h) || from_self(chat, &h))
        return;  /* not ours, garbage, or delivered here already */
    char name[CHAT_CHANLEN + 1];
    memcpy(name, subject + plen, slen - plen);
    name[slen - plen] = '\0';
    if (remote_kick(chat, name, &h))
        return;
    remote_state(chat, name, &h);
    const char *names[1] = { name };
    chan_fanout_posted(chat, names, 1, head_msg(&h));
}

