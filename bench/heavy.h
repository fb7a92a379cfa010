/* heavy.h - heavy clients: connections that each send one request line
 * (the run's heavy_req, such as "SPIN 50\n"), wait for its reply (such as
 * "DONE 50\n", checked byte for byte), and send it again, back to back,
 * until the run stops issuing. They run in a thread of their own beside
 * the light connections' engine threads; what they complete inside the
 * measured window is counted apart from the light messages.
 */
#ifndef ECHO_BENCH_HEAVY_H
#define ECHO_BENCH_HEAVY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "engine.h"
#include "hist.h"

#define HEAVY_RXBUF 4096

struct heavy {
    pthread_t thread;
    const struct run *run;
    struct conn *cs;
    unsigned n;
    int ep;
    size_t req_len, reply_len;
    uint64_t pending;    /* requests sent and not yet answered */
    uint64_t reqs;       /* answered inside the window */
    struct hist hist;    /* their latency */
    unsigned char rxbuf[HEAVY_RXBUF];
    char err[ERR_LEN];
};

/* Sets h up over cs[0..n); 0, or -1 with the reason in h->err.
 * heavy_fini is due either way. */
int heavy_init(struct heavy *h, const struct run *r, struct conn *cs, unsigned n);
/* The thread (see above). */
void *heavy_main(void *arg);
void heavy_fini(struct heavy *h);

#endif
