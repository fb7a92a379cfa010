/* serve.c - mx_server_serve: the start / wait for a signal / stop sequence
 * every program around a server needs, written once. Uses only the public
 * API, so it is what a user would write by hand. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "muxd/log.h"
#include "muxd/server.h"

static int take_signal(const sigset_t *sigs)
{
    int sig;
    while ((sig = sigwaitinfo(sigs, NULL)) < 0 && errno == EINTR)
        ;
    return sig;
}

/* The stop may take up to shutdown_timeout; polling lets a second signal
 * cut it short without a thread or a handler. */
static int wait_stopped(struct mx_server *s, const sigset_t *sigs)
{
    const struct timespec tick = { 0, 20 * 1000 * 1000 };
    while (!mx_server_finished(s)) {
        int sig = sigtimedwait(sigs, NULL, &tick);
        if (sig > 0) {
            mx_warn("second signal (%s): exiting now", strsignal(sig));
            return -EINTR;
        }
    }
    return 0;
}

int mx_server_serve(struct mx_server *s, mx_serve_fn *started, void *arg)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    /* Before any thread starts, so all of them inherit the mask and only
     * this thread ever takes these signals. */
    int err = pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (err != 0)
        return -err;
    if ((err = mx_server_start(s)) < 0)
        return err;
    if (started)
        started(s, arg);
    int sig = take_signal(&sigs);
    mx_info("signal %d (%s): stopping; again to exit at once", sig, strsignal(sig));
    mx_server_stop(s);
    return wait_stopped(s, &sigs);
}
