/* thread.h - one client thread: its epoll loop over its share of the
 * connections, through the phases of a run (connect, setup, wait for go,
 * load, drain), and the mode callbacks that give the loop its meaning.
 *
 * A thread owns its connections and its result outright; what it shares
 * is the process's struct ld_live (atomics) and the read-only options.
 */
#ifndef MUXD_LOAD_THREAD_H
#define MUXD_LOAD_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "live.h"
#include "opts.h"
#include "result.h"

/* The run's timeline, the same in every thread and process: all derive
 * from t0, the go time the coordinator hands out. */
struct ld_times {
    uint64_t t0;       /* load (warm-up) starts */
    uint64_t start;    /* measured window [start, end) */
    uint64_t end;
    uint64_t stop;     /* nothing new is sent from here on */
    /* chat: --drain ends; what arrives later is late, not lost (others:
     * give_up) */
    uint64_t drain_end;
    uint64_t give_up;  /* what is still owed now is a failure */
};
void ld_times_set(struct ld_times *t, const struct ld_opts *o, uint64_t t0);

struct ld_thread;

/* What a mode does inside the loop. NULL entries do nothing. */
struct ld_mode_ops {
    int (*init)(struct ld_thread *th);
    void (*fini)(struct ld_thread *th);
    int (*on_up)(struct ld_thread *th, struct ld_conn *c);      /* just connected */
    int (*on_event)(struct ld_thread *th, struct ld_conn *c, uint32_t events);
    bool (*setup_done)(struct ld_thread *th);                   /* NULL: nothing to set up */
    int (*start)(struct ld_thread *th, uint64_t now);           /* t0 reached */
    int (*tick)(struct ld_thread *th, uint64_t now);            /* send what is due */
    uint64_t (*next_due)(const struct ld_thread *th, uint64_t now); /* when tick has work */
    bool (*done)(const struct ld_thread *th, uint64_t now);
    int (*give_up)(struct ld_thread *th);                       /* tm.give_up passed */
};

const struct ld_mode_ops *ld_mode_ops(enum ld_mode mode);

#define LD_RXBUF_SIZE (256u * 1024u)

struct ld_thread {
    pthread_t tid;
    unsigned index;
    const struct ld_opts *o;
    const struct ld_mode_ops *ops;
    struct ld_live *live;
    struct ld_result *res;
    struct ld_conn *cs;
    unsigned n;
    int ep;
    unsigned char *rxbuf;
    double rate;             /* this thread's share of --rate; 0 = closed loop */
    double connect_rate;     /* and of --connect-rate; 0 = unlimited */
    struct ld_times tm;      /* set when the go arrives */
    unsigned connecting;     /* connects in progress */
    uint64_t pending;        /* messages issued and not yet complete */
    uint64_t progress;       /* done since the last publish */
    uint64_t next_publish;
    /* echo's open loop */
    uint64_t sched_k;        /* the next scheduled message */
    double interval_ns;
    unsigned *light, nlight, robin;  /* connections the schedule uses */
    bool stalled;            /* the next connection has no room */
    bool idle_sent;          /* idle: the round trips went out */
    void *mode;              /* the mode's own state (chat) */
};

/* Sets th up (epoll, buffers, mode state) over cs[0..n); 0 or -1 with the
 * reason in th->res. ld_thread_fini is due either way. */
int ld_thread_init(struct ld_thread *th, const struct ld_opts *o, struct ld_live *live,
                   struct ld_result *res, struct ld_conn *cs, unsigned n);
void ld_thread_fini(struct ld_thread *th);
void *ld_thread_main(void *arg);
/* Waits up to timeout_ns for events and hands them out (connects in
 * progress to conn.c, the rest to the mode); -1 once the thread failed. */
int ld_thread_poll(struct ld_thread *th, uint64_t timeout_ns);

/* Records why the run failed (first reason wins), counts it as an error
 * or a verify failure, tells every thread to stop; returns -1. */
enum ld_fail_kind { LD_ERROR, LD_VERIFY };
__attribute__((format(printf, 3, 4)))
int ld_fail(struct ld_thread *th, enum ld_fail_kind kind, const char *fmt, ...);
static inline bool ld_aborted(const struct ld_thread *th)
{
    return atomic_load_explicit(&th->live->abort, memory_order_relaxed);
}

#endif
