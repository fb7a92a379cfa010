/* test_chat_overflow.c - a listener's overflow policy, with never-reading
 * members beside 20 healthy ones in one channel across both workers:
 * - drop_oldest: nobody is cut; each never-reader, reading at last, finds
 *   whole lines in order, and where lines went a NOTICE saying exactly how
 *   many (the next line's number proves it), matching the server's count;
 * - pause_producer: nobody is cut and nothing is lost; the sender stops
 *   being read while a never-reader is congested, and once they read,
 *   every member gets every line in order.
 * disconnect, the default, is test_chat_limits' slow-consumer test.
 *
 * Times are checked from below only (shared machines, sanitizers). */
#include "harness.h"
#include "irc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(chat_overflow, .init = mx_init, .fini = mx_fini, .timeout = 240);

#define T 5000
#define READERS 20
#define SLOW 2                   /* one per worker */
#define MEMBERS (READERS + SLOW)
#define PAD 440                  /* a message is some 480 bytes */
#define WINDOW 200               /* how far the sender may run ahead of readers */

struct member {
    struct irc c;
    bool awake;                  /* read by the loop (healthy, or woken) */
    long next;                   /* the next message number due */
    long gap;                    /* announced as dropped, not yet skipped */
    long dropped;                /* announced in all */
    struct irc_lines lines;
};

struct run {
    struct member m[MEMBERS];    /* healthy first, then the never-readers */
    struct irc snd;
    long limit;                  /* messages to send */
    long errors;
    char first_error[400];
};

static void error(struct run *r, int who, const char *why, const char *line)
{
    if (r->errors++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "member %d: %s: '%.200s'", who, why,
                 line);
}

static void on_notice(struct run *r, int i, const char *line)
{
    long n = 0;
    if (!strstr(line, " NOTICE ") || !strstr(line, " dropped here: "))
        return;
    if (sscanf(strstr(line, ":***"), ":*** %ld message", &n) != 1 || n <= 0) {
        error(r, i, "bad drop notice", line);
        return;
    }
    r->m[i].gap += n;
    r->m[i].dropped += n;
}

/* Message numbers go up by one, except right after a drop notice, where
 * they jump by exactly the number it announced. */
static void on_privmsg(struct run *r, int i, const char *line)
{
    static const char pfx[] = ":sender!usender@127.0.0.1 PRIVMSG #c :";
    struct member *m = &r->m[i];
    if (strncmp(line, pfx, sizeof pfx - 1) != 0) {
        error(r, i, "unexpected PRIVMSG", line);
        return;
    }
    char *end;
    long seq = strtol(line + sizeof pfx - 1, &end, 10);
    if (*end != ' ' || strlen(end + 1) != PAD)
        error(r, i, "a cut line", line);
    else if (seq != m->next + m->gap)
        error(r, i, seq < m->next ? "duplicate or reordered" : "unannounced gap", line);
    m->next = seq + 1;
    m->gap = 0;
}

static void on_line(struct run *r, int i, char *line)
{
    if (irc_line_is(line, "PRIVMSG", NULL))
        on_privmsg(r, i, line);
    else if (irc_line_is(line, "NOTICE", NULL))
        on_notice(r, i, line);
    else if (irc_line_is(line, "QUIT", NULL) || irc_line_is(line, "ERROR", NULL))
        error(r, i, "nobody is cut under this policy", line);
}

struct member_at {
    struct run *r;
    int i;
};

static void line_at(void *arg, char *line)
{
    struct member_at *at = arg;
    on_line(at->r, at->i, line);
}

static void read_member(struct run *r, int i)
{
    struct member *m = &r->m[i];
    if (!irc_lines_read(m->c.fd, &m->lines, line_at, &(struct member_at){ r, i }) &&
        !m->c.eof) {
        error(r, i, "connection closed", "");
        m->c.eof = true;
    }
}

/* The lowest next over members that read: the sender's flow control. */
static long min_next(const struct run *r, int upto)
{
    long low = r->limit;
    for (int i = 0; i < upto; i++)
        if (r->m[i].awake && r->m[i].next + r->m[i].gap < low)
            low = r->m[i].next + r->m[i].gap;
    return low;
}

static void wake(struct run *r, int ep, int i)
{
    struct member *m = &r->m[i];
    MX_REQUIRE(mx_set_nonblock(m->c.fd, true) == 0);
    /* Bytes the irc helper already buffered (JOINs of later members). */
    irc_lines_take(&m->c, &m->lines);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    MX_REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, m->c.fd, &ev) == 0);
    m->awake = true;
}

struct sender {
    char out[WINDOW * 520];
    size_t olen, ooff;
    long sent;
};

/* Sends what the window allows; true if it moved anything. */
static bool send_some(struct run *r, struct sender *s, long upto)
{
    static char pad[PAD + 1];
    memset(pad, 'p', PAD);
    if (s->ooff == s->olen) {
        s->olen = s->ooff = 0;
        for (; s->sent < r->limit && s->sent < upto && s->olen + 520 < sizeof s->out; s->sent++)
            s->olen += (size_t)snprintf(s->out + s->olen, sizeof s->out - s->olen,
                                        "PRIVMSG #c :%ld %s\r\n", s->sent, pad);
    }
    if (s->ooff == s->olen)
        return false;
    ssize_t w = send(r->snd.fd, s->out + s->ooff, s->olen - s->ooff, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0)
        s->ooff += (size_t)w;
    else
        MX_REQUIRE(w < 0 && (errno == EAGAIN || errno == EINTR), "sender: %s", strerror(errno));
    return w > 0;
}

static void pump(int ep, struct run *r)
{
    struct epoll_event ev[32];
    int n = epoll_wait(ep, ev, 32, 50);
    for (int k = 0; k < n; k++)
        read_member(r, (int)ev[k].data.u32);
}

/* tcp_wmem's maximum: how far the kernel may grow the server's send
 * buffer toward a never-reader before its queue in muxd grows at all. */
static long wmem_max(void)
{
    long lo, def, max = 4l << 20;
    FILE *fp = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld %ld", &lo, &def, &max) != 3)
            max = 4l << 20;
        fclose(fp);
    }
    return max < (4l << 20) ? 4l << 20 : max;
}

static struct mx_daemon *boot(const char *policy)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[server]\nworkers = 2\nshutdown_timeout = 60s\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
             "server_name = test.muxd\nflood_rate = 0\noverflow = %s\n"
             "[admin]\nlisten = 127.0.0.1:0\n"
             "[limits]\noutput_max = 256k\noutput_high_water = 128k\noutput_low_water = 32k\n",
             policy);
    return mx_boot(text);
}

static void join_all(struct run *r, int port)
{
    IRC_LOGIN(&r->snd, port, "sender", T);
    IRC_JOIN(&r->snd, "#c", T);
    for (int i = 0; i < MEMBERS; i++) {
        char nick[24], user[32];
        snprintf(nick, sizeof nick, i < READERS ? "r%d" : "slow%d", i < READERS ? i : i - READERS);
        snprintf(user, sizeof user, "u%s", nick);
        MX_REQUIRE(irc_open(&r->m[i].c, port) == 0);
        MX_REQUIRE(irc_register(&r->m[i].c, nick, user, T) == 0, "%s", irc_recent(&r->m[i].c));
        IRC_JOIN(&r->m[i].c, "#c", T);
    }
}

static void finish(struct mx_daemon *d, struct run *r, int ep)
{
    /* Everyone is still there. */
    MX_REQUIRE(irc_send(&r->snd, "PING :after") == 0);
    r->snd.rlen = 0;
    MX_REQUIRE(mx_set_nonblock(r->snd.fd, false) == 0);
    IRC_EXPECT(&r->snd, "PONG", ":after", T);
    close(ep);
    irc_close(&r->snd);
    for (int i = 0; i < MEMBERS; i++)
        irc_close(&r->m[i].c);
    free(r);
    mx_stop_ok(d, 10000);
}

static struct run *start(struct mx_daemon *d, int *ep)
{
    struct run *r = calloc(1, sizeof *r);
    MX_REQUIRE(r);
    join_all(r, mx_port(d, "chat"));
    r->limit = (wmem_max() + (2l << 20)) / 480;
    *ep = epoll_create1(EPOLL_CLOEXEC);
    MX_REQUIRE(*ep >= 0);
    for (int i = 0; i < READERS; i++)
        wake(r, *ep, i);
    return r;
}

Test(chat_overflow, drop_oldest_drops_whole_lines_and_says_how_many)
{
    struct mx_daemon *d = boot("drop_oldest");
    int ep;
    struct run *r = start(d, &ep);
    struct sender *s = calloc(1, sizeof *s);
    MX_REQUIRE(s);
    int64_t deadline = mx_now_ms() + 150000;
    while (min_next(r, READERS) < r->limit && !r->errors && mx_now_ms() < deadline) {
        send_some(r, s, min_next(r, READERS) + WINDOW);
        pump(ep, r);
    }
    MX_REQUIRE(!r->errors, "%ld errors; first: %s", r->errors, r->first_error);
    MX_REQUIRE(min_next(r, READERS) == r->limit, "readers got %ld of %ld", min_next(r, READERS),
               r->limit);
    long server_dropped = mx_metric_sum(mx_port(d, "admin"), "muxd_output_dropped_messages_total");
    MX_REQUIRE(server_dropped > 0, "nothing was dropped: %ld messages too few?", r->limit);

    /* The never-readers read at last: up to the last message, with every
     * gap announced where it is. */
    for (int i = READERS; i < MEMBERS; i++)
        wake(r, ep, i);
    deadline = mx_now_ms() + 60000;
    while (min_next(r, MEMBERS) < r->limit && !r->errors && mx_now_ms() < deadline)
        pump(ep, r);
    MX_REQUIRE(!r->errors, "%ld errors; first: %s", r->errors, r->first_error);
    long dropped = 0;
    for (int i = READERS; i < MEMBERS; i++) {
        struct member *m = &r->m[i];
        MX_REQUIRE(m->next == r->limit && m->gap == 0, "slow%d: at %ld (+%ld dropped) of %ld",
                   i - READERS, m->next, m->gap, r->limit);
        MX_REQUIRE(m->dropped > 0, "slow%d lost nothing", i - READERS);
        dropped += m->dropped;
        cr_log_info("slow%d: %ld of %ld messages dropped, announced in place", i - READERS,
                    m->dropped, r->limit);
    }
    MX_REQUIRE(dropped == server_dropped, "notices say %ld dropped, the server counted %ld",
               dropped, server_dropped);
    free(s);
    finish(d, r, ep);
}

Test(chat_overflow, pause_producer_holds_the_sender_and_loses_nothing)
{
    struct mx_daemon *d = boot("pause_producer");
    int ep;
    struct run *r = start(d, &ep);
    struct sender *s = calloc(1, sizeof *s);
    MX_REQUIRE(s);
    /* Until the readers stop getting anything though the sender has
     * more to give: it is held. */
    int64_t deadline = mx_now_ms() + 150000, moved = mx_now_ms();
    long last = -1;
    while (s->sent < r->limit && !r->errors && mx_now_ms() < deadline &&
           mx_now_ms() - moved < 2000) {
        send_some(r, s, min_next(r, READERS) + WINDOW);
        pump(ep, r);
        if (min_next(r, READERS) != last) {
            last = min_next(r, READERS);
            moved = mx_now_ms();
        }
    }
    MX_REQUIRE(!r->errors, "%ld errors; first: %s", r->errors, r->first_error);
    MX_REQUIRE(s->sent < r->limit, "all %ld messages went through: the sender was never held",
               r->limit);
    int admin = mx_port(d, "admin");
    MX_REQUIRE(mx_metric_sum(admin, "muxd_chat_producer_holds_total") > 0, "no hold was counted");
    cr_log_info("the sender was held after %ld of %ld messages", last, r->limit);

    /* The never-readers read: the sender goes on, and everyone gets all. */
    for (int i = READERS; i < MEMBERS; i++)
        wake(r, ep, i);
    deadline = mx_now_ms() + 120000;
    while (min_next(r, MEMBERS) < r->limit && !r->errors && mx_now_ms() < deadline) {
        send_some(r, s, min_next(r, MEMBERS) + WINDOW);
        pump(ep, r);
    }
    MX_REQUIRE(!r->errors, "%ld errors; first: %s", r->errors, r->first_error);
    for (int i = 0; i < MEMBERS; i++)
        MX_REQUIRE(r->m[i].next == r->limit && r->m[i].dropped == 0,
                   "member %d got %ld of %ld (%ld dropped)", i, r->m[i].next, r->limit,
                   r->m[i].dropped);
    MX_REQUIRE(mx_metric_sum(admin, "muxd_chat_sendq_kills_total") == 0, "someone was cut");
    free(s);
    finish(d, r, ep);
}
