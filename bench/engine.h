/* engine.h - the load engine: one thread's closed loop over its share of
 * the (light) connections, sending from the pattern and checking every
 * echoed byte.
 *
 * Every connection keeps DEPTH messages of SIZE bytes in flight and sends a
 * new one as each echo completes, so the offered load follows what the
 * server (or this client) can do. Latency is taken from the moment a
 * message is issued to the moment its last byte is back; only messages
 * completed inside the measured window are counted.
 */
#ifndef ECHO_BENCH_ENGINE_H
#define ECHO_BENCH_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "hist.h"

#define UNLIMITED UINT64_MAX
#define ERR_LEN 256

/* One run of the engine: what to send, and when to count and stop. */
struct run {
    size_t size;
    unsigned depth;
    uint64_t budget;     /* messages each connection issues, or UNLIMITED */
    uint64_t t_start;    /* measured window [t_start, t_end) */
    uint64_t t_end;
    uint64_t t_stop;     /* no message is issued from here on */
    uint64_t t_give_up;  /* echoes still owed by now are a failure */
    /* Heavy connections, run beside the light ones (see heavy.h). */
    unsigned heavy;
    const char *heavy_req, *heavy_reply;
};

struct worker {
    pthread_t thread;
    const struct run *run;
    struct conn *cs;
    unsigned n;
    int ep;
    uint64_t pending;    /* messages issued and not yet echoed */
    uint64_t to_issue;   /* budget left over all connections (limited runs) */
    uint64_t msgs;       /* completed inside the window */
    struct hist hist;
    unsigned char *rxbuf;
    char err[ERR_LEN];
};

/* Set by the first thread that fails, so the others stop at once. */
extern atomic_bool g_abort;

/* Writes the reason into err, sets g_abort, returns -1. */
__attribute__((format(printf, 2, 3)))
int fail_msg(char err[ERR_LEN], const char *fmt, ...);

/* Sets w up over cs[0..n) (registers them with a new epoll); 0, or -1
 * with the reason in w->err. worker_fini is due either way. */
int worker_init(struct worker *w, const struct run *r, struct conn *cs, unsigned n);
/* The thread: issues the first messages, then loops until the run is
 * over or something failed (w->err says what). */
void *worker_main(void *arg);
void worker_fini(struct worker *w);

#endif
