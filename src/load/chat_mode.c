/* chat_mode.c - chat mode's callbacks (see chat.h): per-client state, the
 * setup (every client registered and in its channel), and the senders'
 * schedule. The thread's share of --rate is a fixed schedule, message k
 * due at t0 + k / rate and handed to its senders in turn; a message
 * carries its due time, so delivery latency counts from when it was meant
 * to go out. Each message of the window owes one delivery to every other
 * member of its channel. */
#include <stdio.h>
#include <stdlib.h>

#include "chat.h"
#include "clock.h"
#include "irc.h"
#include "modes.h"

/* After the drain: this long without a new delivery and the rest owed
 * count as lost. */
#define CHAT_QUIET_NS (1000 * NS_PER_MS)

static int chat_init(struct ld_thread *th)
{
    const struct ld_opts *o = th->o;
    struct ld_chat_thread *ct = calloc(1, sizeof *ct);
    size_t seqs = 0;
    for (unsigned i = 0; i < th->n; i++)
        seqs += ld_chat_senders_in(o, th->cs[i].id % o->channels);
    if (ct) {
        ct->cc = calloc(th->n, sizeof *ct->cc);
        ct->seq_pool = calloc(seqs ? seqs : 1, sizeof *ct->seq_pool);
        ct->in_pool = malloc((size_t)th->n * LD_CHAT_LINE_MAX);
    }
    th->mode = ct;
    if (!ct || !ct->cc || !ct->seq_pool || !ct->in_pool)
        return ld_fail(th, LD_ERROR, "out of memory for %u chat clients", th->n);
    struct ld_seq *q = ct->seq_pool;
    for (unsigned i = 0; i < th->n; i++) {
        struct ld_chat_conn *cc = &ct->cc[i];
        cc->seqs = q;
        cc->in = ct->in_pool + (size_t)i * LD_CHAT_LINE_MAX;
        q += ld_chat_senders_in(o, th->cs[i].id % o->channels);
        th->cs[i].chat = cc;
    }
    return 0;
}

static void chat_fini(struct ld_thread *th)
{
    struct ld_chat_thread *ct = th->mode;
    if (!ct)
        return;
    for (unsigned i = 0; ct->cc && i < th->n; i++)
        free(ct->cc[i].out);
    free(ct->cc);
    free(ct->seq_pool);
    free(ct->in_pool);
    free(ct);
    th->mode = NULL;
}

static bool chat_setup_done(struct ld_thread *th)
{
    unsigned up = 0;
    for (unsigned i = 0; i < th->n; i++)
        up += th->cs[i].state == LD_C_UP;
    return ld_chat_of(th)->joined == up;
}

/* The thread's senders, for the schedule's round robin. */
static int chat_start(struct ld_thread *th, uint64_t now)
{
    th->light = malloc((th->n ? th->n : 1) * sizeof *th->light);
    if (!th->light)
        return ld_fail(th, LD_ERROR, "out of memory");
    for (unsigned i = 0; i < th->n; i++)
        if (th->cs[i].state == LD_C_UP && th->cs[i].id < th->o->senders)
            th->light[th->nlight++] = i;
    th->interval_ns = th->rate > 0 ? (double)NS_PER_S / th->rate : 0.0;
    return 0;
}

static uint64_t due_at(const struct ld_thread *th, uint64_t k)
{
    return th->tm.t0 + (uint64_t)((double)k * th->interval_ns);
}

/* One PRIVMSG from c, meant to go out at t. */
static int send_one(struct ld_thread *th, struct ld_conn *c, uint64_t t)
{
    const struct ld_opts *o = th->o;
    struct ld_load_msg m = { .sender = c->id, .seq = c->chat->next_seq++, .ts_ns = t };
    char chan[64], text[LD_CHAT_MAX_SIZE + 64], line[LD_CHAT_MAX_SIZE + 160];
    ld_chat_channel(o, c->id, chan, sizeof chan);
    size_t len = ld_load_format(text, sizeof text, &m, o->size);
    int n = snprintf(line, sizeof line, "PRIVMSG %s :%s\r\n", chan, text);
    if (len == 0 || n < 0 || (size_t)n >= sizeof line)
        return ld_fail(th, LD_ERROR, "client %u: message does not fit a line", c->id);
    uint64_t owed = ld_chat_members(o, c->id % o->channels) - 1;
    atomic_fetch_add_explicit(&th->live->owed, owed, memory_order_relaxed);
    if (t >= th->tm.start && t < th->tm.end) {
        th->res->messages++;
        th->res->bytes += len;
        th->res->expected += owed;
    }
    return ld_chat_queue(th, c, line, (size_t)n) < 0 ? -1 : ld_chat_flush(th, c);
}

/* Everything due by now, unless the next sender's output is backed up
 * (the server does not read it): then the schedule waits, and what it
 * owes goes out late with its due time, so the latency shows the wait.
 * Nothing is sent from tm.stop on. */
static int chat_tick(struct ld_thread *th, uint64_t now)
{
    if (th->nlight == 0 || now >= th->tm.stop)
        return 0;
    th->stalled = false;
    uint64_t t;
    while ((t = due_at(th, th->sched_k)) <= now && t < th->tm.stop) {
        struct ld_conn *c = &th->cs[th->light[th->robin]];
        struct ld_chat_conn *cc = c->chat;
        if (cc->out_len - cc->out_off > LD_CHAT_OUT_HIGH) {
            th->stalled = true;
            return 0;
        }
        th->sched_k++;
        th->robin = (th->robin + 1) % th->nlight;
        if (send_one(th, c, t) < 0)
            return -1;
    }
    return 0;
}

static uint64_t chat_next_due(const struct ld_thread *th, uint64_t now)
{
    if (th->nlight == 0 || th->stalled) /* stalled: EPOLLOUT wakes the loop */
        return UINT64_MAX;
    uint64_t t = due_at(th, th->sched_k);
    return t < th->tm.stop ? t : UINT64_MAX;
}

/* As soon as the coordinator saw every delivery owed arrive; else at the
 * end of the drain unless deliveries are still coming (they are late, and
 * the wait for them ends once none came for CHAT_QUIET_NS), and at
 * tm.give_up at the latest. */
static bool chat_done(const struct ld_thread *th, uint64_t now)
{
    if (now >= th->tm.give_up ||
        (now >= th->tm.stop && atomic_load_explicit(&th->live->drained, memory_order_relaxed)))
        return true;
    return now >= th->tm.drain_end && now >= ld_chat_of(th)->last_arrival + CHAT_QUIET_NS;
}

const struct ld_mode_ops ld_chat_ops = {
    .init = chat_init,
    .fini = chat_fini,
    .on_up = ld_chat_on_up,
    .on_event = ld_chat_on_event,
    .setup_done = chat_setup_done,
    .start = chat_start,
    .tick = chat_tick,
    .next_due = chat_next_due,
    .done = chat_done,
};
