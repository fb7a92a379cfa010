/* hs_abuser.c - abusive connections and the poll loop that drives them.
 *
 * What the loop watches is what tells CUT, THROTTLED and REFUSED apart:
 * a close from the server (EOF, reset, or for a client that never reads,
 * the server's socket leaving ESTABLISHED in /proc), a send that stays
 * blocked while the connection is open (the server stopped reading), the
 * time a marker waits for its answer (input processed late), and error
 * replies (ERR ..., IRC 4xx/5xx, ERROR, FAIL, "Line rejected"). */
#include "hostile.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

#define MARK "HSMARK"
#define PROC_EVERY_NS (100 * NS_PER_MS)
#define READ_MAX (256 * 1024)   /* per connection and turn: others get their turn */

int ld_hs_abuser_init(struct ld_hs_abuser *a, unsigned idx, int fd, uint64_t budget)
{
    memset(a, 0, sizeof *a);
    a->fd = fd;
    a->idx = idx;
    a->budget = budget;
    a->out_cap = 64 * 1024;
    a->out = malloc(a->out_cap);
    return a->out ? 0 : -1;
}

void ld_hs_abuser_free(struct ld_hs_abuser *a)
{
    free(a->out);
    a->out = NULL;
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
}

int ld_hs_queue(struct ld_hs_abuser *a, const void *p, size_t n)
{
    if (a->out_off == a->out_len)
        a->out_off = a->out_len = 0;
    if (a->out_len + n > a->out_cap) {
        size_t cap = a->out_cap;
        while (a->out_len + n > cap)
            cap *= 2;
        char *m = realloc(a->out, cap);
        if (!m)
            return -1;
        a->out = m;
        a->out_cap = cap;
    }
    memcpy(a->out + a->out_len, p, n);
    a->out_len += n;
    return 0;
}

int ld_hs_queuef(struct ld_hs_abuser *a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    return ld_hs_queue(a, buf, (size_t)n);
}

void ld_hs_mark(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    if (a->mark_next - a->mark_acked >= LD_HS_MARKS)
        return; /* the ring is full: the lag is already measured */
    a->mark_ns[a->mark_next % LD_HS_MARKS] = now;
    if (x->o->hproto == LD_HP_CHAT)
        ld_hs_queuef(a, "PING :" MARK "%" PRIu64 "\r\n", a->mark_next);
    else
        ld_hs_queuef(a, MARK "%" PRIu64 "\n", a->mark_next);
    a->mark_next++;
}

static void cut(struct ld_hs_abuser *a, uint64_t now)
{
    if (!a->cut) {
        a->cut = true;
        a->cut_ns = now;
    }
}

/* ---- replies ---- */

static bool chat_error(const char *line)
{
    const char *sp = strchr(line, ' ');
    const char *cmd = line[0] == ':' && sp ? sp + 1 : line;
    bool numeric = (cmd[0] == '4' || cmd[0] == '5') && cmd[1] >= '0' && cmd[1] <= '9' &&
                   cmd[2] >= '0' && cmd[2] <= '9' && cmd[3] == ' ';
    return numeric || strncmp(cmd, "ERROR", 5) == 0 || strncmp(cmd, "FAIL ", 5) == 0 ||
           (strncmp(cmd, "NOTICE ", 7) == 0 && strstr(cmd, "rejected"));
}

/* A marker's answer ends its line: every marker up to it is answered. */
static void ack_marker(struct ld_hs_abuser *a, const char *tail, uint64_t now)
{
    const char *m = NULL;
    for (const char *p = tail; (p = strstr(p, MARK)); p++)
        m = p;
    if (!m)
        return;
    char *end;
    unsigned long long seq = strtoull(m + strlen(MARK), &end, 10);
    if (*end || end == m + strlen(MARK) || seq < a->mark_acked || seq >= a->mark_next)
        return;
    for (; a->mark_acked <= seq; a->mark_acked++) {
        uint64_t lag = now - a->mark_ns[a->mark_acked % LD_HS_MARKS];
        if (lag > a->max_lag_ns)
            a->max_lag_ns = lag;
    }
}

static void end_line(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    a->line[a->line_len] = '\0';
    a->tail[a->tail_len] = '\0';
    if (a->line_len && a->line[a->line_len - 1] == '\r')
        a->line[a->line_len - 1] = '\0';
    if (a->tail_len && a->tail[a->tail_len - 1] == '\r')
        a->tail[a->tail_len - 1] = '\0';
    a->lines++;
    bool chat = x->o->hproto == LD_HP_CHAT;
    if (chat ? chat_error(a->line) : strncmp(a->line, "ERR", 3) == 0)
        a->errors++;
    ack_marker(a, a->tail, now);
    const char *sp = strchr(a->line, ' ');
    const char *cmd = a->line[0] == ':' && sp ? sp + 1 : a->line;
    if (chat && strncmp(cmd, "PING ", 5) == 0)
        ld_hs_queuef(a, "PONG %.400s\r\n", cmd + 5); /* stay registered */
    a->line_len = a->tail_len = 0;
}

/* Bytes of a line: its start is kept whole, its end in a window. */
static void add_to_line(struct ld_hs_abuser *a, const char *p, size_t n)
{
    size_t room = sizeof a->line - 1 - a->line_len;
    size_t k = n < room ? n : room;
    memcpy(a->line + a->line_len, p, k);
    a->line_len += k;
    const size_t cap = sizeof a->tail - 1;
    if (n >= cap) {
        memcpy(a->tail, p + n - cap, cap);
        a->tail_len = cap;
        return;
    }
    size_t keep = a->tail_len + n > cap ? cap - n : a->tail_len;
    memmove(a->tail, a->tail + a->tail_len - keep, keep);
    memcpy(a->tail + keep, p, n);
    a->tail_len = keep + n;
}

static void feed(struct ld_hs_ctx *x, struct ld_hs_abuser *a, const char *p, size_t n, uint64_t now)
{
    while (n) {
        const char *lf = memchr(p, '\n', n);
        size_t k = lf ? (size_t)(lf - p) : n;
        add_to_line(a, p, k);
        if (!lf)
            return;
        end_line(x, a, now);
        p += k + 1;
        n -= k + 1;
    }
}

/* ---- the loop ---- */

static void readable(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    char buf[65536];
    for (size_t got = 0; got < READ_MAX;) {
        ssize_t r = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            cut(a, now);
            return;
        }
        if (r < 0)
            return;
        a->recvd += (uint64_t)r;
        got += (size_t)r;
        feed(x, a, buf, (size_t)r, now);
    }
}

static void note_blocked(struct ld_hs_abuser *a, uint64_t now)
{
    if (a->blocked_since && now - a->blocked_since > a->max_blocked_ns)
        a->max_blocked_ns = now - a->blocked_since;
}

static void try_send(struct ld_hs_abuser *a, uint64_t now)
{
    while (a->out_off < a->out_len) {
        ssize_t w = send(a->fd, a->out + a->out_off, a->out_len - a->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            if (!a->blocked_since)
                a->blocked_since = now;
            return;
        }
        if (w < 0) {
            cut(a, now);
            return;
        }
        note_blocked(a, now);
        a->blocked_since = 0;
        a->out_off += (size_t)w;
        a->sent += (uint64_t)w;
    }
}

static void note_lag(struct ld_hs_abuser *a, uint64_t now)
{
    if (a->mark_acked < a->mark_next) {
        uint64_t lag = now - a->mark_ns[a->mark_acked % LD_HS_MARKS];
        if (lag > a->max_lag_ns)
            a->max_lag_ns = lag;
    }
    note_blocked(a, now);
}

/* Sends what is due; the poll entry and the next wake-up. */
static void step(struct ld_hs_ctx *x, struct ld_hs_abuser *a, ld_hs_gen_fn *gen, uint64_t now,
                 struct pollfd *pf, uint64_t *wake)
{
    *pf = (struct pollfd){ .fd = -1 };
    if (a->cut)
        return;
    if (a->out_off == a->out_len && now >= a->next_ns)
        gen(x, a, now);
    try_send(a, now);
    note_lag(a, now);
    if (a->never_read && now >= a->next_proc_ns) {
        a->next_proc_ns = now + PROC_EVERY_NS;
        if (ld_hs_server_closed(a->fd))
            cut(a, now);
    }
    if (a->cut)
        return;
    bool pending = a->out_off < a->out_len;
    *pf = (struct pollfd){ .fd = a->fd, .events = (short)((a->never_read ? 0 : POLLIN) |
                                                         (pending ? POLLOUT : 0)) };
    uint64_t next = pending ? UINT64_MAX : a->next_ns;
    if (a->never_read && a->next_proc_ns < next)
        next = a->next_proc_ns;
    if (next < *wake)
        *wake = next;
}

static bool all_cut(const struct ld_hs_ctx *x)
{
    for (unsigned i = 0; i < x->n; i++)
        if (!x->ab[i].cut)
            return false;
    return true;
}

static void after_poll(struct ld_hs_ctx *x, struct ld_hs_abuser *a, short rev, uint64_t now)
{
    if (a->cut || !rev)
        return;
    if (!a->never_read && (rev & (POLLIN | POLLHUP | POLLERR)))
        readable(x, a, now);
    else if (rev & (POLLHUP | POLLERR))
        cut(a, now); /* a reset reaches even a client that never reads */
    if (!a->cut && (rev & POLLOUT))
        try_send(a, now);
}

void ld_hs_drive(struct ld_hs_ctx *x, ld_hs_gen_fn *gen)
{
    struct pollfd pf[128];
    unsigned n = x->n < 128 ? x->n : 128;
    for (unsigned i = 0; i < n; i++)
        x->ab[i].t0 = x->t0;
    for (;;) {
        uint64_t now = ld_now_ns();
        if (now < x->deadline && all_cut(x))
            ld_sleep_ns(x->deadline - now); /* the window stays whole for the p99 */
        if (now >= x->deadline || all_cut(x))
            break;
        uint64_t wake = now + 50 * NS_PER_MS < x->deadline ? now + 50 * NS_PER_MS : x->deadline;
        for (unsigned i = 0; i < n; i++)
            step(x, &x->ab[i], gen, now, &pf[i], &wake);
        int ms = wake > now ? (int)((wake - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
        if (poll(pf, n, ms) <= 0)
            continue;
        now = ld_now_ns();
        for (unsigned i = 0; i < n; i++)
            after_poll(x, &x->ab[i], pf[i].revents, now);
    }
    uint64_t end = ld_now_ns();
    for (unsigned i = 0; i < n; i++)
        if (!x->ab[i].cut)
            note_lag(&x->ab[i], end);
}

void ld_hs_collect(const struct ld_hs_ctx *x, struct ld_hs_case_result *r)
{
    r->abusers = x->n;
    for (unsigned i = 0; i < x->n; i++) {
        const struct ld_hs_abuser *a = &x->ab[i];
        double cut_ms = (double)(a->cut_ns - a->t0) / 1e6;
        if (a->cut) {
            r->cut++;
            if (cut_ms > r->cut_ms)
                r->cut_ms = cut_ms;
        }
        double stall = (double)a->max_blocked_ns / 1e6, lag = (double)a->max_lag_ns / 1e6;
        r->stall_ms = stall > r->stall_ms ? stall : r->stall_ms;
        r->lag_ms = lag > r->lag_ms ? lag : r->lag_ms;
        r->sent += a->sent;
        r->recvd += a->recvd;
        r->error_replies += a->errors;
    }
}
