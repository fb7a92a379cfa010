/* hs_cases.c - what each hostile case sends (the generators ld_hs_drive
 * runs), and the two cases that are not one connection's stream:
 * reset-mid-write (connect, write big, reset, again) and connect-flood
 * (many connections, each from its own loopback address). Every case is
 * bounded: by --duration, and by a byte or line budget. */
#include "hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"

#define CHUNK (64 * 1024)
#define OVERLONG (1024 * 1024)
#define BATCH 50            /* storm lines between two markers */
#define STORM_LINES 20000u  /* per abuser and case */
#define CONNECT_MS 5000

static bool chat(const struct ld_hs_ctx *x)
{
    return x->o->hproto == LD_HP_CHAT;
}

static void done(struct ld_hs_abuser *a)
{
    a->next_ns = UINT64_MAX;
}

/* ---- generators ---- */

/* One byte a second of a line that never ends (chat: a NICK line, so
 * the client never registers). */
static void gen_slowloris(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    const char *head = chat(x) ? "NICK " : "slowloris ";
    char b = a->k < strlen(head) ? head[a->k] : 'z';
    ld_hs_queue(a, &b, 1);
    a->k++;
    a->next_ns = now + NS_PER_S;
}

/* echo: lines without end, never reading the echo; chat: PINGs whose
 * PONGs, with the channel's traffic, pile up in the server. */
static void gen_never_reader(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    static char buf[CHUNK];
    size_t n = 0;
    while (n + 420 <= sizeof buf) {
        int k = chat(x) ? snprintf(buf + n, sizeof buf - n, "PING :%0400d\r\n", 0)
                        : snprintf(buf + n, sizeof buf - n, "%0255d\n", 0);
        n += (size_t)k;
    }
    ld_hs_queue(a, buf, n);
    a->budget = a->budget > n ? a->budget - n : 0;
    a->next_ns = a->budget ? now : UINT64_MAX;
}

/* A line of 1 MiB, 64 KiB at a time, then its end and a marker: did the
 * server go on with the next line? */
static void gen_overlong(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    static char buf[CHUNK];
    memset(buf, 'A', sizeof buf);
    if (a->k == 0 && chat(x)) {
        char chan[LD_PREFIX_MAX + 3];
        ld_hs_chan(x->o, chan, sizeof chan);
        ld_hs_queuef(a, "PRIVMSG %s :", chan);
    }
    if (a->k++ < OVERLONG / CHUNK) {
        ld_hs_queue(a, buf, sizeof buf);
        a->next_ns = now;
        return;
    }
    ld_hs_queue(a, chat(x) ? "\r\n" : "\n", chat(x) ? 2 : 1);
    ld_hs_mark(x, a, now);
    done(a);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 4 KiB of random bytes every 10 ms (NULs, CR, LF, bytes no UTF-8 has),
 * then a marker on a line of its own. */
static void gen_garbage(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    unsigned char buf[4096];
    for (size_t i = 0; i < sizeof buf; i += 8) {
        uint64_t r = xorshift(&x->rnd);
        memcpy(buf + i, &r, 8);
    }
    buf[0] = 0x00;            /* at least one of each kind, whatever the dice say */
    buf[1] = 0xff;
    buf[2] = 0xc0;
    ld_hs_queue(a, buf, sizeof buf);
    ld_hs_queue(a, chat(x) ? "\r\n" : "\n", chat(x) ? 2 : 1);
    ld_hs_mark(x, a, now);
    a->budget = a->budget > sizeof buf ? a->budget - sizeof buf : 0;
    a->next_ns = a->budget ? now + 10 * NS_PER_MS : UINT64_MAX;
}

/* A storm: BATCH lines as fast as the server takes them, a marker after
 * each batch; line(x, a, i) queues line i. */
static void storm(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now,
                  void (*line)(struct ld_hs_ctx *, struct ld_hs_abuser *, uint64_t))
{
    for (unsigned i = 0; i < BATCH; i++)
        line(x, a, a->k++);
    ld_hs_mark(x, a, now);
    a->next_ns = a->k < STORM_LINES ? now : UINT64_MAX;
}

static void join_line(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t k)
{
    /* Hundreds of channels, each joined and left again at once. */
    ld_hs_queuef(a, "JOIN #%sj%u_%llu\r\nPART #%sj%u_%llu\r\n", x->o->chan_prefix, a->idx,
              (unsigned long long)(k % 500), x->o->chan_prefix, a->idx,
              (unsigned long long)(k % 500));
}

static void nick_line(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t k)
{
    ld_hs_queuef(a, "NICK %sn%u_%llx\r\n", x->o->nick_prefix, a->idx, (unsigned long long)k);
}

static void flood_line(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t k)
{
    char chan[LD_PREFIX_MAX + 3];
    ld_hs_chan(x->o, chan, sizeof chan);
    ld_hs_queuef(a, "PRIVMSG %s :flood %u %llu %.*s\r\n", chan, a->idx, (unsigned long long)k,
              (int)(x->o->size < 300 ? x->o->size : 300),
              "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
              "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
              "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
              "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
}

static void gen_join_storm(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    storm(x, a, now, join_line);
}

static void gen_nick_storm(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    storm(x, a, now, nick_line);
}

static void gen_flood(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now)
{
    storm(x, a, now, flood_line);
}

/* ---- the generic cases: N abusers, each with the case's generator ---- */

struct generic {
    ld_hs_gen_fn *gen;
    bool never_read;
    bool registers;          /* chat: NICK/USER first */
    bool joins;              /* chat: and join the well-behaved channel */
    uint64_t budget;
};

static struct generic generic_of(enum ld_hcase id)
{
    switch (id) {
    case HC_SLOWLORIS: return (struct generic){ gen_slowloris, false, false, false, 0 };
    case HC_NEVER_READER:
        return (struct generic){ gen_never_reader, true, true, true, 16u << 20 };
    case HC_OVERLONG: return (struct generic){ gen_overlong, false, true, false, 0 };
    case HC_GARBAGE: return (struct generic){ gen_garbage, false, true, false, 4u << 20 };
    case HC_JOIN_STORM: return (struct generic){ gen_join_storm, false, true, false, 0 };
    case HC_NICK_STORM: return (struct generic){ gen_nick_storm, false, true, true, 0 };
    default: return (struct generic){ gen_flood, false, true, true, 0 };
    }
}

static int open_abuser(const struct ld_opts *o, const struct generic *g, unsigned i,
                       struct ld_hs_abuser *a, char *why, size_t whylen)
{
    /* A never-reader's tiny window and segments keep the server's own
     * buffers small, so what it holds back shows in its queue. */
    struct ld_hs_sockopt so = { .rcvbuf = g->never_read ? 4096 : 0, .mss = g->never_read ? 536 : 0 };
    int fd = ld_hs_connect(o, &so, CONNECT_MS);
    if (fd < 0) {
        snprintf(why, whylen, "abuser %u: connect: %s", i, strerror(-fd));
        return -1;
    }
    if (ld_hs_abuser_init(a, i, fd, g->budget) < 0) {
        close(fd);
        a->fd = -1;
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    a->never_read = g->never_read;
    if (o->hproto != LD_HP_CHAT || !g->registers)
        return 0;
    char nick[LD_PREFIX_MAX + 16], chan[LD_PREFIX_MAX + 3];
    snprintf(nick, sizeof nick, "%sx%u", o->nick_prefix, i);
    ld_hs_chan(o, chan, sizeof chan);
    return ld_hs_chat_register(fd, nick, g->joins ? chan : NULL, 10000, why, whylen);
}

static void run_generic(const struct ld_opts *o, enum ld_hcase id, struct ld_hs_case_result *r)
{
    struct generic g = generic_of(id);
    struct ld_hs_abuser *ab = calloc(o->abusers, sizeof *ab);
    struct ld_hs_ctx x = { .o = o, .id = id, .rnd = 0x9e3779b97f4a7c15ull, .ab = ab };
    int rc = ab ? 0 : -1;
    for (unsigned i = 0; ab && i < o->abusers; i++)
        ab[i].fd = -1;
    for (unsigned i = 0; rc == 0 && i < o->abusers; i++) {
        x.n = i + 1;
        rc = open_abuser(o, &g, i, &ab[i], r->note, sizeof r->note);
    }
    if (rc == 0) {
        x.t0 = ld_now_ns();
        x.deadline = x.t0 + ld_secs_ns(o->duration);
        ld_hs_drive(&x, g.gen);
        ld_hs_collect(&x, r);
    } else {
        r->setup_failed = true;
    }
    for (unsigned i = 0; i < x.n; i++)
        ld_hs_abuser_free(&ab[i]);
    free(ab);
}

/* ---- reset-mid-write ---- */

/* Pushes a large request until the server stops taking it (our send
 * blocked for 100 ms: it is busy writing its answers into our small
 * window, or holding them), at most 32 MiB or 1 s. */
static uint64_t push_big(const struct ld_opts *o, int fd)
{
    static char buf[CHUNK];
    size_t n = 0;
    while (n + 420 <= sizeof buf)
        n += (size_t)(o->hproto == LD_HP_CHAT ? snprintf(buf + n, sizeof buf - n,
                                                          "PING :%0400d\r\n", 0)
                                               : snprintf(buf + n, sizeof buf - n, "%0255d\n", 0));
    uint64_t sent = 0, end = ld_now_ns() + NS_PER_S;
    while (sent < (32u << 20) && ld_now_ns() < end) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            sent += (uint64_t)w;
            continue;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if ((w < 0 && errno != EAGAIN) || poll(&p, 1, 100) == 0)
            break;
    }
    return sent;
}

static void run_reset(const struct ld_opts *o, struct ld_hs_case_result *r)
{
    uint64_t end = ld_now_ns() + ld_secs_ns(o->duration);
    struct ld_hs_sockopt so = { .rcvbuf = 4096, .mss = 536 };
    char why[200] = "";
    while (ld_now_ns() < end) {
        int fd = ld_hs_connect(o, &so, CONNECT_MS);
        if (fd < 0) {
            snprintf(r->note, sizeof r->note, "connect failed after %u resets: %s", r->abusers,
                     strerror(-fd));
            return;
        }
        char nick[LD_PREFIX_MAX + 16];
        snprintf(nick, sizeof nick, "%sr%u", o->nick_prefix, r->abusers);
        if (o->hproto == LD_HP_CHAT)
            (void)ld_hs_chat_register(fd, nick, NULL, 5000, why, sizeof why);
        r->sent += push_big(o, fd);
        ld_hs_close_rst(fd); /* the server is writing to us now */
        r->abusers++;
        ld_sleep_ns(100 * NS_PER_MS);
    }
    snprintf(r->note, sizeof r->note, "%u connections reset (SO_LINGER 0) mid-write",
             r->abusers);
}

/* ---- connect-flood ---- */

struct flood {
    int *fd;
    uint64_t *t;             /* connect started; 0 once it completed */
    unsigned n, cap, inflight;
    uint64_t t0, first_cut_ns;
};

/* The i-th flood source, 127.b.c.d with b >= 1: never 127.0.0.1, never a
 * .0 or .255 host byte. */
static void flood_src(unsigned i, struct sockaddr_in *sa)
{
    uint32_t d = 1 + i % 254, c = (i / 254) % 256, b = 1 + i / (254 * 256);
    *sa = (struct sockaddr_in){ .sin_family = AF_INET };
    sa->sin_addr.s_addr = htonl(0x7f000000u | b << 16 | c << 8 | d);
}

static unsigned flood_cap(const struct ld_opts *o)
{
    struct rlimit rl;
    unsigned cap = o->flood_conns;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)cap + 128)
        cap = rl.rlim_cur > 128 ? (unsigned)(rl.rlim_cur - 128) : 1;
    return cap;
}

static void flood_refused(struct flood *f, struct ld_hs_case_result *r, unsigned i, uint64_t now,
                          bool after_accept)
{
    if (after_accept)
        r->cut++;
    else
        r->refused++;
    if (!f->first_cut_ns)
        f->first_cut_ns = now;
    close(f->fd[i]);
    f->fd[i] = -1;
}

static void flood_open(const struct ld_opts *o, struct flood *f, struct ld_hs_case_result *r)
{
    uint64_t now = ld_now_ns();
    while (f->n < f->cap && f->inflight < 256) {
        struct sockaddr_in src;
        flood_src(f->n, &src);
        struct ld_hs_sockopt so = { .src = (const struct sockaddr *)&src, .srclen = sizeof src };
        int fd = ld_hs_connect_start(o, o->targets[0].addr.ss_family == AF_INET ? &so : NULL);
        f->fd[f->n] = fd < 0 ? -1 : fd;
        f->t[f->n] = fd < 0 ? 0 : now;
        f->n++;
        if (fd < 0) {
            r->refused++;
            if (!f->first_cut_ns)
                f->first_cut_ns = now;
        } else {
            f->inflight++;
        }
    }
}

static void flood_event(struct flood *f, struct ld_hs_case_result *r, unsigned i, short rev,
                        uint64_t now)
{
    if (f->t[i]) { /* connecting */
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(f->fd[i], SOL_SOCKET, SO_ERROR, &err, &len);
        double ms = (double)(now - f->t[i]) / 1e6;
        f->t[i] = 0;
        f->inflight--;
        if (err) {
            flood_refused(f, r, i, now, false);
            return;
        }
        r->opened++;
        r->connect_max_ms = ms > r->connect_max_ms ? ms : r->connect_max_ms;
        return;
    }
    char buf[4096];
    ssize_t k = recv(f->fd[i], buf, sizeof buf, MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN) || (rev & (POLLHUP | POLLERR)))
        flood_refused(f, r, i, now, true);
}

static void flood_turn(struct flood *f, struct pollfd *pf, struct ld_hs_case_result *r)
{
    for (unsigned i = 0; i < f->n; i++)
        pf[i] = (struct pollfd){ .fd = f->fd[i], .events = f->t[i] ? POLLOUT : POLLIN };
    if (poll(pf, f->n, 10) <= 0)
        return;
    uint64_t now = ld_now_ns();
    for (unsigned i = 0; i < f->n; i++)
        if (pf[i].revents && f->fd[i] >= 0)
            flood_event(f, r, i, pf[i].revents, now);
}

static void run_connect_flood(const struct ld_opts *o, struct ld_hs_case_result *r)
{
    struct flood f = { .cap = flood_cap(o), .t0 = ld_now_ns() };
    f.fd = calloc(f.cap, sizeof *f.fd);
    f.t = calloc(f.cap, sizeof *f.t);
    struct pollfd *pf = calloc(f.cap, sizeof *pf);
    uint64_t end = f.t0 + ld_secs_ns(o->duration);
    while (f.fd && f.t && pf && ld_now_ns() < end) {
        flood_open(o, &f, r);
        flood_turn(&f, pf, r);
    }
    for (unsigned i = 0; i < f.n; i++) {
        if (f.fd[i] >= 0 && f.t[i])
            r->pending++;
        if (f.fd[i] >= 0)
            close(f.fd[i]);
    }
    r->abusers = f.n;
    r->cut_ms = f.first_cut_ns ? (double)(f.first_cut_ns - f.t0) / 1e6 : 0;
    snprintf(r->note, sizeof r->note, "%u connections tried%s", f.n,
             o->targets[0].addr.ss_family == AF_INET ? ", each from its own 127.x.y.z"
                                          : " from one address (IPv6 target)");
    free(f.fd);
    free(f.t);
    free(pf);
}

void ld_hs_case_run(const struct ld_opts *o, enum ld_hcase id, struct ld_hs_case_result *r)
{
    if (id == HC_RESET)
        run_reset(o, r);
    else if (id == HC_CONNECT_FLOOD)
        run_connect_flood(o, r);
    else
        run_generic(o, id, r);
}
