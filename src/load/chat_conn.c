/* chat_conn.c - the IRC side of chat mode (see chat.h): output queue,
 * registration, joins, PING, and checking every PRIVMSG that arrives. */
#include "chat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "clock.h"
#include "irc.h"

unsigned ld_chat_members(const struct ld_opts *o, unsigned ch)
{
    return o->conns / o->channels + (ch < o->conns % o->channels);
}

unsigned ld_chat_senders_in(const struct ld_opts *o, unsigned ch)
{
    return o->senders / o->channels + (ch < o->senders % o->channels);
}

void ld_chat_nick(const struct ld_opts *o, unsigned id, char *buf, size_t len)
{
    snprintf(buf, len, "%s%u", o->nick_prefix, id);
}

void ld_chat_channel(const struct ld_opts *o, unsigned id, char *buf, size_t len)
{
    snprintf(buf, len, "#%s%u", o->chan_prefix, id % o->channels);
}

int ld_chat_queue(struct ld_thread *th, struct ld_conn *c, const char *text, size_t len)
{
    struct ld_chat_conn *cc = c->chat;
    if (cc->out_off > 0 && cc->out_off == cc->out_len)
        cc->out_off = cc->out_len = 0;
    if (cc->out_len + len > cc->out_cap) {
        size_t cap = (cc->out_len + len) * 2;
        char *p = realloc(cc->out, cap);
        if (!p)
            return ld_fail(th, LD_ERROR, "out of memory for client %u's output", c->id);
        cc->out = p;
        cc->out_cap = cap;
    }
    memcpy(cc->out + cc->out_len, text, len);
    cc->out_len += len;
    return 0;
}

int ld_chat_flush(struct ld_thread *th, struct ld_conn *c)
{
    struct ld_chat_conn *cc = c->chat;
    while (cc->out_off < cc->out_len) {
        ssize_t r = send(c->fd, cc->out + cc->out_off, cc->out_len - cc->out_off, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r < 0)
            return ld_fail(th, LD_ERROR, "client %u: send: %s", c->id, strerror(errno));
        cc->out_off += (size_t)r;
    }
    return 0;
}

/* Queues one line (printf-style, CR LF included in fmt) and sends it. */
__attribute__((format(printf, 3, 4)))
static int say(struct ld_thread *th, struct ld_conn *c, const char *fmt, ...)
{
    char line[LD_CHAT_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return ld_fail(th, LD_ERROR, "client %u: line too long", c->id);
    return ld_chat_queue(th, c, line, (size_t)n) < 0 ? -1 : ld_chat_flush(th, c);
}

int ld_chat_on_up(struct ld_thread *th, struct ld_conn *c)
{
    char nick[64];
    ld_chat_nick(th->o, c->id, nick, sizeof nick);
    if (th->o->caps[0])
        return say(th, c, "CAP REQ :%s\r\nNICK %s\r\nUSER %s 0 * :muxd-load\r\nCAP END\r\n",
                   th->o->caps, nick, nick);
    return say(th, c, "NICK %s\r\nUSER %s 0 * :muxd-load\r\n", nick, nick);
}

/* A sequence number from sender slot q: counts it, and says whether it is
 * new (1) or a duplicate (0). */
static int track(struct ld_thread *th, struct ld_seq *q, uint64_t seq)
{
    if (seq >= q->next) {
        uint64_t shift = seq - q->next + 1;
        q->seen = shift >= 64 ? 0 : q->seen << shift;
        q->seen |= 1;
        q->next = seq + 1;
        return 1;
    }
    uint64_t d = q->next - 1 - seq;
    if (d < 64 && (q->seen >> d) & 1) {
        th->res->duplicated++;
        return 0;
    }
    if (d < 64)
        q->seen |= 1ull << d;
    th->res->reordered++;
    return 1;
}

/* Whether s[0..n) is prefix followed by the decimal id, as
 * ld_chat_nick and ld_chat_channel write it (case aside, as IRC
 * compares): the check of every delivery, so it formats nothing. */
static bool names(const char *s, size_t n, const char *prefix, unsigned id)
{
    size_t pl = strlen(prefix);
    if (n <= pl || n - pl > 10 || strncasecmp(s, prefix, pl) != 0)
        return false;
    const char *d = s + pl;
    size_t dl = n - pl;
    if (d[0] == '0' && dl > 1)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < dl; i++) {
        if (d[i] < '0' || d[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(d[i] - '0');
    }
    return v == id;
}

static bool is_channel(const struct ld_opts *o, const char *s, unsigned id)
{
    return s[0] == '#' && names(s + 1, strlen(s + 1), o->chan_prefix, id % o->channels);
}

/* A load message from sender s must come from that nick, in this
 * client's channel, in the length its size gives. */
static bool well_formed(const struct ld_thread *th, const struct ld_conn *c,
                        const struct ld_irc_line *m, const struct ld_load_msg *msg)
{
    const struct ld_opts *o = th->o;
    return msg->sender < o->senders && msg->sender != c->id &&
           msg->sender % o->channels == c->id % o->channels &&
           names(m->prefix, strcspn(m->prefix, "!@"), o->nick_prefix, msg->sender) &&
           strlen(m->params[1]) == ld_load_len(msg, o->size);
}

static int on_privmsg(struct ld_thread *th, struct ld_conn *c, const struct ld_irc_line *m)
{
    if (m->nparams < 2 || !is_channel(th->o, m->params[0], c->id))
        return 0; /* not for the channel: someone else's business */
    struct ld_load_msg msg;
    int rc = ld_load_parse(m->params[1], &msg);
    if (rc == -1)
        return 0; /* not a load message: another user of the server */
    if (rc < 0 || !well_formed(th, c, m, &msg)) {
        th->res->corrupt++;
        ld_result_why(th->res, "client %u got a corrupt load message from %s: '%.60s'", c->id,
                      m->prefix, m->params[1]);
        return 0;
    }
    if (!track(th, &c->chat->seqs[msg.sender / th->o->channels], msg.seq))
        return 0;
    atomic_fetch_add_explicit(&th->live->got, 1, memory_order_relaxed);
    th->progress++;
    uint64_t now = ld_now_ns();
    ld_chat_of(th)->last_arrival = now;
    if (msg.ts_ns >= th->tm.start && msg.ts_ns < th->tm.end) {
        th->res->deliveries++;
        th->res->late += now >= th->tm.drain_end;
        ld_hist_record(&th->res->lat, now > msg.ts_ns ? now - msg.ts_ns : 0);
    }
    return 0;
}

static bool own_join(const struct ld_thread *th, const struct ld_conn *c,
                     const struct ld_irc_line *m)
{
    const struct ld_opts *o = th->o;
    return m->nparams >= 1 && names(m->prefix, strcspn(m->prefix, "!@"), o->nick_prefix, c->id) &&
           is_channel(o, m->params[0], c->id);
}

/* Replies that end a client's registration or join: nick in use or
 * refused, channel refused. */
static bool fatal_numeric(const char *cmd)
{
    static const char *const bad[] = { "431", "432", "433", "436", "437", "403", "405",
                                       "471", "473", "474", "475", "476", "477", "489" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strcmp(cmd, bad[i]) == 0)
            return true;
    return false;
}

static int on_line(struct ld_thread *th, struct ld_conn *c, char *line)
{
    struct ld_irc_line m;
    if (ld_irc_parse(line, &m) < 0)
        return 0;
    const char *last = m.nparams ? m.params[m.nparams - 1] : "";
    char chan[64];
    if (strcmp(m.cmd, "PRIVMSG") == 0)
        return on_privmsg(th, c, &m);
    if (strcmp(m.cmd, "PING") == 0)
        return say(th, c, "PONG :%s\r\n", last);
    if (strcmp(m.cmd, "001") == 0 && c->chat->stage == LD_CHAT_REGISTERING) {
        c->chat->stage = LD_CHAT_JOINING;
        ld_chat_channel(th->o, c->id, chan, sizeof chan);
        return say(th, c, "JOIN %s\r\n", chan);
    }
    if (strcmp(m.cmd, "JOIN") == 0 && c->chat->stage == LD_CHAT_JOINING && own_join(th, c, &m)) {
        c->chat->stage = LD_CHAT_JOINED;
        ld_chat_of(th)->joined++;
        return 0;
    }
    if (strcmp(m.cmd, "CAP") == 0 && m.nparams >= 2 && strcmp(m.params[1], "NAK") == 0)
        return ld_fail(th, LD_ERROR, "client %u: the server refused --caps: %s", c->id, last);
    if (fatal_numeric(m.cmd))
        return ld_fail(th, LD_ERROR, "client %u: the server refused it: %s %s%s", c->id, m.cmd,
                       last, strcmp(m.cmd, "433") == 0 ? " (try another --nick-prefix)" : "");
    if (strcmp(m.cmd, "ERROR") == 0)
        return ld_fail(th, LD_ERROR, "client %u: the server closed it: ERROR %s", c->id, last);
    return 0;
}

/* Splits what arrived into lines, carrying an unfinished one over. */
static int absorb(struct ld_thread *th, struct ld_conn *c, const char *p, size_t n)
{
    struct ld_chat_conn *cc = c->chat;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (take > LD_CHAT_LINE_MAX - 1 - cc->in_len)
            return ld_fail(th, LD_ERROR, "client %u: a line longer than %u bytes", c->id,
                           LD_CHAT_LINE_MAX);
        memcpy(cc->in + cc->in_len, p, take);
        cc->in_len += take;
        if (!nl)
            return 0;
        p += take + 1;
        n -= take + 1;
        if (cc->in_len > 0 && cc->in[cc->in_len - 1] == '\r')
            cc->in_len--;
        cc->in[cc->in_len] = '\0';
        cc->in_len = 0;
        if (on_line(th, c, cc->in) < 0)
            return -1;
    }
    return 0;
}

static int pump_in(struct ld_thread *th, struct ld_conn *c)
{
    int rc = ld_conn_drain(th, c, absorb);
    if (rc == 1)
        return ld_fail(th, LD_ERROR, "client %u: closed by the server", c->id);
    if (rc == 2)
        return ld_fail(th, LD_ERROR, "client %u: recv: %s", c->id, strerror(errno));
    return rc;
}

int ld_chat_on_event(struct ld_thread *th, struct ld_conn *c, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && pump_in(th, c) < 0)
        return -1;
    return (ev & EPOLLOUT) ? ld_chat_flush(th, c) : 0;
}
