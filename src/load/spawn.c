/* spawn.c - forked worker processes (see spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "run.h"
#include "watch.h"

#define GO_AHEAD_NS (50 * NS_PER_MS)

/* What a worker shares with the parent. */
struct slot {
    struct ld_live live;
    struct ld_result res;
};

struct worker {
    pid_t pid;
    int ready_fd;            /* parent reads: one status byte, 0 = set up */
    int go_fd;               /* parent writes: the go time */
    bool reaped;
    int status;
};

struct family {
    const struct ld_opts *o;
    struct slot *slots;
    struct worker *ws;
    unsigned n;
};

unsigned ld_processes_needed(const struct ld_opts *o)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1;
    if (rl.rlim_cur <= 2 * LD_FD_MARGIN) {
        fprintf(stderr, "muxd-load: the descriptor limit %llu is too low to run anything\n",
                (unsigned long long)rl.rlim_cur);
        return 0;
    }
    unsigned long long per = rl.rlim_cur - LD_FD_MARGIN;
    unsigned long long total = ld_total_conns(o);
    return (unsigned)((total + per - 1) / per);
}

static struct ld_share share_of(const struct ld_opts *o, unsigned k, unsigned procs)
{
    unsigned total = ld_total_conns(o);
    unsigned first = 0;
    for (unsigned j = 0; j < k; j++)
        first += total / procs + (j < total % procs);
    unsigned threads = o->threads / procs;
    return (struct ld_share){ .first = first, .n = total / procs + (k < total % procs),
                              .threads = threads ? threads : 1 };
}

/* The worker: its share, a status byte when set up, the go, the result
 * into its slot. Never returns. */
static _Noreturn void worker_main(const struct ld_opts *o, struct slot *s, struct ld_share sh,
                                  int ready_fd, int go_fd)
{
    struct ld_proc p;
    int rc = ld_proc_start(&p, o, &sh, &s->live);
    while (rc == 0 && !ld_proc_ready(&p))
        ld_sleep_ns(5 * NS_PER_MS);
    unsigned char status = rc == 0 && !atomic_load(&s->live.abort) ? 0 : 1;
    uint64_t t0 = LD_T0_ABORT;
    if (write(ready_fd, &status, 1) != 1 || read(go_fd, &t0, sizeof t0) != sizeof t0)
        t0 = LD_T0_ABORT;
    atomic_store(&s->live.t0, t0);
    ld_result_init(&s->res);
    ld_proc_collect(&p, &s->res);
    _exit(rc == 0 ? 0 : 1);
}

/* Forks worker k with its two pipes; the descriptors of earlier workers
 * are closed in the child. 0 or -1. */
static int fork_worker(struct family *f, unsigned k)
{
    int rp[2], gp[2];
    if (pipe2(rp, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(gp, O_CLOEXEC) < 0) {
        close(rp[0]);
        close(rp[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (unsigned j = 0; j < k; j++) {
            close(f->ws[j].ready_fd);
            close(f->ws[j].go_fd);
        }
        close(rp[0]);
        close(gp[1]);
        worker_main(f->o, &f->slots[k], share_of(f->o, k, f->n), rp[1], gp[0]);
    }
    close(rp[1]);
    close(gp[0]);
    f->ws[k] = (struct worker){ .pid = pid, .ready_fd = rp[0], .go_fd = gp[1] };
    if (pid < 0) {
        close(rp[0]);
        close(gp[1]);
        f->ws[k].ready_fd = f->ws[k].go_fd = -1;
        return -1;
    }
    return 0;
}

/* Reaps whoever exited; a worker that failed stops the rest. */
static bool any_alive(void *arg)
{
    struct family *f = arg;
    bool alive = false;
    for (unsigned k = 0; k < f->n; k++) {
        struct worker *w = &f->ws[k];
        if (w->reaped || w->pid <= 0)
            continue;
        if (waitpid(w->pid, &w->status, WNOHANG) == w->pid) {
            w->reaped = true;
            if (!WIFEXITED(w->status) || WEXITSTATUS(w->status) != 0)
                for (unsigned j = 0; j < f->n; j++)
                    atomic_store(&f->slots[j].live.abort, true);
        } else {
            alive = true;
        }
    }
    return alive;
}

/* One status byte from every worker; false if any failed or died. */
static bool all_ready(struct family *f, struct ld_watch *w)
{
    bool ok = true;
    for (unsigned k = 0; k < f->n; k++) {
        unsigned char st = 1;
        struct pollfd pfd = { .fd = f->ws[k].ready_fd, .events = POLLIN };
        while (poll(&pfd, 1, 20) == 0)
            ld_watch_tick(w, ld_now_ns());
        if (read(f->ws[k].ready_fd, &st, 1) != 1 || st != 0)
            ok = false;
    }
    return ok;
}

static void send_go(struct family *f, uint64_t t0)
{
    for (unsigned k = 0; k < f->n; k++)
        if (f->ws[k].go_fd >= 0 && write(f->ws[k].go_fd, &t0, sizeof t0) != sizeof t0)
            atomic_store(&f->slots[k].live.abort, true); /* it died; any_alive tells */
}

/* Waits for every worker and merges what each wrote. A worker that died
 * without a result counts as an error. */
static void gather(struct family *f, struct ld_result *out)
{
    for (unsigned k = 0; k < f->n; k++) {
        struct worker *w = &f->ws[k];
        if (w->pid > 0 && !w->reaped)
            waitpid(w->pid, &w->status, 0);
        if (w->ready_fd >= 0)
            close(w->ready_fd);
        if (w->go_fd >= 0)
            close(w->go_fd);
        if (w->pid <= 0)
            continue;
        if (WIFSIGNALED(w->status)) {
            out->errors++;
            ld_result_why(out, "worker process %u died of signal %d", k, WTERMSIG(w->status));
            continue;
        }
        ld_result_merge(out, &f->slots[k].res);
    }
}

unsigned ld_threads_in_all(const struct ld_opts *o, unsigned procs)
{
    unsigned sum = 0;
    for (unsigned k = 0; k < procs; k++) {
        struct ld_share sh = share_of(o, k, procs);
        sum += sh.threads < sh.n ? sh.threads : (sh.n ? sh.n : 1);
    }
    return sum;
}

int ld_run_forked(const struct ld_opts *o, unsigned procs, struct ld_result *out,
                  double *server_cpu_s)
{
    struct family f = { .o = o, .n = procs };
    *server_cpu_s = -1.0;
    size_t bytes = procs * sizeof *f.slots;
    f.slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    f.ws = calloc(procs, sizeof *f.ws);
    struct ld_live **lives = calloc(procs, sizeof *lives);
    if (f.slots == MAP_FAILED || !f.ws || !lives) {
        fprintf(stderr, "muxd-load: out of memory for %u worker processes\n", procs);
        return -1;
    }
    for (unsigned k = 0; k < procs; k++)
        f.ws[k] = (struct worker){ .ready_fd = -1, .go_fd = -1 };
    int rc = 0;
    for (unsigned k = 0; k < procs; k++) {
        lives[k] = &f.slots[k].live;
        if (rc == 0 && fork_worker(&f, k) < 0) {
            fprintf(stderr, "muxd-load: cannot start worker process %u of %u: %s; run %u "
                    "muxd-load processes with -c %u each instead\n", k + 1, procs,
                    strerror(errno), procs, (ld_total_conns(o) + procs - 1) / procs);
            rc = -1;
        }
    }
    struct ld_watch w;
    ld_watch_init(&w, o, lives, procs, ld_threads_in_all(o, procs));
    w.alive = any_alive;
    w.alive_arg = &f;
    if (rc == 0 && all_ready(&f, &w)) {
        struct ld_times tm;
        ld_times_set(&tm, o, ld_now_ns() + GO_AHEAD_NS);
        send_go(&f, tm.t0);
        ld_watch_run(&w, &tm, server_cpu_s);
    } else {
        send_go(&f, LD_T0_ABORT);
    }
    gather(&f, out);
    munmap(f.slots, bytes);
    free(f.ws);
    free(lives);
    return rc;
}
