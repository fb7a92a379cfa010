/* fuzz_conn.c - the connection state machine (src/reactor/conn.c, its
 * timer and drop_oldest) against the fake backend of the unit tests, fed
 * a random sequence of what a backend and a protocol may do: bytes
 * arrive, EOF, hang-up, a write error, a partial write of k bytes, this
 * turn's flush, the end of a turn, time passing (timers fire), pause,
 * resume, close, a send and a shared chunk from outside any callback
 * (as a post or a timer would), a new connection. The protocol is
 * echo-like: each line it is given does what its first byte says (echo
 * it, pause, close, send a shared chunk, send a burst, arm or stop its
 * timer). One worker, no threads: the harness plays the loop, and the
 * backend: the unit tests' fake one, or one like io_uring's (a send in
 * flight pins the head of the queue; a connection closed under it is
 * held until its completion).
 *
 * Properties beyond "no crash" (ASan, UBSan, LeakSanitizer):
 * - a live connection's queue never holds more than output_max, plus
 *   the protocol's note on a drop_oldest listener (and one more note
 *   per segment a send in flight holds: see check_queue; checked after
 *   every event and every send the protocol makes);
 * - on_open runs once per connection, on_close exactly once per opened
 *   connection, never inside another callback, and no callback reaches
 *   a connection after its on_close;
 * - on_data is never offered input on a paused, closing or closed
 *   connection;
 * - the server's count of admitted connections is back to 0 at the end.
 *
 * Input: two bytes of limits (output_max, the overflow policy, the
 * backend, water marks, max_line), then events: a byte whose low nibble is the event
 * and whose high bits pick the connection, and the event's arguments. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/outq.h"
#include "muxd/chunk.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/server.h"

#include "../unit/fake_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCONNS 4
#define NOTE_MAX 24     /* the longest overflow note this protocol makes */
#define MAX_STATES 64   /* connections one input may open */

/* The protocol's state of one connection: kept (not freed) after its
 * on_close, so a late callback is seen as one, not as a use after free. */
struct st {
    struct mx_conn *c;
    bool closed;
    bool pause_to_drain;    /* resume itself at on_drain */
    bool close_at_timer;
};

static struct {
    struct mx_server srv;
    struct mx_worker w;
    struct mx_listener ls;
    uint64_t now;
    uint64_t tags[NCONNS];  /* the harness's handle on each (a tag may be 0) */
    bool has[NCONNS];
    struct st *states[MAX_STATES];
    unsigned nstates;
    unsigned opened, closed;
    bool in_callback;
    struct mx_chunk *shared;
} F;

/* Bytes of the head segments a send in flight holds. */
static size_t pinned_bytes(const struct mx_conn *c)
{
    struct iovec iov[8];
    int n = mx__outq_iov(&c->out, iov, (int)c->out.pinned);
    size_t b = 0;
    for (int i = 0; i < n; i++)
        b += iov[i].iov_len;
    return b;
}

/* drop_oldest may leave a note past output_max, and never touches what a
 * send in flight holds. A note already in flight cannot grow, so the
 * next drop puts a new one after it: with a peer that takes fewer bytes
 * per send than a note has, every send in flight may hold one more note
 * (found by this harness; bounded by the segments one send holds, 16 on
 * io_uring, and each note goes out as it is written). */
static void check_queue(const struct mx_conn *c)
{
    if (c->flags & MX_C_DEAD)
        return;
    size_t cap = F.w.lim.output_max;
    if (F.ls.overflow == MX_OVERFLOW_DROP_OLDEST)
        cap += NOTE_MAX * (1 + (size_t)c->out.pinned);
    if (c->out.bytes > cap) {
        fprintf(stderr, "queue %zu over %zu\n", c->out.bytes, cap);
        abort();
    }
}

static struct st *enter(struct mx_conn *c)
{
    if (F.in_callback)
        abort(); /* callbacks never nest */
    struct st *s = mx_conn_data(c);
    if (!s || s->closed || s->c != c)
        abort(); /* a callback after on_close, or for a stranger */
    F.in_callback = true;
    return s;
}

static void leave(struct mx_conn *c)
{
    check_queue(c);
    F.in_callback = false;
}

/* A send of n bytes of p, then the queue's bound. */
static void send_bytes(struct mx_conn *c, const void *p, size_t n)
{
    mx_conn_send(c, p, n);
    check_queue(c);
}

static void on_timer(struct mx_conn *c, void *arg)
{
    struct st *s = enter(c);
    if (arg != s)
        abort();
    send_bytes(c, "tick\n", 5);
    if (s->close_at_timer)
        mx_conn_close(c, NULL);
    else
        mx_conn_resume(c);
    leave(c);
}

static int p_open(struct mx_conn *c)
{
    if (F.in_callback || F.nstates == MAX_STATES)
        abort();
    struct st *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->c = c;
    F.states[F.nstates++] = s;
    F.opened++;
    mx_conn_set_data(c, s);
    return 0;
}

/* One line (with its LF) does what its first byte says. */
static void line(struct mx_conn *c, struct st *s, const char *p, size_t n)
{
    switch (p[0]) {
    case 'p':
        mx_conn_pause(c);
        s->pause_to_drain = n > 2 && p[1] == 'd';
        break;
    case 'c':
        mx_conn_close(c, n > 2 ? "asked" : NULL);
        break;
    case 's':
        mx_conn_send_chunk(c, F.shared);
        check_queue(c);
        break;
    case 'b':   /* a burst: the line n*k times, over output_max soon */
        for (int k = 0; k < (n > 1 ? (unsigned char)p[1] % 16 : 1); k++)
            send_bytes(c, p, n);
        break;
    case 't':
        s->close_at_timer = n > 2 && p[2] == 'c';
        mx_conn_timer(c, n > 1 ? (unsigned char)p[1] : 0, on_timer, s);
        break;
    case 'T':
        mx_conn_timer_stop(c);
        break;
    default:
        send_bytes(c, p, n);
        break;
    }
}

static size_t p_data(struct mx_conn *c, const char *p, size_t n)
{
    struct st *s = enter(c);
    if (c->flags & (MX_C_PAUSED_USER | MX_C_CLOSING | MX_C_DEAD))
        abort(); /* input offered where none may go */
    size_t used = 0;
    /* Stops at the first line that paused or closed: the rest is kept. */
    while (used < n && !(c->flags & (MX_C_PAUSED_USER | MX_C_CLOSING | MX_C_DEAD))) {
        const char *lf = memchr(p + used, '\n', n - used);
        if (!lf)
            break;
        size_t ll = (size_t)(lf - (p + used)) + 1;
        line(c, s, p + used, ll);
        used += ll;
    }
    leave(c);
    return used;
}

static void p_drain(struct mx_conn *c)
{
    struct st *s = enter(c);
    if (c->out.bytes != 0 || (c->flags & (MX_C_CLOSING | MX_C_DEAD)))
        abort(); /* "the queue has emptied; not called while closing" */
    if (s->pause_to_drain) {
        s->pause_to_drain = false;
        mx_conn_resume(c);
    }
    leave(c);
}

static void p_close(struct mx_conn *c)
{
    struct st *s = enter(c);
    if (!(c->flags & MX_C_DEAD))
        abort();
    if (mx_conn_send(c, "x", 1) != -ECONNRESET)
        abort(); /* "sends fail" */
    s->closed = true;
    F.closed++;
    F.in_callback = false;
}

static size_t p_note(struct mx_conn *c, uint64_t dropped, char *buf, size_t cap)
{
    (void)c;
    int n = snprintf(buf, cap, "[%llu dropped]\n", (unsigned long long)dropped);
    if (n < 0 || (size_t)n >= cap || n > NOTE_MAX)
        abort();
    return (size_t)n;
}

static const struct mx_proto proto = {
    .name = "fz", .on_open = p_open, .on_data = p_data, .on_drain = p_drain,
    .on_close = p_close, .overflow_note = p_note,
};

/* ---- an io_uring-like backend -------------------------------------------- */

/* Half of the inputs play a backend like io_uring's instead of the fake
 * one: a flush pins the queue's head segments in one send "in flight"
 * (out.pinned: drop_oldest may not touch them); its completion, an event
 * of the input, writes some of them (a short send) or fails; a
 * connection closed with a send in flight is held (detach says so) and
 * released by that completion. */
enum { R_SEND = 1, R_GONE = 2 };

static void ring_flush(struct mx_worker *w, struct mx_conn *c)
{
    (void)w;
    fake.flushes++;
    if ((c->backend_state & R_SEND) || c->out.bytes == 0)
        return;
    struct iovec iov[8];
    c->out.pinned = (uint32_t)mx__outq_iov(&c->out, iov, 8);
    c->backend_state |= R_SEND;
}

static bool ring_detach(struct mx_worker *w, struct mx_conn *c)
{
    (void)w;
    c->backend_state |= R_GONE;
    return c->backend_state & R_SEND;
}

static const struct mx_backend_ops ring_be = {
    .name = "ring", .init = fb_init, .fini = fb_fini, .attach = fb_attach,
    .set_recv = fb_set_recv, .flush = ring_flush, .detach = ring_detach, .wait = fb_wait,
    .dispatch = fb_dispatch,
};

/* The send in flight completes: k of its bytes went out (at most what it
 * holds), or it failed. As backend_uring.c's on_send. */
static void ring_complete(struct mx_conn *c, size_t k, bool fail)
{
    if (!(c->backend_state & R_SEND))
        return;
    size_t held = pinned_bytes(c);
    c->backend_state &= ~R_SEND;
    c->out.pinned = 0;
    if (c->backend_state & R_GONE) {
        mx__conn_release(c);
        return;
    }
    if (fail) {
        mx__conn_fail(c, -EPIPE);
        return;
    }
    if (k > held)
        k = held;
    mx__outq_consume(&c->out, k);
    if (mx__conn_sent(c, k))
        ring_flush(c->w, c); /* the rest of a short send, or what came since */
}

/* ---- the backend's and the loop's side ----------------------------------- */

static void open_conn(unsigned i)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    close(sv[1]); /* nothing is written to the socket: the backend is fake */
    atomic_fetch_add(&F.srv.nconns, 1);
    unsigned had = F.nstates;
    mx__conn_create(&F.w, sv[0], &F.ls, 0);
    /* on_open made the new connection's state. */
    if (F.nstates != had + 1)
        abort();
    F.tags[i] = mx__conn_tag(F.states[had]->c);
    F.has[i] = true;
}

/* The connection behind handle i, if still open. */
static struct mx_conn *conn_at(unsigned i)
{
    return F.has[i] ? mx__worker_lookup(&F.w, F.tags[i]) : NULL;
}

static void flush_dirty(void)
{
    struct mx_conn *d;
    while ((d = F.w.dirty)) {
        F.w.dirty = d->next_dirty;
        mx__conn_flush(d);
    }
}

static void written(struct mx_conn *c, size_t k)
{
    if (F.w.be == &ring_be) {
        ring_complete(c, k, false);
        return;
    }
    if (k > c->out.bytes)
        k = c->out.bytes;
    if (k == 0)
        return;
    mx__outq_consume(&c->out, k);
    mx__conn_sent(c, k);
}

static void check_all(void)
{
    for (unsigned i = 0; i < NCONNS; i++) {
        struct mx_conn *c = conn_at(i);
        if (c)
            check_queue(c);
    }
}

/* Reads an argument byte (0 past the end). */
static uint8_t arg(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

static void event(const uint8_t **p, const uint8_t *end)
{
    uint8_t op = arg(p, end);
    unsigned i = (op >> 4) % NCONNS;
    struct mx_conn *c = conn_at(i);
    if ((op & 15) == 12) {
        if (!c && F.nstates < MAX_STATES)
            open_conn(i);
        return;
    }
    if ((op & 15) == 10) {
        flush_dirty();
        return;
    }
    if ((op & 15) == 11) {
        F.now += arg(p, end) * 4u;
        F.w.now_ms = F.now;
        mx__timers_run(&F.w.timers, F.now);
        mx__worker_end_turn(&F.w);
        return;
    }
    if (!c) {
        (*p) += *p < end; /* keep the rest of the input aligned as it was */
        return;
    }
    uint8_t a = arg(p, end);
    if (c->flags & MX_C_DEAD) {
        /* Closed, held by its send in flight: only that can come. */
        if ((op & 15) == 4 || (op & 15) == 5)
            ring_complete(c, a, false);
        return;
    }
    switch (op & 15) {
    case 0: { /* bytes arrive: a bytes of the input */
        size_t n = a;
        if (n > (size_t)(end - *p))
            n = (size_t)(end - *p);
        /* A read may race a pause (one epoll read, io_uring receives in
         * flight); otherwise the backend reads only when asked to. */
        if ((c->flags & MX_C_RECV_ON) || (op & 0x80))
            mx__conn_recv(c, (const char *)*p, n);
        *p += n;
        break;
    }
    case 1:
        if (!(c->flags & MX_C_EOF))
            mx__conn_eof(c);
        break;
    case 2:
        mx__conn_hangup(c);
        break;
    case 3:
        if (F.w.be == &ring_be && (a & 2))
            ring_complete(c, 0, true);
        else
            mx__conn_fail(c, a & 1 ? -ECONNRESET : -EPIPE);
        break;
    case 4:
        written(c, a);
        break;
    case 5:
        written(c, (size_t)a * 64);
        break;
    case 6:
        mx_conn_pause(c);
        break;
    case 7:
        mx_conn_resume(c);
        break;
    case 8:
        mx_conn_close(c, a & 1 ? "closed" : NULL);
        break;
    case 9: {
        char buf[256];
        memset(buf, 'o', a);
        if (a & 1)
            mx_conn_send_chunk(c, F.shared);
        else
            mx_conn_send(c, buf, a);
        break;
    }
    default:
        break;
    }
}

static void setup(const uint8_t **p, const uint8_t *end)
{
    uint8_t a = arg(p, end), b = arg(p, end);
    memset(&F, 0, sizeof F);
    mx_server_opts_default(&F.srv.opts);
    F.srv.opts.output_max = 64 + (size_t)(a & 31) * 64;      /* 64 .. 2048 */
    F.srv.opts.output_high_water = F.srv.opts.output_max / (1 + (b & 3));
    F.srv.opts.output_low_water = F.srv.opts.output_high_water / (2 + ((b >> 2) & 3));
    F.srv.opts.max_line = 16 + (size_t)((b >> 4) & 15) * 16;
    F.srv.opts.shutdown_timeout_ms = 300;
    F.srv.opts.idle_timeout_ms = 0;
    snprintf(F.ls.name, sizeof F.ls.name, "fz");
    F.ls.fd = -1;
    F.ls.proto = &proto;
    F.ls.overflow = (a & 32) ? MX_OVERFLOW_DROP_OLDEST
                             : (a & 64) ? MX_OVERFLOW_PAUSE_PRODUCER : MX_OVERFLOW_DISCONNECT;
    if (mx__worker_init(&F.w, &F.srv, 0, (a & 128) ? &ring_be : &fake_be) < 0)
        abort();
    F.w.tid = pthread_self();
    F.now = F.w.now_ms = 1000;
    F.shared = mx_chunk_copy("a shared line\n", 14);
    if (!F.shared)
        abort();
}

static void teardown(void)
{
    mx__worker_end_turn(&F.w);
    for (uint32_t i = 0; i < F.w.nslots; i++)
        if (F.w.slots[i])
            mx__conn_abort(F.w.slots[i], NULL);
    /* Those held by a send in flight go when it completes. */
    for (uint32_t i = 0; i < F.w.nslots; i++)
        if (F.w.slots[i])
            ring_complete(F.w.slots[i], 0, false);
    mx__worker_end_turn(&F.w);
    if (F.w.nconns != 0)
        abort(); /* a connection never released */
    if (F.opened != F.nstates || F.closed != F.opened) {
        fprintf(stderr, "opened %u, closed %u\n", F.opened, F.closed);
        abort();
    }
    if (atomic_load(&F.srv.nconns) != 0)
        abort(); /* a connection left uncounted, or counted out twice */
    mx__worker_fini(&F.w);
    mx__outq_thread_cleanup();
    mx_chunk_unref(F.shared);
    for (unsigned i = 0; i < F.nstates; i++)
        free(F.states[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        mx_log_set_level(MX_LOG_ERROR);
        quiet = true;
    }
    const uint8_t *p = data, *end = data + size;
    setup(&p, end);
    open_conn(0);
    open_conn(1);
    while (p < end) {
        event(&p, end);
        check_all();
    }
    teardown();
    return 0;
}
