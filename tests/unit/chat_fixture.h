/* chat_fixture.h - a chat service run for real without sockets, on the
 * fake backend (fake_backend.h): a server of two workers, one chat
 * listener, connections fed bytes through mx__conn_recv, the test playing
 * both workers' loops on its own thread (draining their inboxes and ending
 * their turns where a loop would).
 *
 * tests/unit/test_chat_cluster.c, tests/fuzz/fuzz_chat_cmd.c and
 * tests/fuzz/fuzz_cluster_msg.c all build this same fixture; it is here
 * so that the three make it the same way. Each includes it into a binary
 * of its own, so the functions are static (CHAT_FX_FN: marked unused, so
 * that a file using only some of them, or the header compiled alone, gets
 * no -Wunused-function).
 *
 * A step that fails calls CHAT_FX_FAIL(why): abort() unless the includer
 * defines it first (a unit test: cr_assert_fail).
 */
#ifndef MUXD_TESTS_CHAT_FIXTURE_H
#define MUXD_TESTS_CHAT_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/outq.h"
#include "proto/chat/chat.h"
#include "proto/chat/chat_int.h"
#include "reactor/clock.h"
#include "reactor/conn.h"
#include "reactor/server.h"

#include "fake_backend.h"

#ifndef CHAT_FX_FAIL
#define CHAT_FX_FAIL(why) abort()
#endif

#define CHAT_FX_FN static inline __attribute__((unused))

#define NWORKERS 2

struct chat_fixture {
    struct mx_server srv;
    struct mx_worker w[NWORKERS];
    struct mx_chat *chat;
    uint64_t now;               /* the clock of both workers (mx__clock_bind) */
};

/* ---- making it, in three steps: the caller may change srv.opts after
 * the first, and give the chat a bus between the second and the third ---- */

/* fx zeroed; the server's options: the defaults, NWORKERS workers, the
 * given output_max (the water marks at a half and a quarter of it), no
 * idle timeout. */
CHAT_FX_FN void chat_fx_server(struct chat_fixture *fx, size_t output_max)
{
    memset(fx, 0, sizeof *fx);
    struct mx_server *s = &fx->srv;
    mx_server_opts_default(&s->opts);
    s->opts.workers = NWORKERS;
    s->opts.output_max = output_max;
    s->opts.output_high_water = s->opts.output_max / 2;
    s->opts.output_low_water = s->opts.output_max / 4;
    s->opts.idle_timeout_ms = 0;
    s->workers = fx->w;
    atomic_store(&s->nworkers, NWORKERS);
    atomic_store(&s->nseen, NWORKERS);
}

/* The workers made on the fake backend, both "threads" this one, and the
 * clock bound to fx->now (100000 ms), then the chat made with o. */
CHAT_FX_FN void chat_fx_start(struct chat_fixture *fx, const struct mx_chat_opts *o)
{
    fx->now = 100000;
    for (unsigned k = 0; k < NWORKERS; k++) {
        if (mx__worker_init(&fx->w[k], &fx->srv, k, &fake_be) < 0)
            CHAT_FX_FAIL("mx__worker_init failed");
        fx->w[k].tid = pthread_self();
        fx->w[k].running = true;
        fx->w[k].now_ms = fx->now;
    }
    mx__clock_bind(&fx->now);
    fx->chat = mx_chat_new(o, &fx->srv);
    if (!fx->chat)
        CHAT_FX_FAIL("mx_chat_new failed");
}

/* Listener 0: chat's, named "irc", with no socket. */
CHAT_FX_FN struct mx_listener *chat_fx_listen(struct chat_fixture *fx)
{
    struct mx_listener *ls = &fx->srv.listeners[0];
    snprintf(ls->name, sizeof ls->name, "irc");
    ls->fd = -1;
    ls->proto = &mx_chat_proto;
    ls->proto_data = fx->chat;
    atomic_store(&fx->srv.nlisteners, 1);
    return ls;
}

/* Chat's options for a fixture where nothing times out (a minute) and
 * a client may be on 10 channels. */
CHAT_FX_FN struct mx_chat_opts chat_fx_calm_opts(const char *server_name,
                                                    size_t output_max)
{
    return (struct mx_chat_opts){
        .server_name = server_name,
        .register_timeout_ms = 60000,
        .ping_interval_ms = 60000,
        .ping_timeout_ms = 60000,
        .max_channels = 10,
        .output_max = output_max,
    };
}

/* ---- running it ------------------------------------------------------ */

/* A new connection on worker from fd, counted in as the acceptor would;
 * it, or NULL if chat refused it at once. */
CHAT_FX_FN struct mx_conn *chat_fx_open(struct chat_fixture *fx, unsigned worker, int fd)
{
    struct mx_worker *w = &fx->w[worker];
    /* The slot it will take: the last freed, or the first of a new
     * stretch (worker.c). */
    uint32_t slot = w->nfree ? w->free_slots[w->nfree - 1] : w->nslots;
    atomic_fetch_add(&fx->srv.nconns, 1);
    mx__conn_create(w, fd, &fx->srv.listeners[0], 0);
    return slot < w->nslots ? w->slots[slot] : NULL;
}

/* One round of both loops: inboxes drained, turns ended (on_close calls
 * and flushes run, the closed freed). How many messages were drained:
 * a settle loops until a round drains none (and has nothing else owed). */
CHAT_FX_FN size_t chat_fx_round(struct chat_fixture *fx)
{
    size_t n = 0;
    for (unsigned k = 0; k < NWORKERS; k++) {
        n += mx__worker_drain_inbox(&fx->w[k]);
        mx__worker_end_turn(&fx->w[k]);
    }
    return n;
}

/* n bytes of c's queue, as if the backend wrote them. */
CHAT_FX_FN void chat_fx_written(struct mx_conn *c, size_t n)
{
    if (n) {
        mx__outq_consume(&c->out, n);
        mx__conn_sent(c, n);
    }
}

/* ---- ending it: chat_fx_abort_all, settle, chat_fx_free --------------- */

CHAT_FX_FN void chat_fx_abort_all(struct chat_fixture *fx)
{
    for (unsigned k = 0; k < NWORKERS; k++)
        for (uint32_t s = 0; s < fx->w[k].nslots; s++)
            if (fx->w[k].slots[s])
                mx__conn_abort(fx->w[k].slots[s], NULL);
}

/* Once settled (nothing left in an inbox: no post outlives the chat). */
CHAT_FX_FN void chat_fx_free(struct chat_fixture *fx)
{
    mx_chat_free(fx->chat);
    for (unsigned k = 0; k < NWORKERS; k++)
        mx__worker_fini(&fx->w[k]);
    mx__outq_thread_cleanup();
    mx__clock_bind(NULL);
}

/* ---- chat's tables against the live clients (the fuzz harnesses) ------ */

struct chat_fx_live {
    struct chat_client **live;
    unsigned nlive;
};

/* Under mu: a channel in the table has members, each a live client that
 * lists it, counted once per worker in per_worker and in that worker's
 * local list. */
CHAT_FX_FN void chat_fx_check_chan(struct nt_node *node, void *arg)
{
    const struct chat_fx_live *cc = arg;
    struct chat_channel *ch = chan_of(node);
    unsigned per[NWORKERS] = { 0 };
    if (ch->n == 0)
        abort(); /* an emptied channel is retired */
    for (unsigned i = 0; i < ch->n; i++) {
        struct chat_client *cl = ch->m[i].cl;
        bool known = false;
        for (unsigned j = 0; j < cc->nlive; j++)
            known |= cc->live[j] == cl;
        if (!known || !cl_on(cl, ch) || cl->worker >= NWORKERS)
            abort(); /* a member that is gone, or does not know it */
        per[cl->worker]++;
    }
    for (unsigned k = 0; k < NWORKERS; k++)
        if (ch->per_worker[k] != per[k] || ch->local[k].n != per[k])
            abort();
}

/* The live clients (those of live connections that have not quit) are
 * live[0..nlive): chat's counts of users, clients and nicks are theirs,
 * every nick finds its own client, each is on its channels' lists, and
 * every channel passes chat_fx_check_chan. Aborts if not. */
CHAT_FX_FN void chat_fx_check_tables(struct mx_chat *chat, struct chat_client **live,
                                        unsigned nlive)
{
    unsigned users = 0, nicks = 0;
    chat_lock(chat);
    for (unsigned j = 0; j < nlive; j++) {
        struct chat_client *cl = live[j];
        users += cl->registered;
        if (cl->flags & CL_NICK) {
            nicks++;
            if (cl_by_nick(chat, cl->nick) != cl)
                abort(); /* its nick finds someone else */
        }
        for (unsigned i = 0; i < cl->nchans; i++)
            if (chan_find(chat, cl->chans[i]->name) != cl->chans[i] ||
                !chan_member(cl->chans[i], cl))
                abort(); /* on a channel that does not have it */
    }
    unsigned nusers = chat->nusers, nclients = chat->nclients;
    size_t nnicks = chat->nicks.n;
    nt_each(&chat->chans, chat_fx_check_chan, &(struct chat_fx_live){ live, nlive });
    chat_unlock(chat);
    if (nusers != users || nclients != nlive || nnicks != nicks) {
        fprintf(stderr, "chat counts %u users, %u clients, %zu nicks; live: %u, %u, %u\n",
                nusers, nclients, nnicks, users, nlive, nicks);
        abort();
    }
}

#endif
