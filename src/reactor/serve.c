/* serve.c - mx_server_serve: the start / wait for a signal (reloading on
 * SIGHUP) / stop sequence every program around a server needs, written
 * once. Uses only the public API, so it is what a user would write by
 * hand. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "muxd/log.h"
#include "muxd/server.h"

/* The next SIGINT or SIGTERM; each SIGHUP before it is a reload. */
static int wait_for_stop(struct mx_server *s, const sigset_t *sigs,
                         const struct mx_serve_hooks *h)
{
    for (;;) {
        int sig = sigwaitinfo(sigs, NULL);
        if (sig < 0)
            continue; /* EINTR */
        if (sig != SIGHUP)
            return sig;
        if (h && h->reload) {
            mx_info("signal %d (%s): reloading", sig, strsignal(sig));
            h->reload(s, h->arg);
        } else {
            mx_info("signal %d (%s): nothing to reload", sig, strsignal(sig));
        }
    }
}

/* The stop may take up to shutdown_timeout; polling lets a second signal
 * cut it short without a thread or a handler. A SIGHUP now is too late. */
static int wait_stopped(struct mx_server *s, const sigset_t *sigs)
{
    const struct timespec tick = { 0, 20 * 1000 * 1000 };
    while (!mx_server_finished(s)) {
        int sig = sigtimedwait(sigs, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            mx_warn("second signal (%s): exiting now", strsignal(sig));
            return -EINTR;
        }
    }
    return 0;
}

int mx_server_serve(struct mx_server *s, const struct mx_serve_hooks *hooks)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
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
