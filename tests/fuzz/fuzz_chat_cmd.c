/* fuzz_chat_cmd.c - the chat service's commands (src/proto/chat/, from
 * chat_cmd.c's table down) through real connections: a server of two
 * workers on the fake backend of the unit tests (tests/unit/chat_fixture.h,
 * as test_chat_cluster.c and fuzz_cluster_msg.c make it), the harness
 * playing both loops on one thread (the workers' posts to each other go through their
 * real inboxes, drained where a loop would), a chat listener with an
 * operator block (a crypt hash made at start), cloaking off, a small
 * output_max, and two to four connections.
 *
 * Input: one byte of settings (flood control, a password, utf8_only, the
 * overflow policy, output_max), then records: a header byte (the
 * connection, and what the backend does after the bytes), a length, an
 * argument byte, then that many bytes for the connection (mx__conn_recv).
 * After the bytes the backend may: write part of the connection's queue,
 * write everything, flush (the worker's flush list), end the turn (time
 * passes by the argument: timers fire; inboxes drained), close the
 * connection (error, EOF, hang-up), open a new one on either worker, or
 * drain the inboxes. DIE's hook stops the server as SIGTERM would (a stop
 * message to each worker), so on_stop runs too.
 *
 * Properties beyond "no crash" (ASan, UBSan, LeakSanitizer, and chat's
 * own owner and nesting checks, on in this build):
 * - after every record, each live connection's queue is within
 *   output_max (plus the overflow note on a drop_oldest listener);
 * - once the loops are settled (every owed on_close run), chat's counts
 *   of registered users (LUSERS, muxd_chat_users), of clients and of
 *   nicks equal the registered, the opened, and the named connections
 *   still live and not quit; every channel has members, each of them
 *   live, on it in its own list, and counted once in its worker's
 *   per_worker and local list; every nick finds its own client;
 * - the server's count of admitted connections is back to 0 at the end,
 *   and everything is freed (LeakSanitizer) once all connections are
 *   closed, the turns ended, the chat state and the workers freed.
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/outq.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "proto/chat/chat.h"
#include "proto/chat/chat_int.h"
#include "reactor/clock.h"
#include "reactor/conn.h"
#include "reactor/server.h"

#include "../unit/chat_fixture.h" /* NWORKERS (2), the fake backend */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCONNS 4
#define OPER_PASSWORD "sesame-oper"
/* The longest overflow note chat makes (chat.c's overflow_note). */
#define NOTE_MAX 512

static char oper_hash[128];

/* The server, its workers, the chat, the clock. */
static struct chat_fixture S;
static struct {
    uint64_t tags[NCONNS];      /* the harness's handle on each (a tag may be 0) */
    bool has[NCONNS];
    unsigned on_worker[NCONNS];
    bool die_asked, stopping;
    unsigned rehashes;
} F;

static void rehash_hook(void)
{
    F.rehashes++;
}

/* The daemon's hook signals its main thread, which stops the server: the
 * stop reaches the workers as messages, after this command. */
static void die_hook(void)
{
    F.die_asked = true;
}

static struct mx_conn *conn_at(unsigned i)
{
    return F.has[i] ? mx__worker_lookup(&S.w[F.on_worker[i]], F.tags[i]) : NULL;
}

/* An fd whose peer address is a.b.c.d or ::1 (getpeername of a connected
 * UDP socket: no packet is sent), so K-lines and operator host masks have
 * addresses to match; nothing is written to it (the backend is fake). */
static int peer_fd(unsigned which)
{
    int fd;
    if (which == 3) {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(9),
                                  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        fd = socket(AF_INET6, SOCK_DGRAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
    } else {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
                                 .sin_addr.s_addr = htonl(0x7f000001u + which) };
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
    }
    /* No IPv6 (or no loopback): an address-less fd will do. */
    if (fd >= 0)
        close(fd);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        abort();
    return fd;
}

static void open_conn(unsigned i, unsigned worker)
{
    struct mx_conn *c = chat_fx_open(&S, worker, peer_fd(i));
    F.has[i] = c != NULL;
    F.tags[i] = c ? mx__conn_tag(c) : 0;
    F.on_worker[i] = worker;
}

/* ---- the loops' side ----------------------------------------------------- */

static void flush_dirty(struct mx_worker *w)
{
    struct mx_conn *d;
    while ((d = w->dirty)) {
        w->dirty = d->next_dirty;
        mx__conn_flush(d);
    }
}

/* Until nothing is owed: inboxes drained, on_close calls and flushes run,
 * the closed freed, on both workers. */
static void settle(void)
{
    for (int round = 0; round < 1000; round++) {
        if (chat_fx_round(&S) == 0)
            return;
    }
    abort(); /* the workers keep posting to each other */
}

static void stop_server(void)
{
    struct mx_msg m = { .type = MX_MSG_STOP, .fd = -1 };
    for (unsigned k = 0; k < NWORKERS; k++)
        if (mx__inbox_post(&S.w[k].inbox, &m) < 0)
            abort();
    F.stopping = true;
}

/* FUZZ_CHAT_TRACE=1 in the environment prints what each client is sent
 * (to check what a seed does). */
static bool trace;

static void print_sent(const struct mx_conn *c, size_t k)
{
    struct iovec iov[64];
    int n = mx__outq_iov(&c->out, iov, 64);
    fprintf(stderr, "--- to w%u:%u\n", c->w->idx, c->slot);
    for (int i = 0; i < n && k; i++) {
        size_t m = iov[i].iov_len < k ? iov[i].iov_len : k;
        fwrite(iov[i].iov_base, 1, m, stderr);
        k -= m;
    }
}

static void written(struct mx_conn *c, size_t k)
{
    if (k > c->out.bytes)
        k = c->out.bytes;
    if (k == 0)
        return;
    if (trace)
        print_sent(c, k);
    chat_fx_written(c, k);
}

static void time_passes(unsigned ms)
{
    S.now += ms;
    for (unsigned k = 0; k < NWORKERS; k++) {
        S.w[k].now_ms = S.now;
        mx__timers_run(&S.w[k].timers, S.now);
    }
    settle();
}

/* ---- properties ---------------------------------------------------------- */

static void check_queues(void)
{
    size_t cap = S.srv.opts.output_max +
                 (S.srv.listeners[0].overflow == MX_OVERFLOW_DROP_OLDEST ? NOTE_MAX : 0);
    for (unsigned k = 0; k < NWORKERS; k++)
        for (uint32_t s = 0; s < S.w[k].nslots; s++) {
            struct mx_conn *c = S.w[k].slots[s];
            if (c && !(c->flags & MX_C_DEAD) && c->out.bytes > cap) {
                fprintf(stderr, "queue of %zu bytes over %zu\n", c->out.bytes, cap);
                abort();
            }
        }
}

/* The clients of the live connections that have not quit. */
#define MAX_LIVE 16
static unsigned live_clients(struct chat_client **out)
{
    unsigned n = 0;
    for (unsigned k = 0; k < NWORKERS; k++)
        for (uint32_t s = 0; s < S.w[k].nslots; s++) {
            struct mx_conn *c = S.w[k].slots[s];
            struct chat_client *cl = c ? c->data : NULL;
            /* A client that quit is counted out at once, while its
             * connection still flushes its ERROR line. */
            if (!cl || (cl->flags & CL_GONE))
                continue;
            if (n == MAX_LIVE)
                abort();
            out[n++] = cl;
        }
    return n;
}

/* Settled: every closed connection has had its on_close. Chat's counts
 * and tables against the live connections. */
static void check_counts(void)
{
    struct chat_client *live[MAX_LIVE];
    unsigned nlive = live_clients(live);
    chat_fx_check_tables(S.chat, live, nlive);
}

/* ---- set-up and teardown ------------------------------------------------- */

static void setup(uint8_t cfg)
{
    memset(&F, 0, sizeof F);
    struct mx_server *s = &S.srv;
    /* 2 to 16 KiB: chat's SendQ is 1 KiB less, so replies overflow it. */
    chat_fx_server(&S, 2048 + (size_t)(cfg >> 5) * 2048);
    s->opts.max_line = 1024;
    s->opts.shutdown_timeout_ms = 500;
    unsigned policy = ((cfg >> 3) & 3) % 3; /* disconnect, drop_oldest, pause_producer */
    const struct mx_chat_oper oper = { .name = "op", .hash = oper_hash, .hosts = "*@*",
                                       .die = true };
    const struct mx_chat_opts o = {
        .server_name = "fuzz.local",
        .motd = "Welcome.\nBe nice.",
        .password = (cfg & 2) ? "sesame" : NULL,
        .register_timeout_ms = 3000,
        .ping_interval_ms = 5000,
        .ping_timeout_ms = 3000,
        .flood_rate = (cfg & 1) ? 5 : 0,
        .flood_burst = 4,
        .max_channels = 3,
        .output_max = s->opts.output_max,
        .opers = &oper,
        .nopers = 1,
        .utf8_only = (cfg & 4) != 0,
        .rehash = rehash_hook,
        .die = die_hook,
        .max_klines = 8,
    };
    chat_fx_start(&S, &o);
    struct mx_listener *ls = chat_fx_listen(&S);
    ls->overflow = policy == 1 ? MX_OVERFLOW_DROP_OLDEST
                 : policy == 2 ? MX_OVERFLOW_PAUSE_PRODUCER : MX_OVERFLOW_DISCONNECT;
}

static void teardown(void)
{
    settle();
    chat_fx_abort_all(&S);
    settle();
    check_counts();
    if (atomic_load(&S.srv.nconns) != 0)
        abort(); /* a connection left uncounted, or counted out twice */
    /* Nothing is left in an inbox (settled): no post outlives the chat. */
    chat_fx_free(&S);
}

/* ---- records ------------------------------------------------------------- */

static void record(const uint8_t *h, const uint8_t *p, size_t n)
{
    unsigned i = h[0] & 3, act = (h[0] >> 2) & 7, a = h[2];
    struct mx_conn *c = conn_at(i);
    /* The backend reads only when asked to, but one read may race a
     * pause (bit 7: deliver it anyway). */
    if (c && n && ((c->flags & MX_C_RECV_ON) || (h[0] & 0x80)))
        mx__conn_recv(c, (const char *)p, n);
    c = conn_at(i);
    switch (act) {
    case 0:
        break;
    case 1:
        if (c)
            written(c, (size_t)a * 16);
        break;
    case 2:
        for (unsigned j = 0; j < NCONNS; j++)
            if ((c = conn_at(j)))
                written(c, c->out.bytes);
        break;
    case 3:
        for (unsigned k = 0; k < NWORKERS; k++)
            flush_dirty(&S.w[k]);
        break;
    case 4:
        time_passes(a * 25u);
        check_counts();
        break;
    case 5:
        if (c && a % 3 == 0)
            mx__conn_fail(c, (a & 8) ? -ECONNRESET : -EPIPE);
        else if (c && a % 3 == 1)
            mx__conn_eof(c);
        else if (c)
            mx__conn_hangup(c);
        break;
    case 6:
        if (!c && !F.stopping)
            open_conn(i, a & 1);
        break;
    case 7:
        for (unsigned k = 0; k < NWORKERS; k++)
            mx__worker_drain_inbox(&S.w[k]);
        break;
    }
    if (F.die_asked && !F.stopping)
        stop_server();
    check_queues();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!oper_hash[0]) {
        mx_log_set_level(MX_LOG_ERROR);
        trace = getenv("FUZZ_CHAT_TRACE") != NULL;
        /* rounds=1000, the least: OPER runs often here. */
        struct crypt_data cd = { 0 };
        const char *h = crypt_r(OPER_PASSWORD, "$6$rounds=1000$fuzzsalt$", &cd);
        if (!h || h[0] == '*')
            abort();
        snprintf(oper_hash, sizeof oper_hash, "%s", h);
    }
    if (size < 1)
        return 0;
    setup(data[0]);
    open_conn(0, 0);
    open_conn(1, 1);
    size_t off = 1;
    while (off + 3 <= size) {
        const uint8_t *h = data + off;
        size_t n = h[1];
        off += 3;
        if (n > size - off)
            n = size - off;
        record(h, data + off, n);
        off += n;
    }
    teardown();
    return 0;
}
