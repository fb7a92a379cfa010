/* chat_fanout.c - one formatted line to many members on many workers.
 *
 * The line is one shared chunk. The calling worker queues it to its own
 * members directly; every other worker with members gets one post and
 * queues it to its own. Posts from one worker to another run in order,
 * so every member sees one sender's lines in the order sent.
 */
#include <stdlib.h>

#include "muxd/log.h"
#include "proto/chat/chat_int.h"

void wset_add(struct chat_wset *s, unsigned w)
{
    s->w[w / 64] |= 1ull << (w % 64);
}

void wset_channel(struct chat_wset *s, const struct chat_channel *ch, unsigned nworkers)
{
    for (unsigned w = 0; w < nworkers; w++)
        if (ch->per_worker[w])
            wset_add(s, w);
}

void chan_ref(struct chat_channel *ch)
{
    atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
}

void chan_unref(struct chat_channel *ch)
{
    if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(ch->m);
    free(ch->per_worker);
    free(ch->topic);
    for (unsigned i = 0; i < ch->nbans; i++)
        free(ch->bans[i]);
    free(ch->bans);
    free(ch->invites);
    free(ch);
}

/* On worker w: the line to each of w's members of chans, once each. The
 * local lists are w's own, so no lock. */
static void deliver_local(struct mx_chat *chat, unsigned w, struct chat_channel **chans,
                          unsigned nchans, struct mx_chunk *line, const struct chat_client *skip)
{
    uint64_t stamp = ++chat->wk[w].stamp;
    for (unsigned i = 0; i < nchans; i++) {
        const struct chat_local *l = &chans[i]->local[w];
        for (unsigned j = 0; j < l->n; j++) {
            struct chat_client *cl = l->v[j];
            if (cl == skip || cl->mark == stamp)
                continue;
            cl->mark = stamp;
            cl_send_chunk(cl, line);
        }
    }
}

struct fan_post {
    struct mx_chat *chat;
    unsigned worker;
    unsigned nchans;
    struct mx_chunk *line;
    struct chat_channel *chans[];
};

static bool has_local(const struct fan_post *fp)
{
    for (unsigned i = 0; i < fp->nchans; i++)
        if (fp->chans[i]->local[fp->worker].n)
            return true;
    return false;
}

static void fan_free(struct fan_post *fp)
{
    mx_chunk_unref(fp->line);
    for (unsigned i = 0; i < fp->nchans; i++)
        chan_unref(fp->chans[i]);
    free(fp);
}

static void fan_run(void *arg)
{
    struct fan_post *fp = arg;
    /* A post left over at server free finds no members (every client
     * has closed) and must not claim the worker's state from that thread. */
    if (has_local(fp)) {
        struct chat_worker *wk = chat_enter(fp->chat, fp->worker);
        deliver_local(fp->chat, fp->worker, fp->chans, fp->nchans, fp->line, NULL);
        chat_leave(wk);
    }
    fan_free(fp);
}

static void post_to(struct mx_chat *chat, unsigned w, struct chat_channel **chans,
                    unsigned nchans, struct mx_chunk *line)
{
    struct fan_post *fp = malloc(sizeof *fp + nchans * sizeof *fp->chans);
    if (!fp) {
        mx_warn("chat: out of memory: a line to worker %u is lost", w);
        return;
    }
    *fp = (struct fan_post){ .chat = chat, .worker = w, .nchans = nchans,
                             .line = mx_chunk_ref(line) };
    for (unsigned i = 0; i < nchans; i++) {
        fp->chans[i] = chans[i];
        chan_ref(chans[i]);
    }
    if (mx_server_run(chat->srv, w, fan_run, fp) < 0) {
        /* Not run here: w's lists are w's alone. */
        mx_warn("chat: out of memory: a line to worker %u is lost", w);
        fan_free(fp);
    }
}

void chat_fanout(struct mx_chat *chat, unsigned self, const struct chat_wset *ws,
                 struct chat_channel **chans, unsigned nchans, struct mx_chunk *line,
                 const struct chat_client *skip)
{
    if (!line)
        return;
    for (unsigned w = 0; w < chat->nworkers; w++)
        if (w != self && (ws->w[w / 64] >> (w % 64) & 1))
            post_to(chat, w, chans, nchans, line);
    deliver_local(chat, self, chans, nchans, line, skip);
}

/* ---- to one client ------------------------------------------------------- */

static void send_run(struct mx_conn *c, void *arg)
{
    struct mx_chunk *line = arg;
    struct chat_client *cl = c ? mx_conn_data(c) : NULL;
    if (cl) {
        struct chat_worker *wk = chat_enter(cl->chat, cl->worker);
        cl_send_chunk(cl, line);
        chat_leave(wk);
    }
    mx_chunk_unref(line);
}

void chat_send_to(struct mx_chat *chat, unsigned self, struct chat_client *to,
                  unsigned to_worker, uint64_t to_id, struct mx_chunk *line)
{
    if (!line)
        return;
    if (to_worker == self) {
        cl_send_chunk(to, line);
        return;
    }
    mx_chunk_ref(line);
    if (mx_server_post(chat->srv, to_id, send_run, line) < 0) {
        mx_warn("chat: out of memory: a line to conn %llu is lost", (unsigned long long)to_id);
        mx_chunk_unref(line);
    }
}
