/* work.c - the work service (see work.h).
 *
 * With offload off a request runs right here on the worker thread, and
 * every other connection of that worker waits until it is done: the stall
 * a single select() loop suffers from any slow handler, shown on purpose.
 * With offload on the request goes to the offload pool and only its own
 * connection waits: it is paused until the answer is back, so its later
 * lines are read afterwards and the replies keep request order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muxd/conn.h"
#include "muxd/offload.h"
#include "muxd/proto.h"
#include "proto/line.h"
#include "proto/work.h"

enum work_kind { WORK_SPIN, WORK_SLEEP };

/* One request; offloaded ones are malloc'ed and freed in job_done. */
struct work_job {
    enum work_kind kind;
    unsigned ms;
};

enum parsed { P_OTHER, P_REQUEST, P_BAD };

/* Sends return 0, or an error once the connection is closing. */
static int send_str(struct mx_conn *c, const char *s)
{
    return mx_conn_send(c, s, strlen(s));
}

static int send_done(struct mx_conn *c, unsigned ms)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "DONE %u\n", ms);
    return mx_conn_send(c, buf, (size_t)n);
}

/* ---- the work itself ---------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Wall time rather than CPU time, so a request lasts as long as it says
 * even on a busy machine: the stall it causes is then easy to see. */
static void spin(unsigned ms)
{
    int64_t end = now_ns() + (int64_t)ms * 1000000;
    while (now_ns() < end)
        ;
}

static void sleep_ms(unsigned ms)
{
    struct timespec left = { ms / 1000, (long)(ms % 1000) * 1000000 };
    /* A signal must not cut the request short. */
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}

/* mx_work_fn: on a pool thread, or inline on the worker. */
static void run_job(void *arg)
{
    const struct work_job *j = arg;
    if (j->kind == WORK_SPIN)
        spin(j->ms);
    else
        sleep_ms(j->ms);
}

/* mx_done_fn: back on the owner worker. c == NULL means the connection
 * went away (or the server is stopping): the job is all there is left. */
static void job_done(struct mx_conn *c, void *arg)
{
    struct work_job *j = arg;
    if (c) {
        send_done(c, j->ms);
        mx_conn_resume(c);
    }
    free(j);
}

/* ---- requests ----------------------------------------------------------- */

/* " <digits>" up to MX_WORK_MAX_MS; checked digit by digit so that a long
 * number cannot overflow. */
static int parse_ms(const char *p, size_t n, unsigned *ms)
{
    unsigned long v = 0;
    if (n < 2 || p[0] != ' ')
        return -1;
    for (size_t i = 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
        if (v > MX_WORK_MAX_MS)
            return -1;
    }
    *ms = (unsigned)v;
    return 0;
}

/* p[0..n) is a line without its terminator. Only the first word decides
 * whether it is a request, so "SPINACH" is echoed but "SPIN x" is bad. */
static enum parsed parse_request(const char *p, size_t n, struct work_job *j)
{
    const char *sp = memchr(p, ' ', n);
    size_t word = sp ? (size_t)(sp - p) : n;
    if (word == 4 && memcmp(p, "SPIN", 4) == 0)
        j->kind = WORK_SPIN;
    else if (word == 5 && memcmp(p, "SLEEP", 5) == 0)
        j->kind = WORK_SLEEP;
    else
        return P_OTHER;
    return parse_ms(p + word, n - word, &j->ms) ? P_BAD : P_REQUEST;
}

/* The length of a complete line of k bytes without its "\n" or "\r\n". */
static size_t body_len(const char *p, size_t k)
{
    size_t n = k - 1;
    return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

/* true when c must read nothing more for now: the job went to the pool
 * and c is paused until job_done, or c is closing. */
static bool offload_job(struct mx_conn *c, const struct work_job *j)
{
    struct work_job *copy = malloc(sizeof *copy);
    if (copy)
        *copy = *j;
    int err = copy ? mx_offload(c, run_job, job_done, copy) : -ENOMEM;
    if (err == 0) {
        /* Pausing after the hand-off is safe: job_done comes through the
         * worker's loop, never from inside this callback. */
        mx_conn_pause(c);
        return true;
    }
    free(copy);
    /* -EBUSY above all (the pool's queue is full); answering beats
     * queueing without bound. -ENOMEM and -ENOTSUP (no pool, which the
     * config forbids) likewise mean the job cannot be taken now. A
     * closing connection (-ECONNRESET) gets nothing more. */
    return err == -ECONNRESET || send_str(c, "ERR busy\n") < 0;
}

/* Answers the complete line p[0..k). Returns false when c is paused, or
 * closing, and must read nothing more for now. */
static bool handle_line(struct mx_conn *c, const struct mx_work_opts *o, const char *p,
                        size_t k)
{
    struct work_job j;
    switch (parse_request(p, body_len(p, k), &j)) {
    case P_OTHER:
        return mx_conn_send(c, p, k) == 0;
    case P_BAD:
        return send_str(c, "ERR bad request\n") == 0;
    case P_REQUEST:
        break;
    }
    if (o->offload)
        return !offload_job(c, &j);
    run_job(&j); /* blocks this worker: the stall, on purpose */
    return send_done(c, j.ms) == 0;
}

static size_t work_data(struct mx_conn *c, const char *p, size_t n)
{
    const struct mx_work_opts *o = mx_conn_listener_data(c);
    size_t off = 0;
    for (;;) {
        ssize_t k = mx_line_next(p + off, n - off, mx_conn_max_line(c));
        if (k < 0) {
            send_str(c, "ERR line too long\n");
            mx_conn_close(c, "line too long");
            return n;
        }
        if (k == 0)
            return off;
        off += (size_t)k;
        /* Consumed up to and including this line; the rest is kept by the
         * server and offered again after mx_conn_resume. */
        if (!handle_line(c, o, p + off - (size_t)k, (size_t)k))
            return off;
    }
}

const struct mx_proto mx_work_proto = {
    .name = "work",
    .on_data = work_data,
};
