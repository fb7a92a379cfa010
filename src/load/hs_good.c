/* hs_good.c - hostile mode's well-behaved clients: one thread, an epoll
 * loop over -c connections, each sending a probe and waiting for its
 * answer before the next (at most --rate probes a second in all).
 *
 * echo: the probe is a line; the answer is the same line back, byte for
 * byte. chat: the client is registered and on #<chan-prefix>0; the probe
 * is a PRIVMSG to that channel (the traffic a never-reader there piles
 * up) and a PING; the answer is the PONG. A probe counts in the phase it
 * was sent in; one still owed when its phase ends counts its age then, so
 * a server that stalls shows up in the p99 instead of hiding in it. */
#include "hostile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"

#define PROBE_MAX 512

struct gconn {
    int fd;
    unsigned idx;
    bool dead;
    uint64_t seq;
    uint64_t sent_ns;        /* the probe owed was sent then; 0 = none owed */
    int sent_slot;           /* ... in this phase */
    uint64_t next_ns;        /* the next probe is due */
    char probe[PROBE_MAX];   /* echo: what must come back */
    size_t probe_len, got;
    char token[32];          /* chat: the PONG's token */
    char in[4096];           /* chat: a partial line */
    size_t in_len;
};

struct gloop {
    struct ld_hs_good *g;
    struct gconn *c;
    unsigned n;
    int ep;
    int slot, last_slot;
    uint64_t interval_ns;
    char chan[LD_PREFIX_MAX + 3];
};

static struct ld_hs_good_stats *cur(struct gloop *l)
{
    return l->slot >= 0 ? &l->g->stats[l->slot] : NULL;
}

static void lose(struct gloop *l, struct gconn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (l->last_slot >= 0)
        l->g->stats[l->last_slot].lost++;
}

static void answered(struct gloop *l, struct gconn *c, uint64_t now)
{
    struct ld_hs_good_stats *s = cur(l);
    if (s && c->sent_slot == l->slot) {
        ld_hist_record(&s->lat, now - c->sent_ns);
        s->answered++;
    }
    c->sent_ns = 0;
}

/* ---- probes ---- */

static void make_probe(struct gloop *l, struct gconn *c)
{
    const struct ld_opts *o = l->g->o;
    size_t size = o->size < 16 ? 16 : o->size;
    int n;
    if (o->hproto == LD_HP_ECHO) {
        n = snprintf(c->probe, sizeof c->probe, "hsp %u %llu ", c->idx,
                     (unsigned long long)c->seq);
        while ((size_t)n < size - 1) {
            c->probe[n] = (char)('a' + (c->seq + (uint64_t)n) % 26);
            n++;
        }
        c->probe[n++] = '\n';
    } else {
        snprintf(c->token, sizeof c->token, "hsp%ux%llu", c->idx, (unsigned long long)c->seq);
        int head = snprintf(c->probe, sizeof c->probe, "PRIVMSG %s :", l->chan);
        n = head + snprintf(c->probe + head, sizeof c->probe - (size_t)head, "probe %s ",
                            c->token);
        while ((size_t)(n - head) < size) {
            c->probe[n] = (char)('a' + (c->seq + (uint64_t)n) % 26);
            n++;
        }
        n += snprintf(c->probe + n, sizeof c->probe - (size_t)n, "\r\nPING :%s\r\n", c->token);
    }
    c->probe_len = (size_t)n;
    c->got = 0;
}

static void send_probe(struct gloop *l, struct gconn *c, uint64_t now)
{
    make_probe(l, c);
    /* Tiny and paced: a probe the kernel cannot take at once means the
     * server stopped reading us; it counts as owed until answered. */
    ssize_t w = send(c->fd, c->probe, c->probe_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN) {
        lose(l, c);
        return;
    }
    c->seq++;
    c->sent_ns = now;
    c->sent_slot = l->slot;
    c->next_ns = now + l->interval_ns;
    if (cur(l))
        cur(l)->probes++;
}

/* ---- answers ---- */

static void echo_in(struct gloop *l, struct gconn *c, const char *p, size_t n, uint64_t now)
{
    if (!c->sent_ns || c->got + n > c->probe_len || memcmp(c->probe + c->got, p, n) != 0) {
        if (cur(l))
            cur(l)->bad++;
        lose(l, c); /* out of step: nothing more from it can be timed */
        return;
    }
    c->got += n;
    if (c->got == c->probe_len)
        answered(l, c, now);
}

static void chat_line(struct gloop *l, struct gconn *c, char *line, uint64_t now)
{
    char *sp = strchr(line, ' ');
    const char *cmd = line[0] == ':' && sp ? sp + 1 : line;
    if (strncmp(cmd, "PING ", 5) == 0) {
        char pong[600];
        int k = snprintf(pong, sizeof pong, "PONG %s\r\n", cmd + 5);
        (void)send(c->fd, pong, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT);
        return;
    }
    size_t ll = strlen(line), tl = strlen(c->token);
    if (c->sent_ns && strncmp(cmd, "PONG ", 5) == 0 && ll >= tl &&
        strcmp(line + ll - tl, c->token) == 0)
        answered(l, c, now);
}

static void chat_in(struct gloop *l, struct gconn *c, const char *p, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\n') {
            c->in[c->in_len] = '\0';
            if (c->in_len && c->in[c->in_len - 1] == '\r')
                c->in[c->in_len - 1] = '\0';
            chat_line(l, c, c->in, now);
            c->in_len = 0;
        } else if (c->in_len < sizeof c->in - 1) {
            c->in[c->in_len++] = ch;
        }
    }
}

static void readable(struct gloop *l, struct gconn *c, uint64_t now)
{
    char buf[16384];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            lose(l, c);
            return;
        }
        if (r < 0)
            return;
        if (l->g->o->hproto == LD_HP_ECHO)
            echo_in(l, c, buf, (size_t)r, now);
        else
            chat_in(l, c, buf, (size_t)r, now);
        if (c->dead)
            return;
    }
}

/* ---- phases and the loop ---- */

/* The phase ends: what is still owed counts its age in it. */
static void close_slot(struct gloop *l, uint64_t now)
{
    struct ld_hs_good_stats *s = cur(l);
    for (unsigned i = 0; s && i < l->n; i++) {
        struct gconn *c = &l->c[i];
        if (!c->dead && c->sent_ns && c->sent_slot == l->slot) {
            ld_hist_record(&s->lat, now - c->sent_ns);
            s->owed++;
        }
    }
}

static void follow_phase(struct gloop *l, uint64_t now)
{
    int p = atomic_load(&l->g->phase);
    if (p == l->slot)
        return;
    close_slot(l, now);
    l->slot = p;
    if (p >= 0)
        l->last_slot = p;
    atomic_store(&l->g->acked, p);
}

static void turn(struct gloop *l)
{
    uint64_t now = ld_now_ns(), wake = now + 10 * NS_PER_MS;
    follow_phase(l, now);
    for (unsigned i = 0; i < l->n; i++) {
        struct gconn *c = &l->c[i];
        if (!c->dead && !c->sent_ns && now >= c->next_ns)
            send_probe(l, c, now);
        if (!c->dead && !c->sent_ns && c->next_ns < wake)
            wake = c->next_ns;
    }
    struct epoll_event ev[64];
    int k = ld_epoll_wait(l->ep, ev, 64, wake > now ? wake - now : 0);
    now = ld_now_ns();
    for (int i = 0; i < k; i++)
        readable(l, &l->c[ev[i].data.u32], now);
}

static int setup_one(struct gloop *l, struct gconn *c)
{
    const struct ld_opts *o = l->g->o;
    c->fd = ld_hs_connect(o, NULL, 5000);
    if (c->fd < 0) {
        snprintf(l->g->why, sizeof l->g->why, "well-behaved client %u: connect: %s", c->idx,
                 strerror(-c->fd));
        return -1;
    }
    if (o->hproto == LD_HP_CHAT) {
        char nick[LD_PREFIX_MAX + 16];
        snprintf(nick, sizeof nick, "%sg%u", o->nick_prefix, c->idx);
        if (ld_hs_chat_register(c->fd, nick, l->chan, 10000, l->g->why, sizeof l->g->why) < 0)
            return -1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = c->idx };
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int setup(struct gloop *l)
{
    uint64_t now = ld_now_ns();
    for (unsigned i = 0; i < l->n; i++) {
        struct gconn *c = &l->c[i];
        *c = (struct gconn){ .fd = -1, .idx = i };
        if (setup_one(l, c) < 0)
            return -1;
        c->next_ns = now + l->interval_ns * i / l->n; /* spread out */
    }
    return 0;
}

static void *good_main(void *arg)
{
    struct ld_hs_good *g = arg;
    struct gloop l = { .g = g, .n = g->o->conns, .slot = -1, .last_slot = -1 };
    l.interval_ns = (uint64_t)((double)NS_PER_S * g->o->conns / g->o->rate);
    ld_hs_chan(g->o, l.chan, sizeof l.chan);
    l.c = calloc(l.n, sizeof *l.c);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!l.c || l.ep < 0 || setup(&l) < 0) {
        if (!g->why[0])
            snprintf(g->why, sizeof g->why, "well-behaved clients: out of memory");
        atomic_store(&g->failed, true);
    } else {
        atomic_store(&g->ready, true);
        while (!atomic_load(&g->stop))
            turn(&l);
    }
    for (unsigned i = 0; l.c && i < l.n; i++)
        if (l.c[i].fd >= 0)
            close(l.c[i].fd);
    free(l.c);
    if (l.ep >= 0)
        close(l.ep);
    return NULL;
}

int ld_hs_good_start(struct ld_hs_good *g, const struct ld_opts *o)
{
    g->o = o;
    atomic_init(&g->phase, -1);
    atomic_init(&g->acked, -1);
    atomic_init(&g->stop, false);
    atomic_init(&g->ready, false);
    atomic_init(&g->failed, false);
    for (unsigned i = 0; i <= HC_COUNT; i++)
        ld_hist_reset(&g->stats[i].lat);
    int err = pthread_create(&g->thread, NULL, good_main, g);
    if (err) {
        snprintf(g->why, sizeof g->why, "pthread_create: %s", strerror(err));
        return -1;
    }
    while (!atomic_load(&g->ready) && !atomic_load(&g->failed))
        ld_sleep_ns(NS_PER_MS);
    if (!atomic_load(&g->failed))
        return 0;
    pthread_join(g->thread, NULL);
    return -1;
}

void ld_hs_good_phase(struct ld_hs_good *g, int slot)
{
    atomic_store(&g->phase, slot);
    while (atomic_load(&g->acked) != slot)
        ld_sleep_ns(NS_PER_MS / 2);
}

void ld_hs_good_stop(struct ld_hs_good *g)
{
    atomic_store(&g->stop, true);
    pthread_join(g->thread, NULL);
}
