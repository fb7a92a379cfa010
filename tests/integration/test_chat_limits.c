/* test_chat_limits.c - the chat service's limits: a member that never
 * reads is cut off with SendQ exceeded while the rest of its channel gets
 * everything in order; flood control delays input without losing any.
 * (The timeouts, which only wait, are in test_chat_timeouts.c: this file
 * runs alone, RUN_SERIAL, and they need not.)
 *
 * Times are checked from below only (this runs on busy shared machines,
 * under sanitizers): never "it took at most". */
#include "harness.h"
#include "irc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(chat_limits, .init = mx_init, .fini = mx_fini, .timeout = 180);

#define T 5000

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

static void join(struct irc *c, const char *chan) { IRC_JOIN(c, chan, T); }

/* ---- the slow consumer --------------------------------------------------- */

/* The slow one's kernel buffers take a good part of what is sent before
 * its queue in muxd grows at all (the server side's send buffer grows up
 * to tcp_wmem's maximum: some 3 MB of lines with the default 4 MB). So
 * the sender goes on until the slow one is cut off, plus WINDOW messages
 * to show the rest keep receiving, at most tcp_wmem's maximum + 2 MB. */
#define READERS 20
#define LINE_BYTES 480           /* what the sender sends per message */
#define WINDOW 200               /* messages a reader may lag: ~96 KB < SendQ */
#define PAD 440
/* Never-readers, spread over both workers and cut in the same fan-outs.
 * They keep the kernel's default receive buffer: one set tiny before
 * connect (4 KB, as they once had) gives an unscaled window that the
 * receiver rounds down to the segment size it last saw. Once that was a
 * 1936-byte probe, the window (1936) stays below the sender's MSS (2048,
 * half the largest window seen), and Linux then sends one probe segment
 * per persist timer tick (~200 ms): ~10 KB/s, so the 3 MB read back took
 * minutes and looked like a stall (1 run in 3-60, on every backend). */
#define SLOW 4

struct reader {
    struct irc c;
    int next;                    /* the next seq expected */
    int quits[SLOW];             /* QUIT lines of each slow one */
    struct irc_lines lines;
};

struct flood {
    struct reader r[READERS + 1]; /* the sender last: it reads its socket too */
    long errors;
    char first_error[400];
    int limit;                   /* messages the sender will send */
};

static void flood_error(struct flood *f, int who, const char *why, const char *line)
{
    if (f->errors++ == 0)
        snprintf(f->first_error, sizeof f->first_error, "reader %d: %s: '%.200s'", who, why,
                 line);
}

/* One line read by reader i (READERS = the sender). */
static void flood_line(struct flood *f, int i, char *line)
{
    struct reader *r = &f->r[i];
    if (irc_line_is(line, "QUIT", NULL)) {
        int n = -1, len = 0;
        if (sscanf(line, ":slow%d!uslow%*d@127.0.0.1 QUIT :SendQ exceeded%n", &n, &len) != 1 ||
            len == 0 || line[len] != '\0' || n < 0 || n >= SLOW)
            flood_error(f, i, "unexpected QUIT", line);
        else
            r->quits[n]++;
        return;
    }
    if (!irc_line_is(line, "PRIVMSG", NULL))
        return;
    static const char pfx[] = ":sender!usender@127.0.0.1 PRIVMSG #big :";
    if (i == READERS || strncmp(line, pfx, sizeof pfx - 1) != 0) {
        flood_error(f, i, "unexpected PRIVMSG", line);
        return;
    }
    char *end;
    long seq = strtol(line + sizeof pfx - 1, &end, 10);
    if (seq != r->next || *end != ' ' || strlen(end + 1) != PAD)
        flood_error(f, i, seq < r->next ? "duplicate or reordered" : "gap or bad line", line);
    else
        r->next++;
}

struct flood_at {
    struct flood *f;
    int i;
};

static void flood_line_at(void *arg, char *line)
{
    struct flood_at *at = arg;
    flood_line(at->f, at->i, line);
}

static void flood_read(struct flood *f, int i)
{
    struct reader *r = &f->r[i];
    if (!irc_lines_read(r->c.fd, &r->lines, flood_line_at, &(struct flood_at){ f, i }) &&
        !r->c.eof) {
        flood_error(f, i, "connection closed", "");
        r->c.eof = true;
    }
}

static int min_next(const struct flood *f)
{
    int m = f->limit;
    for (int i = 0; i < READERS; i++)
        m = f->r[i].next < m ? f->r[i].next : m;
    return m;
}

static bool all_saw_quit(const struct flood *f)
{
    for (int i = 0; i <= READERS; i++)
        for (int n = 0; n < SLOW; n++)
            if (!f->r[i].quits[n])
                return false;
    return true;
}

/* tcp_wmem's maximum: how far the kernel may grow a send buffer. */
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

/* Slow one n, reading at last: what was queued for it before the cut, in
 * order, then its ERROR line, then EOF. Its close is graceful: the test's
 * shutdown_timeout outlasts reading the slow ones before it. */
static void read_after_cut(struct irc *slow, int n, int sent)
{
    static const char pfx[] = ":sender!usender@127.0.0.1 PRIVMSG #big :";
    char error[80];
    snprintf(error, sizeof error, "ERROR :Closing Link: slow%d (SendQ exceeded)", n);
    MX_REQUIRE(mx_set_nonblock(slow->fd, false) == 0);
    int next = 0, lines = 0;
    bool error_seen = false, after_error = false;
    int64_t t0 = mx_now_ms(), last = t0, until = t0 + 20000;
    int rc;
    while ((rc = irc_next(slow, (int)(until - mx_now_ms()))) == 1) {
        last = mx_now_ms();
        lines++;
        if (error_seen)
            after_error = true;
        if (irc_line_is(slow->line, "PRIVMSG", NULL)) {
            long seq = strtol(slow->line + sizeof pfx - 1, NULL, 10);
            MX_REQUIRE(seq == next, "slow%d: message %ld where %d was due", n, seq, next);
            next++;
        } else if (irc_line_is(slow->line, "ERROR", NULL)) {
            MX_REQUIRE(strcmp(slow->line, error) == 0, "%s", slow->line);
            error_seen = true;
        }
    }
    /* The last line's age tells a stall (nothing more came) from a
     * trickle (lines kept coming, too slowly). */
    MX_REQUIRE(rc == 0, "slow%d: no EOF %lld ms after it began reading, its last line %lld ms "
               "ago (%d lines, %d messages, rc %d)", n, (long long)(mx_now_ms() - t0),
               (long long)(mx_now_ms() - last), lines, next, rc);
    MX_REQUIRE(error_seen, "slow%d: EOF without its ERROR line (%d messages)", n, next);
    MX_REQUIRE(!after_error, "slow%d: lines after the ERROR line", n);
    MX_REQUIRE(next < sent, "slow%d got every message", n);
    cr_log_info("slow%d: %d of %d messages before the cut, then its ERROR line and EOF, in "
                "%lld ms", n, next, sent, (long long)(last - t0));
}

Test(chat_limits, slow_consumers_cut_off_with_sendq_exceeded)
{
    /* shutdown_timeout: long enough that no slow one is cut at its close
     * deadline while those before it are read back. */
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\nshutdown_timeout = 60s\n"
        "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
        "server_name = test.muxd\nflood_rate = 0\noverflow = disconnect\n"
        "[limits]\noutput_max = 256k\noutput_high_water = 128k\noutput_low_water = 32k\n");
    int port = mx_port(d, "chat");
    struct flood *f = calloc(1, sizeof *f);
    MX_REQUIRE(f);
    struct irc *snd = &f->r[READERS].c, slow[SLOW];
    login(snd, port, "sender");
    join(snd, "#big");
    for (int i = 0; i < READERS; i++) {
        char nick[16];
        snprintf(nick, sizeof nick, "r%d", i);
        login(&f->r[i].c, port, nick);
        join(&f->r[i].c, "#big");
    }
    /* The slow ones never read again (default buffers: see SLOW).
     * Connections alternate between the 2 workers, so both have some, and
     * every fan-out that cuts one goes on to the others. */
    for (int n = 0; n < SLOW; n++) {
        char nick[16], user[16];
        snprintf(nick, sizeof nick, "slow%d", n);
        snprintf(user, sizeof user, "uslow%d", n);
        MX_REQUIRE(irc_open(&slow[n], port) == 0);
        MX_REQUIRE(irc_register(&slow[n], nick, user, T) == 0, "%s", irc_recent(&slow[n]));
        join(&slow[n], "#big");
    }

    int ep = epoll_create1(EPOLL_CLOEXEC);
    MX_REQUIRE(ep >= 0);
    for (int i = 0; i <= READERS; i++) {
        MX_REQUIRE(mx_set_nonblock(f->r[i].c.fd, true) == 0);
        /* Bytes the helper already buffered (JOINs of later members). */
        irc_lines_take(&f->r[i].c, &f->r[i].lines);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        MX_REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, f->r[i].c.fd, &ev) == 0);
    }

    /* The sender stays at most WINDOW messages ahead of the slowest
     * reader (not counting the slow one): no reader's queue can reach
     * the SendQ, however slowly this loop runs. */
    char pad[PAD + 1];
    memset(pad, 'p', PAD);
    pad[PAD] = '\0';
    static char out[WINDOW * 520];
    int sent = 0;
    size_t olen = 0, ooff = 0;
    f->limit = (int)((wmem_max() + (2l << 20)) / LINE_BYTES);
    bool cut = false;
    int64_t t0 = mx_now_ms(), deadline = t0 + 120000;
    while ((min_next(f) < f->limit || !cut) && !f->errors && mx_now_ms() < deadline) {
        /* Once everything is through, the QUIT has 10 s more at most. */
        if (min_next(f) == f->limit && deadline - mx_now_ms() > 10000)
            deadline = mx_now_ms() + 10000;
        if (!cut && all_saw_quit(f)) {
            cut = true;
            f->limit = sent + WINDOW < f->limit ? sent + WINDOW : f->limit;
        }
        if (ooff == olen) {
            olen = ooff = 0;
            int upto = min_next(f) + WINDOW;
            for (; sent < f->limit && sent < upto && olen + 520 < sizeof out; sent++)
                olen += (size_t)snprintf(out + olen, sizeof out - olen,
                                         "PRIVMSG #big :%d %s\r\n", sent, pad);
        }
        if (ooff < olen) {
            ssize_t w = send(snd->fd, out + ooff, olen - ooff, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                ooff += (size_t)w;
            else
                MX_REQUIRE(w < 0 && (errno == EAGAIN || errno == EINTR),
                           "sender: send failed: %s", strerror(errno));
        }
        struct epoll_event ev[32];
        int n = epoll_wait(ep, ev, 32, 50);
        for (int k = 0; k < n; k++)
            flood_read(f, (int)ev[k].data.u32);
    }
    int64_t t1 = mx_now_ms();
    MX_REQUIRE(!f->errors, "%ld errors; first: %s", f->errors, f->first_error);
    MX_REQUIRE(cut, "the slow ones were not all cut off after %d messages of %d bytes", sent,
               LINE_BYTES);
    MX_REQUIRE(min_next(f) == f->limit, "readers got only %d of %d messages in %lld ms",
               min_next(f), f->limit, (long long)(t1 - t0));
    for (int i = 0; i <= READERS; i++)
        for (int n = 0; n < SLOW; n++)
            MX_REQUIRE(f->r[i].quits[n] == 1, "member %d saw slow%d's QUIT %d times (%d "
                       "messages of %d bytes sent)", i, n, f->r[i].quits[n], sent, LINE_BYTES);
    cr_log_info("%d messages of %d bytes (%.1f MB) to %d readers in %lld ms", sent,
                LINE_BYTES, sent * (double)LINE_BYTES / (1 << 20), READERS,
                (long long)(t1 - t0));

    for (int n = 0; n < SLOW; n++)
        read_after_cut(&slow[n], n, sent);

    /* Everyone else still works. */
    MX_REQUIRE(mx_set_nonblock(snd->fd, false) == 0);
    snd->rlen = 0;
    MX_REQUIRE(irc_send(snd, "PING :after") == 0);
    IRC_EXPECT(snd, "PONG", ":after", T);
    close(ep);
    for (int i = 0; i <= READERS; i++)
        irc_close(&f->r[i].c);
    for (int n = 0; n < SLOW; n++)
        irc_close(&slow[n]);
    free(f);
    mx_stop_ok(d, 10000);
}

/* ---- flood control ------------------------------------------------------- */

Test(chat_limits, flood_control_delays_without_loss)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
        "server_name = test.muxd\nflood_rate = 10\nflood_burst = 5\n");
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "flooder");
    login(&b, port, "bystander");
    join(&a, "#f");
    join(&b, "#f");
    mx_sleep_ms(700); /* the bucket refills to its burst */
    enum { N = 30 };
    char burst[N * 32];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(burst + len, sizeof burst - len, "PING :k%d\r\n", i);
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(irc_send_raw(&a, burst, len) == 0);
    /* The bystander on the other worker is not held up meanwhile. */
    MX_REQUIRE(irc_send(&b, "PRIVMSG #f :unaffected") == 0);
    int bystander = 0;
    for (int i = 0; i < N;) {
        MX_REQUIRE(irc_next(&a, 20000) == 1, "PONG %d did not come; last lines:\n%s", i,
                   irc_recent(&a));
        if (strcmp(a.line, ":bystander!ubystande@127.0.0.1 PRIVMSG #f :unaffected") == 0) {
            bystander++;
            continue;
        }
        if (irc_line_is(a.line, "JOIN", ":bystander!"))
            continue;
        char want[48];
        snprintf(want, sizeof want, ":test.muxd PONG test.muxd :k%d", i);
        MX_REQUIRE(strcmp(a.line, want) == 0, "PONG %d: got '%s'; last lines:\n%s", i, a.line,
                   irc_recent(&a));
        i++;
    }
    int64_t took = mx_now_ms() - t0;
    MX_REQUIRE(took >= 2000, "30 PINGs at flood_rate 10, burst 5 answered in %lld ms",
               (long long)took);
    cr_log_info("30 PINGs answered in %lld ms (about 2500 expected)", (long long)took);
    /* Nothing was lost and the client is fine. */
    if (!bystander)
        IRC_EXPECT(&a, "PRIVMSG", ":unaffected", T);
    MX_REQUIRE(irc_quiet(&a, 300), "more after the last PONG: %s", a.line);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* ---- input held back by flood control stays bounded -------------------- */

/* A client that floods PINGs and never reads: flood control keeps
 * pausing it, and each resume may bring in more input before the next
 * pause (on io_uring a ring's worth per re-armed receive). What muxd keeps
 * must stay bounded: receiving waits while more than a line is kept. It
 * once grew by ~42 MB in 3 s on io_uring (found by muxd-load hostile). */
Test(chat_limits, a_paused_flooder_cannot_grow_the_daemon)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                  "flood_rate = 50\nflood_burst = 50\n"
                                  "[limits]\noutput_high_water = 16k\noutput_low_water = 4k\n"
                                  "output_max = 64k\n");
    struct irc c;
    login(&c, mx_port(d, "chat"), "flooder");
    long before = daemon_rss_kb(d);
    MX_REQUIRE(mx_set_nonblock(c.fd, true) == 0);
    static char burst[64 * 1024];
    for (size_t i = 0; i + 8 <= sizeof burst; i += 8)
        memcpy(burst + i, "PING :x\n", 8);
    size_t sent = 0;
    for (int64_t until = mx_now_ms() + 3000; mx_now_ms() < until;) {
        ssize_t n = send(c.fd, burst, sizeof burst, MSG_NOSIGNAL);
        if (n > 0)
            sent += (size_t)n;
        else
            mx_sleep_ms(5);
    }
    long after = daemon_rss_kb(d);
    fprintf(stderr, "chat_limits: flooder sent %zu bytes in 3 s; RSS %ld -> %ld kB\n", sent,
            before, after);
    MX_REQUIRE(after - before < 8 * 1024, "RSS grew by %ld kB while %zu bytes came in",
               after - before, sent);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}
