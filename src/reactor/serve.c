/* serve.c - mx_server_serve: the start / wait for a signal / stop
 * sequence every program around a server needs, written once. Every
 * signal an operator or a tool is likely to send has a meaning here
 * (docs/operations.md#signals): HUP reloads, USR1 logs a stats line, USR2
 * is logged and ignored, INT, TERM and QUIT stop gracefully. Uses only the
 * public API, so it is what a user would write by hand. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "muxd/log.h"
#include "muxd/server.h"
#include "muxd/stats.h"

static bool is_stop(int sig)
{
    return sig == SIGINT || sig == SIGTERM || sig == SIGQUIT;
}

/* Resident set in kB from /proc/self/statm (one short read), or -1. */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    unsigned long size, resident;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2)
        return -1;
    return (long)(resident * (unsigned long)sysconf(_SC_PAGESIZE) / 1024);
}

/* "0:12 1:9 ..." open connections per worker ever run (a retired one
 * shows 0); cut short, never overrun, past len. */
static void per_worker(const struct mx_server *s, unsigned n, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < n && at < len; i++) {
        struct mx_worker_stats w;
        if (mx_server_worker_stats(s, i, &w) < 0)
            continue;
        uint64_t open = w.conns_opened + w.conns_moved_in - w.conns_closed - w.conns_moved_out;
        int k = snprintf(buf + at, len - at, "%s%u:%" PRIu64, at ? " " : "", i, open);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

/* SIGUSR1: the numbers an operator asks for first, on one line, without
 * needing the admin listener. Runs on the signal thread, not in a
 * handler, so stdio and /proc are fine. */
static void log_stats(const struct mx_server *s, int sig)
{
    struct mx_server_stats st;
    if (mx_server_stats(s, &st) < 0) {
        mx_info("signal %d (%s): stats: not started yet", sig, strsignal(sig));
        return;
    }
    char workers[512];
    per_worker(s, st.workers_seen, workers, sizeof workers);
    mx_info("signal %d (%s): stats: connections=%" PRIu64 " workers=%u per_worker=[%s] "
            "rss_kb=%ld refused_max=%" PRIu64 " refused_per_ip=%" PRIu64
            " offload_outstanding=%" PRIu64, sig, strsignal(sig), st.conns_open, st.workers,
            workers, rss_kb(), st.rejected_max_conns,
            st.rejected_per_ip_limit + st.rejected_per_ip_rate, st.offload_outstanding);
}

/* A signal that does not stop the server, taken while it serves. */
static void on_signal(struct mx_server *s, int sig, const struct mx_serve_hooks *h)
{
    if (sig == SIGUSR1) {
        log_stats(s, sig);
    } else if (sig == SIGUSR2) {
        /* Reserved so that a stray USR2 (a log rotator's, a mistyped
         * kill) never kills the server as its default action would. */
        mx_info("signal %d (%s): ignored (muxd gives it no meaning)", sig, strsignal(sig));
    } else if (h && h->reload) {
        mx_info("signal %d (%s): reloading", sig, strsignal(sig));
        h->reload(s, h->arg);
    } else {
        mx_info("signal %d (%s): nothing to reload", sig, strsignal(sig));
    }
}

/* The next SIGINT, SIGTERM or SIGQUIT; the others are served meanwhile. */
static int wait_for_stop(struct mx_server *s, const sigset_t *sigs,
                         const struct mx_serve_hooks *h)
{
    for (;;) {
        int sig = sigwaitinfo(sigs, NULL);
        if (sig < 0)
            continue; /* EINTR */
        if (is_stop(sig))
            return sig;
        on_signal(s, sig, h);
    }
}

/* The stop may take up to shutdown_timeout; polling lets a second signal
 * cut it short without a thread or a handler. A SIGHUP now is too late,
 * SIGUSR1 still shows what is left. */
static int wait_stopped(struct mx_server *s, const sigset_t *sigs)
{
    const struct timespec tick = { 0, 20 * 1000 * 1000 };
    while (!mx_server_finished(s)) {
        int sig = sigtimedwait(sigs, NULL, &tick);
        if (is_stop(sig)) {
            mx_warn("second signal (%s): exiting now", strsignal(sig));
            return -EINTR;
        }
        if (sig == SIGUSR1)
            log_stats(s, sig);
        else if (sig > 0)
            mx_info("signal %d (%s): ignored while stopping", sig, strsignal(sig));
    }
    return 0;
}

int mx_server_serve(struct mx_server *s, const struct mx_serve_hooks *hooks)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    const int taken[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        sigaddset(&sigs, taken[i]);
    /* Before any thread starts, so all of them inherit the mask and only
     * this thread ever takes these signals. */
    int err = pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (err != 0)
        return -err;
    if ((err = mx_server_start(s)) < 0)
        return err;
    if (hooks && hooks->started)
        hooks->started(s, hooks->arg);
    int sig = wait_for_stop(s, &sigs, hooks);
    mx_info("signal %d (%s): stopping; again to exit at once", sig, strsignal(sig));
    if (hooks && hooks->stopping)
        hooks->stopping(s, hooks->arg);
    mx_server_stop(s);
    return wait_stopped(s, &sigs);
}
