/* conn_overflow.c - overflow = drop_oldest: a queue past output_max loses
 * whole messages, oldest first, instead of its connection.
 *
 * On such a listener every send is a segment of its own (outq.h), so a
 * segment is a message. Segments the kernel may still read (an io_uring
 * send in flight) and a head already partly written are never touched.
 * The protocol may put a note where messages went (mx_proto's
 * overflow_note); later drops at the same place grow the same gap, and
 * the note is made again with the new count, so a reader who stalls for
 * a minute finds one note, not thousands. A note an io_uring send still
 * holds (pinned) cannot grow: the next drop puts a note after it, so a
 * peer taking less than a note per send may hold one note per pinned
 * segment past output_max (at most a send's iovecs, 16; fuzz_conn checks
 * that bound).
 */
#include <stdlib.h>

#include "io/fault.h"
#include "io/outq.h"
#include "muxd/chunk.h"
#include "muxd/proto.h"
#include "reactor/conn.h"
#include "reactor/ws.h"
#include "reactor/server.h"
#include "reactor/worker.h"

/* The first segment that may go. */
static uint32_t first_droppable(const struct mx_outq *q)
{
    uint32_t from = q->pinned;
    if (from == 0 && q->count > 0 && mx__outq_seg(q, 0)->off > 0)
        from = 1; /* partly written */
    return from;
}

static struct mx_chunk *make_note(struct mx_conn *c, uint64_t dropped)
{
    size_t (*fmt)(struct mx_conn *, uint64_t, char *, size_t) = c->ls->proto->overflow_note;
    char buf[512];
    size_t n = fmt ? fmt(c, dropped, buf, sizeof buf) : 0;
    if (!n || n > sizeof buf)
        return NULL;
    /* The protocol's line, in the transport's framing. */
    return c->ws ? mx__ws_frame_copy(c, buf, n) : mx_chunk_copy(buf, n);
}

/* Where the last drop left its note: kept apart from struct mx_conn,
 * since only a reader that stalls on such a listener ever needs it. */
struct mx__conn_gap {
    struct mx_chunk *note;        /* in the queue, or NULL */
    uint32_t dropped;             /* messages gone where it stands */
};

/* The note stands at from, ahead of the newer messages. */
static void place_note(struct mx_conn *c, struct mx__conn_gap *g, uint32_t from, bool grown)
{
    struct mx_chunk *note = make_note(c, g->dropped);
    if (!note)
        return; /* without memory the gap goes unannounced, nothing worse */
    if (grown)
        mx__outq_replace(&c->out, from, note);
    else if (mx__outq_insert(&c->out, from, note) < 0) {
        mx_chunk_unref(note);
        return;
    }
    mx_chunk_unref(g->note);
    g->note = note;
}

/* Made at the first drop; without memory the drop still happens, only
 * unannounced, as when the note itself cannot be made. */
static struct mx__conn_gap *gap_of(struct mx_conn *c)
{
    if (!c->gap && !MX_FAULT(MX_FAULT_ALLOC))
        c->gap = calloc(1, sizeof *c->gap);
    return c->gap;
}

bool mx__conn_drop_oldest(struct mx_conn *c, size_t max)
{
    struct mx_outq *q = &c->out;
    struct mx__conn_gap *g = c->gap;
    uint32_t from = first_droppable(q);
    /* The note of the last drop, still unsent, marks the same gap. */
    bool grown = g && g->note && from < q->count && mx__outq_seg(q, from)->ch == g->note &&
                 mx__outq_seg(q, from)->off == 0;
    uint32_t n = mx__outq_drop(q, from + grown, q->bytes - max);
    if (n == 0)
        return false;
    mx__count(&c->w->stats.dropped_messages, n);
    if (!(g = gap_of(c)))
        return true;
    g->dropped = grown ? g->dropped + n : n;
    place_note(c, g, from, grown);
    return true;
}

void mx__conn_gap_free(struct mx_conn *c)
{
    if (!c->gap)
        return;
    mx_chunk_unref(c->gap->note);
    free(c->gap);
    c->gap = NULL;
}
