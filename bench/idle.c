/* idle.c - idle mode (see idle.h). */
#include "idle.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "timing.h"

#define VERIFY_TIMEOUT_S 30    /* the final round trips */

/* One message per connection and back, nothing measured. */
static int round_trip(const struct opts *o, struct conn *cs)
{
    struct run r = { .size = o->size, .depth = 1, .budget = 1, .t_stop = UINT64_MAX };
    r.t_give_up = now_ns() + VERIFY_TIMEOUT_S * NS_PER_S;
    struct result res;
    int rc = engine_run(&r, cs, o->conns, 1, 0, &res);
    result_free(&res);
    return rc;
}

/* stdin counts only when it can really reach EOF on request: a pipe, a
 * socket or a terminal. /dev/null or a file would end the hold at once. */
static bool stdin_is_control(void)
{
    struct stat st;
    if (fstat(STDIN_FILENO, &st) < 0)
        return false;
    return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

/* Blocks until SIGTERM/SIGINT (read from a signalfd) or EOF on a
 * controlling stdin. */
static int hold(const sigset_t *sigs)
{
    int sfd = signalfd(-1, sigs, SFD_CLOEXEC);
    if (sfd < 0) {
        perror("echo_bench: signalfd");
        return -1;
    }
    struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
                           { .fd = stdin_is_control() ? STDIN_FILENO : -1, .events = POLLIN } };
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents) {
            char buf[512];
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
    }
    close(sfd);
    return 0;
}

int idle_mode(const struct opts *o, struct conn *cs, const sigset_t *sigs)
{
    if (o->warm && round_trip(o, cs) < 0)
        return -1;
    printf("ready %u\n", o->conns);
    fflush(stdout);
    if (hold(sigs) < 0 || round_trip(o, cs) < 0)
        return -1;
    printf("verified %u\n", o->conns);
    fflush(stdout);
    return 0;
}
