/* hostile.h - muxd-load hostile: abusive clients, one named case at a time
 * (hcase.h), beside well-behaved ones; per case what the server did to the
 * abuser and what happened to the well-behaved latency meanwhile.
 *
 *   hs_run.c     the sequence: well-behaved clients up, baseline, each case,
 *                a liveness check after each; the verdicts and findings
 *   hs_good.c    the well-behaved clients' thread (echo or IRC probes)
 *   hs_abuser.c  an abusive connection and the loop that drives a set of
 *                them: sending, stalls, replies, markers, closes
 *   hs_cases.c   what each case sends; reset-mid-write and connect-flood
 *   hs_net.c     sockets: connect, RST, the server side's state in /proc
 *   hs_report.c  text and JSON
 */
#ifndef MUXD_LOAD_HOSTILE_H
#define MUXD_LOAD_HOSTILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hcase.h"
#include "hist.h"
#include "opts.h"

/* A send blocked or an answer owed this long means the server held the
 * abuser back: THROTTLED. */
#define LD_HS_THROTTLE_NS (1000 * 1000 * 1000ull)
/* The well-behaved latency "blew up": at least LD_HS_BLOWN_SHARE of the
 * probes (and two) took over LD_HS_BLOWN_RATIO times the baseline p99 and
 * over LD_HS_BLOWN_MIN_NS. A share, not the p99 itself: over a few hundred
 * probes the p99 is one or two of them, and one hiccup of a busy machine
 * must not count as the server's doing. */
#define LD_HS_BLOWN_RATIO 10.0
#define LD_HS_BLOWN_MIN_NS (100 * 1000 * 1000ull)
#define LD_HS_BLOWN_SHARE 0.02

enum ld_hs_outcome { LD_HS_NOT_RUN, LD_HS_CUT, LD_HS_THROTTLED, LD_HS_REFUSED, LD_HS_IGNORED, LD_HS_DOWN };

/* The well-behaved clients over one phase (the baseline or a case). */
struct ld_hs_good_stats {
    struct ld_hist lat;      /* ns; a probe still owed at the end counts its age */
    uint64_t probes, answered;
    uint64_t owed;           /* probes unanswered at the end, connection open */
    uint64_t lost;           /* connections the server closed in the phase */
    uint64_t bad;            /* echo: wrong bytes back */
};

/* What a case measured and how it was judged. */
struct ld_hs_case_result {
    enum ld_hcase id;
    enum ld_hs_outcome outcome;
    unsigned abusers, cut;   /* abusive connections / closed by the server */
    double cut_ms;           /* from the start of the abuse until the last cut */
    double stall_ms;         /* longest send blocked, connection open */
    double lag_ms;           /* longest an answer to a marker was owed */
    uint64_t sent, recvd;    /* bytes */
    uint64_t error_replies;  /* ERR lines, IRC 4xx/5xx, ERROR, rejections */
    /* connect-flood */
    uint64_t opened, refused, pending;
    double connect_max_ms;
    bool setup_failed;       /* the abusers could not be set up (note says why) */
    struct ld_hs_good_stats good;
    char note[200];
    char finding[200];       /* "" = none */
};

struct ld_hs_report {
    const struct ld_opts *o;
    bool setup_failed;
    char setup_why[200];
    struct ld_hs_good_stats baseline;
    struct ld_hs_case_result cases[HC_COUNT];
    unsigned ncases;
    unsigned findings;
};

/* ---- the well-behaved clients (hs_good.c) ---- */

struct ld_hs_good {
    const struct ld_opts *o;
    pthread_t thread;
    atomic_int phase;        /* stats slot to record into; -1 = none */
    atomic_int acked;        /* the phase the thread last saw */
    atomic_bool stop, ready, failed;
    struct ld_hs_good_stats stats[HC_COUNT + 1];
    char why[200];
};

int ld_hs_good_start(struct ld_hs_good *g, const struct ld_opts *o);
/* Records into slot from now on (-1: nothing); returns once the thread
 * has closed the previous slot (owed probes counted), so it can be read. */
void ld_hs_good_phase(struct ld_hs_good *g, int slot);
void ld_hs_good_stop(struct ld_hs_good *g);

/* ---- abusive connections (hs_abuser.c) ---- */

#define LD_HS_MARKS 4096

struct ld_hs_ctx;
struct ld_hs_abuser;
/* Queues a case's next bytes into a (called when all before went out and
 * a->next_ns is due); sets a->next_ns, UINT64_MAX when done. */
typedef void ld_hs_gen_fn(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now);

struct ld_hs_abuser {
    int fd;
    unsigned idx;
    bool cut;                /* the server closed it */
    bool never_read;
    uint64_t t0, cut_ns;     /* start of the abuse; when the close was seen */
    char *out;               /* bytes queued, not yet sent */
    size_t out_len, out_off, out_cap;
    uint64_t sent, recvd, budget;
    uint64_t blocked_since, max_blocked_ns;
    uint64_t next_ns, k;     /* the generator's clock and counter */
    uint64_t next_proc_ns;   /* never-reader: when to look in /proc next */
    char line[128];          /* the start of the current reply line */
    size_t line_len;
    char tail[32];           /* its last bytes (a marker ends a line) */
    size_t tail_len;
    uint64_t errors, lines;
    uint64_t mark_next, mark_acked, max_lag_ns;
    uint64_t mark_ns[LD_HS_MARKS];
};

struct ld_hs_ctx {
    const struct ld_opts *o;
    enum ld_hcase id;
    uint64_t t0, deadline;
    uint64_t rnd;            /* garbage's xorshift state */
    struct ld_hs_abuser *ab;
    unsigned n;
};

int ld_hs_abuser_init(struct ld_hs_abuser *a, unsigned idx, int fd, uint64_t budget);
void ld_hs_abuser_free(struct ld_hs_abuser *a);
/* Queues bytes / a marker (a line whose answer ends in HSMARK<seq>). */
int ld_hs_queue(struct ld_hs_abuser *a, const void *p, size_t n);
int ld_hs_queuef(struct ld_hs_abuser *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ld_hs_mark(struct ld_hs_ctx *x, struct ld_hs_abuser *a, uint64_t now);
/* Runs every abuser of x with gen until x->deadline or until all are cut. */
void ld_hs_drive(struct ld_hs_ctx *x, ld_hs_gen_fn *gen);
/* Fills r from x's abusers. */
void ld_hs_collect(const struct ld_hs_ctx *x, struct ld_hs_case_result *r);

/* ---- cases (hs_cases.c) ---- */

/* Runs case id for o->duration; fills r's measurements (not outcome). */
void ld_hs_case_run(const struct ld_opts *o, enum ld_hcase id, struct ld_hs_case_result *r);

/* ---- sockets (hs_net.c) ---- */

struct ld_hs_sockopt {
    int rcvbuf, mss;         /* 0 = the kernel's */
    const struct sockaddr *src; /* bind first, or NULL */
    socklen_t srclen;
};

/* A non-blocking connect started (or done): the fd, or -errno. */
int ld_hs_connect_start(const struct ld_opts *o, const struct ld_hs_sockopt *so);
/* Connected within timeout_ms (non-blocking fd returned), or -errno. */
int ld_hs_connect(const struct ld_opts *o, const struct ld_hs_sockopt *so, int timeout_ms);
void ld_hs_close_rst(int fd);
/* Whether the server has closed its side of fd (its socket in /proc/net
 * is gone or past ESTABLISHED): seen even by a client that reads nothing,
 * whose receive window holds back the server's FIN. false off loopback. */
bool ld_hs_server_closed(int fd);
/* The server accepts a connection: 0, or -errno. */
int ld_hs_alive(const struct ld_opts *o);
/* IRC registration (and JOIN chan if not NULL) on a connected fd, with the
 * lines read meanwhile; 0, or -1 with why. */
int ld_hs_chat_register(int fd, const char *nick, const char *chan, int timeout_ms, char *why,
                     size_t whylen);
/* "#<chan-prefix>0", the well-behaved clients' channel. */
void ld_hs_chan(const struct ld_opts *o, char *buf, size_t len);

/* ---- the run and its report ---- */

int ld_hostile_main(const struct ld_opts *o);
const char *ld_hs_outcome_name(enum ld_hs_outcome v);
void ld_hs_report_text(const struct ld_hs_report *rep);
void ld_hs_report_json(const struct ld_hs_report *rep);

#endif
