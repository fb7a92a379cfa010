/* worker.h - one reactor thread: its loop, inbox, timers and the table of
 * the connections it owns (private to src/). */
#ifndef MUXD_REACTOR_WORKER_H
#define MUXD_REACTOR_WORKER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reactor/conn_id.h"
#include "reactor/inbox.h"
#include "reactor/stats.h"
#include "reactor/timer.h"

struct mx_server;
struct mx_conn;
struct mx_backend_ops;

/* Receive buffer shared by all of a worker's connections. */
#define MX_SCRATCH_SIZE (64u * 1024u)

/* The limits a worker applies to its connections: its own copy of the
 * server's, replaced between loop turns on a reload (mx_server_update),
 * so a turn never sees half of an old set and half of a new one. */
struct mx__limits {
    size_t max_line;
    size_t output_high_water;
    size_t output_low_water;
    size_t output_max;
    unsigned idle_timeout_ms;
    unsigned shutdown_timeout_ms;
};

struct mx_worker {
    struct mx_server *srv;
    struct mx__limits lim;
    unsigned idx;
    char name[16];
    pthread_t thread;       /* for join */
    pthread_t tid;          /* set by the thread itself: owner checks */
    const struct mx_backend_ops *be;
    void *be_data;
    struct mx_inbox inbox;
    char *scratch;

    struct mx_conn **slots; /* slot -> live connection or NULL */
    uint32_t *free_slots;
    uint32_t nslots, nfree;
    uint32_t last_gen;      /* the generation the newest connection got */
    uint32_t nconns;

    struct mx_conn *idle_head, *idle_tail;
    struct mx_conn *dirty;  /* output waiting for this turn's flush */
    /* fanout_delay (conn_delay.c): the connection whose own event runs
     * now (its replies go out at once). */
    struct mx_conn *self;
    struct mx_conn *closed, *closed_tail; /* on_close owed, in close order */
    struct mx_conn *dead;   /* closed, freed at the end of the turn */
    struct mx_timers timers;
    struct mx_timer stop_deadline;
    /* Memory back after a burst (trim.c). */
    struct mx_timer trim_timer;
    uint64_t freed, freed_at_arm, freed_at_trim; /* connections freed */
    uint64_t now_ms;
    uint64_t served;
    unsigned jobs_out;      /* offload jobs in the pool, not yet back */
    bool stopping;
    /* A change of the worker set (resize.c). */
    struct mx__resize *resize; /* pause at the end of this turn */
    struct mx__resize *retire; /* retiring: suspend all, say when quiet */
    bool retire_said;       /* ... and it said so */
    bool retired;           /* its connections left: the thread ends */
    unsigned quieting;      /* suspended connections with operations in flight */
    atomic_bool running;    /* thread started and not joined */
    struct mx__wstats stats; /* written by this worker only */
    sem_t ready;            /* posted once init_err is known */
    int init_err;
    atomic_bool finished;
};

int mx__worker_init(struct mx_worker *w, struct mx_server *srv, unsigned idx,
                   const struct mx_backend_ops *be);
/* Starts the thread and waits until its backend is set up: a worker that
 * cannot run fails the start instead of silently dropping connections. */
int mx__worker_start(struct mx_worker *w);
void mx__worker_join(struct mx_worker *w);
void mx__worker_fini(struct mx_worker *w);

/* The live limits of o. */
void mx__limits_of(const struct mx_server_opts *o, struct mx__limits *lim);

/* Slot table (worker thread). */
int mx__worker_slot_take(struct mx_worker *w, struct mx_conn *c);
void mx__worker_slot_release(struct mx_worker *w, struct mx_conn *c);

/* The end of a loop turn: the on_close calls owed (which may send and
 * close more), this turn's output, then freeing the closed. */
void mx__worker_end_turn(struct mx_worker *w);
/* c was closed: its on_close runs at the end of this turn. */
void mx__worker_owe_close(struct mx_worker *w, struct mx_conn *c);

/* trim.c: a connection was freed; after a burst of them, once it is
 * over, freed memory goes back to the system. */
void mx__worker_trim_init(struct mx_worker *w);
void mx__worker_freed(struct mx_worker *w);


/* Idle list: move c to the young end. */
void mx__worker_touch(struct mx_worker *w, struct mx_conn *c);
void mx__worker_idle_unlink(struct mx_worker *w, struct mx_conn *c);

/* The inbox's messages now (mx__worker_wakeup without the eventfd's
 * call): how many there were. */
size_t mx__worker_drain_inbox(struct mx_worker *w);
/* resize.c: at the end of a turn, the part a worker plays in a change of
 * the worker set. */
void mx__worker_retiring(struct mx_worker *w);
void mx__worker_pause(struct mx_worker *w);
/* A retired worker's fresh start keeps its inbox and counters. */
void mx__worker_revive(struct mx_worker *w);

/* Upcalls from the backend. */
struct mx_conn *mx__worker_lookup(struct mx_worker *w, uint64_t tag);
/* The connection holding slot now: for a backend whose entries cannot
 * outlive their slot's holder (poll's holes). */
static inline struct mx_conn *mx__worker_at(struct mx_worker *w, uint32_t slot)
{
    return w->slots[slot];
}
/* By public id (mx_conn_id); NULL if that connection is gone. */
struct mx_conn *mx__worker_find(struct mx_worker *w, uint64_t id);
void mx__worker_wakeup(struct mx_worker *w);
/* io_uring: a receive found the buffer ring empty, or filled several
 * buffers; the completion queue was seen overflowed this turn. For the
 * counters only. */
void mx__worker_note_enobufs(struct mx_worker *w);
void mx__worker_note_bundle(struct mx_worker *w);
void mx__worker_note_cq_overflow(struct mx_worker *w);

#endif
