/* load.c - running the engine over threads, and load mode (see load.h). */
#include "load.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heavy.h"
#include "report.h"
#include "timing.h"

#define DRAIN_TIMEOUT_S 10     /* after the window: echoes still owed */

/* Sleeps until t, waking early if a thread failed. */
static void sleep_until(uint64_t t)
{
    uint64_t now;
    while (!atomic_load(&g_abort) && (now = now_ns()) < t) {
        uint64_t step = t - now;
        sleep_ns(step < 50 * NS_PER_MS ? step : 50 * NS_PER_MS);
    }
}

/* A CPU-time reading at one end of the measured window. */
struct cpu_mark {
    double server, client, machine;
};

static struct cpu_mark cpu_mark(pid_t server)
{
    return (struct cpu_mark){ .server = server ? proc_cpu_s(server) : -1.0,
                              .client = proc_cpu_s(getpid()),
                              .machine = machine_busy_s() };
}

static double cpu_delta(double a, double b)
{
    return a >= 0 && b >= 0 ? b - a : -1.0;
}

/* Reads the CPU clocks at the window's ends while the threads run, here,
 * so the window the CPU is charged to is exactly the one the messages are
 * counted in. */
static void watch_window(const struct run *r, pid_t server, struct result *res)
{
    res->server_cpu_s = res->client_cpu_s = res->machine_busy_s = -1.0;
    if (r->t_end <= r->t_start)
        return;
    sleep_until(r->t_start);
    struct cpu_mark m0 = cpu_mark(server);
    sleep_until(r->t_end);
    struct cpu_mark m1 = cpu_mark(server);
    if (atomic_load(&g_abort))
        return;
    res->server_cpu_s = cpu_delta(m0.server, m1.server);
    res->client_cpu_s = cpu_delta(m0.client, m1.client);
    res->machine_busy_s = cpu_delta(m0.machine, m1.machine);
}

/* Every thread of one run: the light workers, and the heavy clients'
 * thread when there are any. */
struct crew {
    struct worker *ws;
    unsigned threads, inited, started;
    struct heavy *heavy;     /* NULL without heavy connections */
    bool heavy_started;
};

/* Gives each light thread its share of the connections, sets up the heavy
 * thread, and starts them all. On a failure g_abort is set; crew says what
 * was set up (and must be finished) and what runs (and must be joined). */
static void crew_start(struct crew *cr, const struct run *r, struct conn *cs, unsigned n)
{
    unsigned first = 0;
    for (; cr->inited < cr->threads; cr->inited++) {
        unsigned share = n / cr->threads + (cr->inited < n % cr->threads);
        if (worker_init(&cr->ws[cr->inited], r, cs + first, share) < 0) {
            cr->inited++; /* its err and resources are looked at later */
            return;
        }
        first += share;
    }
    if (cr->heavy && heavy_init(cr->heavy, r, cs + n, r->heavy) < 0)
        return;
    for (; cr->started < cr->inited; cr->started++) {
        int err = pthread_create(&cr->ws[cr->started].thread, NULL, worker_main,
                                 &cr->ws[cr->started]);
        if (err) {
            fail_msg(cr->ws[cr->started].err, "cannot start a thread: %s", strerror(err));
            return;
        }
    }
    if (cr->heavy) {
        int err = pthread_create(&cr->heavy->thread, NULL, heavy_main, cr->heavy);
        if (err)
            fail_msg(cr->heavy->err, "cannot start the heavy thread: %s", strerror(err));
        cr->heavy_started = err == 0;
    }
}

static void crew_join(struct crew *cr)
{
    for (unsigned t = 0; t < cr->started; t++)
        pthread_join(cr->ws[t].thread, NULL);
    if (cr->heavy_started)
        pthread_join(cr->heavy->thread, NULL);
}

static int first_failure(int rc, const char *err)
{
    if (err[0] && rc == 0) {
        fprintf(stderr, "echo_bench: %s\n", err);
        return -1;
    }
    return rc;
}

/* Merges what the threads counted and reports the first failure. */
static int crew_collect(struct crew *cr, struct result *res)
{
    int rc = 0;
    for (unsigned t = 0; t < cr->inited; t++) {
        struct worker *w = &cr->ws[t];
        rc = first_failure(rc, w->err);
        if (w->hist.b) {
            hist_merge(&res->hist, &w->hist);
            res->msgs += w->msgs;
        }
        worker_fini(w);
    }
    if (cr->heavy) {
        rc = first_failure(rc, cr->heavy->err);
        if (cr->heavy->hist.b) {
            hist_merge(&res->heavy_hist, &cr->heavy->hist);
            res->heavy_reqs += cr->heavy->reqs;
        }
        heavy_fini(cr->heavy);
    }
    return rc;
}

int engine_run(const struct run *r, struct conn *cs, unsigned n, unsigned threads, pid_t server,
               struct result *res)
{
    *res = (struct result){ 0 };
    struct crew cr = { .threads = threads };
    cr.ws = calloc(threads, sizeof *cr.ws);
    if (r->heavy > 0)
        cr.heavy = calloc(1, sizeof *cr.heavy);
    if (!cr.ws || (r->heavy > 0 && !cr.heavy) || hist_init(&res->hist) < 0 ||
        hist_init(&res->heavy_hist) < 0) {
        fprintf(stderr, "echo_bench: out of memory\n");
        free(cr.ws);
        free(cr.heavy);
        return -1;
    }
    crew_start(&cr, r, cs, n);
    if (!atomic_load(&g_abort))
        watch_window(r, server, res);
    crew_join(&cr);
    int rc = crew_collect(&cr, res);
    free(cr.ws);
    free(cr.heavy);
    return rc;
}

void result_free(struct result *res)
{
    hist_free(&res->hist);
    hist_free(&res->heavy_hist);
}

int load_mode(const struct opts *o, struct conn *cs)
{
    uint64_t t0 = now_ns();
    uint64_t window = (uint64_t)(o->seconds * (double)NS_PER_S);
    struct run r = { .size = o->size, .depth = o->depth, .budget = UNLIMITED,
                     .heavy = o->heavy, .heavy_req = o->heavy_req,
                     .heavy_reply = o->heavy_reply };
    r.t_start = t0 + (uint64_t)(o->warmup * (double)NS_PER_S);
    r.t_end = r.t_stop = r.t_start + window;
    r.t_give_up = r.t_stop + DRAIN_TIMEOUT_S * NS_PER_S;
    struct result res;
    int rc = engine_run(&r, cs, o->conns, o->threads, o->server_pid, &res);
    if (rc == 0 && o->server_pid && res.server_cpu_s < 0) {
        fprintf(stderr, "echo_bench: cannot read /proc/%d/stat\n", (int)o->server_pid);
        rc = -1;
    }
    if (rc == 0 && res.msgs == 0) {
        fprintf(stderr, "echo_bench: no message completed inside the window\n");
        rc = -1;
    }
    if (rc == 0)
        (o->json ? print_json : print_text)(o, &res, (double)window / NS_PER_S);
    result_free(&res);
    return rc;
}
