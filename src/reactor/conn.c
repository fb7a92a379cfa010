/* conn.c - the connection state machine and the public mx_conn_* calls. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/fault.h"
#include "io/backend.h"
#include "muxd/chunk.h"
#include "muxd/conn.h"
#include "muxd/log.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/conn_proxy.h"
#include "reactor/offload.h"
#include "reactor/server.h"
#include "reactor/tls.h"
#include "reactor/ws.h"

_Noreturn void mx__owner_violation(const char *fn)
{
    mx_error("%s called off the owner thread of the connection", fn);
    abort();
}

static const struct mx__limits *opts(const struct mx_conn *c)
{
    return &c->w->lim;
}

static bool alive(const struct mx_conn *c)
{
    return !(c->flags & (MX_C_DEAD | MX_C_CLOSING));
}

/* Receiving is wanted unless something holds it off; tell the backend only
 * when that changes. */

/* Input the protocol has not taken yet, past one line's worth: more
 * must wait in the kernel, not here. A paused protocol leaves its input
 * kept, and on io_uring each resume re-arms a receive that can bring in
 * a ring's worth before the next pause lands: without this a client that
 * flood control keeps pausing grew muxd's memory by tens of MB (found by
 * muxd-load hostile). Only once the protocol is open: before, c->in holds
 * a PROXY header or ciphertext for the TLS pool, bounded where it is. */
static bool backlogged(const struct mx_conn *c)
{
    return (c->flags & MX_C_OPENED) && c->in.len > opts(c)->max_line;
}

void mx__conn_update_recv(struct mx_conn *c)
{
    bool want = !(c->flags & (MX_C_PAUSED_USER | MX_C_PAUSED_HW | MX_C_EOF |
                              MX_C_CLOSING | MX_C_DEAD | MX_C_MOVING | MX_C_HELD)) &&
                !backlogged(c);
    bool on = c->flags & MX_C_RECV_ON;
    if (want == on)
        return;
    c->flags ^= MX_C_RECV_ON;
    c->w->be->set_recv(c->w, c, want);
}

void mx__conn_mark_dirty(struct mx_conn *c)
{
    if (c->flags & MX_C_DIRTY)
        return;
    c->flags |= MX_C_DIRTY;
    c->next_dirty = c->w->dirty;
    c->w->dirty = c;
}

/* "w1:17 127.0.0.1:5000": worker, slot and peer, for log lines a person
 * reads (the 64-bit id means little to one). Valid until the next call on
 * this thread. */
static const char *label(const struct mx_conn *c)
{
    static _Thread_local char buf[MX_ADDRSTRLEN + 24];
    snprintf(buf, sizeof buf, "w%u:%u %s", c->w->idx, c->slot, mx_conn_peer_str(c));
    return buf;
}

/* A close with a reason is a client event (timeouts, limits, protocol
 * errors): worth a line, not an alarm. Resource trouble is logged as a
 * warning where it happens. */
static void log_close(const struct mx_conn *c, const char *reason)
{
    if (reason)
        mx_info("conn %s closed: %s", label(c), reason);
    else
        mx_debug("conn %s closed", label(c));
}

/* Closes the socket now; the protocol hears of it at the end of the turn
 * (mx__conn_notify_closed), so no call it made ever frees its state under
 * it. The struct (and its output queue, which an in-flight send may still
 * be reading) lives on until the backend has no operation left on it:
 * then mx__conn_release queues it for freeing at the end of the turn.
 * A plain close(): the kernel still delivers what its send buffer holds,
 * then a FIN (unless unread input makes it reset), so a peer slow to read
 * after a graceful close gets it all; a cut drops only our own queue. */
static void finish_close(struct mx_conn *c)
{
    struct mx_worker *w = c->w;
    if (c->flags & MX_C_DEAD)
        return;
    c->flags |= MX_C_DEAD;
    mx__conn_undelay(c);
    mx__conn_timer_free(c);
    mx__offload_let_go(c);
    mx__worker_idle_unlink(w, c);
    mx__worker_owe_close(w, c);
    mx__server_conn_gone(w->srv, c->admit_ticket);
    mx__count(&w->stats.conns_closed, 1);
    mx__conn_quiet(c);
    bool held = w->be->detach(w, c);
    close(c->fd);
    c->fd = -1;
    if (!held)
        mx__conn_release(c);
}

void mx__conn_notify_closed(struct mx_conn *c)
{
    mx__offload_drop_pending(c);
    if ((c->flags & MX_C_OPENED) && c->ls->proto->on_close)
        c->ls->proto->on_close(c);
}

void mx__conn_release(struct mx_conn *c)
{
    struct mx_worker *w = c->w;
    mx__count(&w->stats.bytes_dropped, c->out.bytes);
    mx__outq_clear(&c->out);
    mx__worker_slot_release(w, c);
    c->next_dead = w->dead;
    w->dead = c;
}

void mx__conn_abort(struct mx_conn *c, const char *reason)
{
    if (c->flags & MX_C_DEAD)
        return;
    log_close(c, reason);
    finish_close(c);
}

/* Closed for the server's own trouble (memory, set-up), not the client's. */
static void abort_warn(struct mx_conn *c, const char *reason)
{
    if (c->flags & MX_C_DEAD)
        return;
    mx_warn("conn %s closed: %s", label(c), reason);
    finish_close(c);
}

void mx__conn_create(struct mx_worker *w, int fd, const struct mx_listener *ls, uint32_t ticket)
{
    struct mx_conn *c = MX_FAULT(MX_FAULT_ALLOC) ? NULL : calloc(1, sizeof *c);
    if (!c || mx__worker_slot_take(w, c) < 0) {
        mx_warn("dropping a new connection: out of memory");
        free(c);
        close(fd);
        mx__server_conn_gone(w->srv, ticket);
        return;
    }
    c->admit_ticket = ticket;
    c->w = w;
    c->ls = ls;
    c->fd = fd;
    socklen_t len = sizeof c->peer;
    if (getpeername(fd, (struct sockaddr *)&c->peer, &len) < 0)
        c->peer.sin6_family = AF_UNSPEC;
    w->served++;
    mx__count(&w->stats.conns_opened, 1);
    mx__worker_touch(w, c);
    if (w->be->attach(w, c) < 0) {
        abort_warn(c, "could not be set up");
        return;
    }
    c->flags |= MX_C_RECV_ON;
    /* What sits below the protocol, outermost first: a PROXY header
     * (conn_proxy.c), a TLS handshake (conn_tls.c), a WebSocket upgrade
     * (conn_ws.c). */
    if (ls->ws.on && mx__ws_new(c) < 0)
        abort_warn(c, "could not be set up");
    else if (ls->proxy.mode != MX_PROXY_OFF)
        mx__proxy_begin(c);
    else if (ls->tls && mx__tls_start(c, ls->tls) < 0)
        abort_warn(c, "could not be set up");
    else if (!(c->flags & MX_C_HANDSHAKE))
        mx__conn_open(c);
}

void mx__conn_open(struct mx_conn *c)
{
    if (c->ws && mx__ws_begin(c))
        return;   /* conn_ws.c opens it again after the upgrade */
    c->flags |= MX_C_OPENED;
    struct mx_conn *was = mx__conn_self_begin(c);
    int err = c->ls->proto->on_open ? c->ls->proto->on_open(c) : 0;
    mx__conn_self_end(c->w, was);
    if (err == -ECONNREFUSED)
        mx__conn_abort(c, NULL);
    else if (err < 0)
        abort_warn(c, "could not be set up");
    else
        mx_debug("conn %s opened on listener %s", label(c), c->ls->name);
}

void mx__conn_free(struct mx_conn *c)
{
    mx__tls_free(c);
    mx__ws_free(c);
    mx__conn_gap_free(c);
    /* Freed only now: a protocol closing its connection from on_data may
     * still be reading the kept input it was handed. */
    mx__buf_free(&c->in);
    free(c);
}

/* Offers data to the protocol; returns what it did not consume. */
static size_t deliver(struct mx_conn *c, const char *p, size_t n)
{
    size_t used = c->ls->proto->on_data(c, p, n);
    return used > n ? 0 : n - used;
}

/* Whether c keeps more unconsumed input than a protocol may leave: an
 * unfinished line of max_line bytes plus the "\r" of its terminator. A
 * paused connection is not capped here: its backend has stopped reading,
 * so what it keeps is bounded by the one read (epoll, poll) or the
 * receives already completing (io_uring) that raced the pause, which the
 * kernel's socket buffer bounds. */
static bool over_kept_cap(const struct mx_conn *c)
{
    return !(c->flags & MX_C_PAUSED_USER) && c->in.len > opts(c)->max_line + 1;
}

/* Offers what is kept (c->in) to the protocol again. */
static void offer_kept(struct mx_conn *c)
{
    struct mx_conn *was = mx__conn_self_begin(c);
    size_t left = deliver(c, c->in.data, c->in.len);
    mx__conn_self_end(c->w, was);
    if (!(c->flags & MX_C_DEAD)) {
        mx__buf_consume(&c->in, c->in.len - left);
        mx__conn_update_recv(c);   /* a backlog may have drained */
    }
}

static bool recv_layers(struct mx_conn *c, const char *p, size_t n)
{
    if (c->flags & MX_C_PREAMBLE)
        return mx__proxy_recv(c, p, n);
    return c->tls ? mx__tls_recv(c, p, n) : mx__conn_plain(c, p, n);
}

bool mx__conn_recv(struct mx_conn *c, const char *p, size_t n)
{
    MX_OWNER_ASSERT(c);
    struct mx_worker *w = c->w;
    mx__count(&w->stats.receives, 1);
    mx__count(&w->stats.bytes_in, n);
    if (!alive(c))
        return !(c->flags & MX_C_DEAD);
    mx__worker_touch(w, c);
    struct mx_conn *was = mx__conn_self_begin(c);
    bool open = recv_layers(c, p, n);
    mx__conn_self_end(w, was);
    return open;
}

bool mx__conn_plain(struct mx_conn *c, const char *p, size_t n)
{
    return c->ws ? mx__ws_recv(c, p, n) : mx__conn_proto_in(c, p, n);
}

bool mx__conn_proto_in(struct mx_conn *c, const char *p, size_t n)
{
    if (c->in.len == 0 && !(c->flags & MX_C_PAUSED_USER)) {
        size_t left = deliver(c, p, n);
        if (left && alive(c) && mx__buf_append(&c->in, p + n - left, left) < 0)
            abort_warn(c, "out of memory for input");
    } else {
        /* An unfinished frame is waiting, or the protocol paused: keep
         * the bytes behind what is already kept. */
        if (mx__buf_append(&c->in, p, n) < 0) {
            abort_warn(c, "out of memory for input");
            return false;
        }
        if (!(c->flags & MX_C_PAUSED_USER))
            offer_kept(c);
    }
    if (alive(c) && over_kept_cap(c))
        mx__conn_abort(c, "unfinished input over max_line");
    return !(c->flags & MX_C_DEAD);
}

/* After the peer's EOF: once the protocol is no longer holding requests
 * (paused with kept input, or a job offloaded), answer what is queued and
 * close. A partial frame left at EOF is dropped. */
void mx__conn_finish_eof(struct mx_conn *c)
{
    if (!(c->flags & MX_C_EOF) || !alive(c) || c->jobs ||
        (c->flags & (MX_C_PAUSED_USER | MX_C_REOFFER)))
        return;
    mx__buf_free(&c->in);
    mx_conn_close(c, NULL);
}

/* Peer shut down its sending side: finish what we owe it, then close. */
bool mx__conn_eof(struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    if (c->flags & MX_C_PREAMBLE)
        return mx__proxy_eof(c);
    c->flags |= MX_C_EOF;
    mx__conn_update_recv(c);
    mx__conn_finish_eof(c);
    return !(c->flags & MX_C_DEAD);
}

/* Not receiving, so the hang-up cannot be read as an EOF: whatever we
 * still owe the peer cannot reach it. */
void mx__conn_hangup(struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    mx__conn_fail(c, -ECONNRESET);
}

void mx__conn_fail(struct mx_conn *c, int err)
{
    MX_OWNER_ASSERT(c);
    if (mx__tls_kernel_fail(c, err))
        return;
    mx_debug("conn %s: %s", label(c), strerror(-err));
    mx__conn_abort(c, NULL);
}

void mx__conn_flush(struct mx_conn *c)
{
    c->flags &= ~MX_C_DIRTY;
    if ((c->flags & MX_C_REOFFER) && alive(c)) {
        c->flags &= ~MX_C_REOFFER;
        if (!(c->flags & MX_C_PAUSED_USER) && c->in.len > 0)
            offer_kept(c);
        mx__conn_finish_eof(c);
    }
    /* A moving connection's queue goes out from its new worker; output
     * from elsewhere may wait for more (conn_delay.c). */
    if (!(c->flags & (MX_C_DEAD | MX_C_MOVING)) && c->out.bytes > 0 && !mx__conn_delay(c))
        c->w->be->flush(c->w, c);
}

/* The backend wrote some of the queue. */
bool mx__conn_sent(struct mx_conn *c, size_t n)
{
    MX_OWNER_ASSERT(c);
    mx__count(&c->w->stats.sends, 1);
    mx__count(&c->w->stats.bytes_out, n);
    if ((c->flags & MX_C_PAUSED_HW) && c->out.bytes <= opts(c)->output_low_water) {
        c->flags &= ~MX_C_PAUSED_HW;
        mx__conn_update_recv(c);
    }
    if (c->out.bytes > 0)
        return !(c->flags & MX_C_DEAD);
    /* Written early (the socket took a queue that was waiting): nothing
     * is left to wait for its deadline. */
    mx__conn_undelay(c);
    /* TLS's own records are out: kernel TLS may take over (and a kernel
     * that refuses half of it ends the connection). */
    if (c->tls) {
        mx__tls_sent_all(c);
        if (c->flags & MX_C_DEAD)
            return false;
    }
    if (c->flags & MX_C_CLOSING) {
        mx__tls_kernel_close_notify(c);
        finish_close(c);
    } else if (c->ls->proto->on_drain)
        c->ls->proto->on_drain(c);
    return !(c->flags & MX_C_DEAD);
}

/* After queueing: enforce the hard cap and the high-water pause. */
static int after_queue(struct mx_conn *c)
{
    size_t q = c->out.bytes;
    if (q > opts(c)->output_max && c->ls->overflow == MX_OVERFLOW_DROP_OLDEST &&
        mx__conn_drop_oldest(c, opts(c)->output_max))
        q = c->out.bytes;
    else if (q > opts(c)->output_max) {
        char why[96];
        snprintf(why, sizeof why, "output queue over output_max (%zu > %zu bytes)",
                 q, opts(c)->output_max);
        mx__count(&c->w->stats.cut_output_max, 1);
        mx__conn_abort(c, why);
        return -ENOBUFS;
    }
    if (q > opts(c)->output_high_water && !(c->flags & MX_C_PAUSED_HW)) {
        c->flags |= MX_C_PAUSED_HW;
        mx__count(&c->w->stats.paused_high_water, 1);
        mx__conn_update_recv(c);
    }
    if (c->w->self == c)
        c->flags |= MX_C_PROMPT;
    mx__conn_mark_dirty(c);
    return 0;
}

/* Output that cannot be queued is a hole in the stream: the connection
 * goes, with the reason, rather than go on with bytes missing (a client
 * waiting for them would wait forever). */
static int out_of_memory(struct mx_conn *c)
{
    abort_warn(c, "out of memory for output");
    return -ENOMEM;
}

int mx__conn_queue_raw(struct mx_conn *c, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    /* On a drop_oldest listener each send is a message of its own. */
    int err = c->ls->overflow == MX_OVERFLOW_DROP_OLDEST ? mx__outq_append_msg(&c->out, p, n)
                                                          : mx__outq_append(&c->out, p, n);
    if (err < 0)
        return out_of_memory(c);
    mx__count(&c->w->stats.bytes_queued, n);
    return after_queue(c);
}

int mx_conn_send(struct mx_conn *c, const void *p, size_t n)
{
    MX_OWNER_ASSERT(c);
    if (!alive(c))
        return -ECONNRESET;
    if (n == 0)
        return 0;
    int err = c->ws ? mx__ws_send(c, p, n) : mx__conn_below(c, p, n);
    return err == -ENOMEM ? out_of_memory(c) : err;
}

int mx__conn_below(struct mx_conn *c, const void *p, size_t n)
{
    return c->tls ? mx__tls_send(c, p, n) : mx__conn_queue_raw(c, p, n);
}

int mx_conn_send_chunk(struct mx_conn *c, struct mx_chunk *ch)
{
    MX_OWNER_ASSERT(c);
    if (!alive(c))
        return -ECONNRESET;
    /* A WebSocket member gets the chunk's framed form, made once. */
    if (c->ws && ch->len && !(ch = mx__ws_chunk(c, ch)))
        return out_of_memory(c);
    /* Records are made per connection: the shared bytes are encrypted,
     * not shared. */
    if (c->tls) {
        int err = ch->len ? mx__tls_send(c, ch->data, ch->len) : 0;
        return err == -ENOMEM ? out_of_memory(c) : err;
    }
    if (mx__outq_push(&c->out, ch) < 0)
        return out_of_memory(c);
    mx__count(&c->w->stats.bytes_queued, ch->len);
    return after_queue(c);
}

/* A peer that stops reading must not hold a closing connection (its fd
 * and queue) forever. */
static void close_deadline(struct mx_conn *c, void *arg)
{
    (void)arg;
    mx__conn_abort(c, "closing: peer did not take its output within shutdown_timeout");
}

void mx_conn_close(struct mx_conn *c, const char *reason)
{
    MX_OWNER_ASSERT(c);
    if (!alive(c))
        return;
    log_close(c, reason);
    if (c->ws)
        mx__ws_close(c);
    if (c->tls)
        mx__tls_close_notify(c);
    else
        mx__tls_kernel_close_notify(c); /* if the kernel makes the records */
    if (c->flags & MX_C_DEAD)
        return; /* the close_notify went over output_max */
    c->flags |= MX_C_CLOSING;
    mx__conn_update_recv(c);
    if (c->out.bytes == 0) {
        finish_close(c);
        return;
    }
    mx__conn_mark_dirty(c);
    if (mx__conn_timer_arm(c, opts(c)->shutdown_timeout_ms, close_deadline, NULL) < 0)
        mx_warn("conn %s: no memory for its close deadline", label(c));
}

void mx_conn_pause(struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    c->flags |= MX_C_PAUSED_USER;
    mx__conn_update_recv(c);
}

void mx_conn_resume(struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    if (!(c->flags & MX_C_PAUSED_USER))
        return;
    c->flags &= ~MX_C_PAUSED_USER;
    mx__conn_update_recv(c);
    /* Input kept while paused is offered again (and a pending EOF acted
     * on) at the end of this turn, not inside whatever callback resumes. */
    if (c->in.len > 0 || (c->flags & MX_C_EOF)) {
        c->flags |= MX_C_REOFFER;
        mx__conn_mark_dirty(c);
    }
}

void mx_conn_set_data(struct mx_conn *c, void *data)
{
    MX_OWNER_ASSERT(c);
    c->data = data;
}

void *mx_conn_data(const struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    return c->data;
}

unsigned mx_conn_worker(const struct mx_conn *c)
{
    return c->w->idx;
}

struct mx_server *mx_conn_server(const struct mx_conn *c)
{
    return c->w->srv;
}

void *mx_conn_listener_data(const struct mx_conn *c)
{
    return c->ls->proto_data;
}

uint64_t mx_conn_id(const struct mx_conn *c)
{
    return mx__id_make(mx__conn_tag(c), c->w->idx);
}

bool mx_conn_tls(const struct mx_conn *c)
{
    return c->ls->tls != NULL;
}

const struct sockaddr *mx_conn_peer(const struct mx_conn *c, socklen_t *len)
{
    if (len)
        *len = c->peer.sin6_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof c->peer;
    return (const struct sockaddr *)&c->peer;
}

const char *mx_conn_peer_str(const struct mx_conn *c)
{
    /* Formatted on demand (only for logs): keeps 56 bytes out of every
     * connection. Valid until the next call on this thread. */
    static _Thread_local char buf[MX_ADDRSTRLEN];
    mx__sock_format_addr((const struct sockaddr *)&c->peer, buf, sizeof buf);
    return buf;
}

size_t mx_conn_max_line(const struct mx_conn *c)
{
    return c->w->lim.max_line;
}

enum mx_overflow mx_conn_overflow(const struct mx_conn *c)
{
    return c->ls->overflow;
}

size_t mx_conn_pending(const struct mx_conn *c)
{
    MX_OWNER_ASSERT(c);
    return c->out.bytes;
}
