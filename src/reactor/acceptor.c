/* acceptor.c - accept, admit, and hand off round-robin.
 *
 * The acceptor never creates a connection object: it posts the bare fd to
 * the next worker's inbox and that worker builds the connection, so every
 * connection is born on the thread that owns it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/fault.h"
#include "io/backend.h"
#include "muxd/log.h"
#include "reactor/server.h"

#define PAUSE_MS 100

/* Out of descriptors: one line when shedding starts and one when an
 * accept succeeds again (fd_exhaustion_over), as admit does for
 * max_connections, however long it lasts and however many are shed. */
static void log_fd_exhaustion(struct mx_acceptor *a, int err)
{
    if (a->emfile_shedding)
        return;
    a->emfile_shedding = true;
    a->emfile_burst = 0;
    mx_warn("accept: %s; shedding connections until descriptors free up", strerror(err));
}

static void fd_exhaustion_over(struct mx_acceptor *a)
{
    if (!a->emfile_shedding)
        return;
    a->emfile_shedding = false;
    mx_info("accept: descriptors free again: %llu connections refused in that burst; "
            "admitting again", (unsigned long long)a->emfile_burst);
}

/* An accepted connection had to go for want of descriptors (the io_uring
 * acceptor's injected EMFILE, fault.h): logged and counted as a shed. */
void mx__acceptor_refused_fd(struct mx_acceptor *a, int err)
{
    log_fd_exhaustion(a, err);
    a->rejected++;
    a->emfile_burst++;
    mx__count(&a->rejected_emfile, 1);
}

/* Out of descriptors: give up the spare one to accept and close the
 * waiting connection, so the peer learns at once and the listening
 * socket stops being readable. Without a spare, pause accepting briefly
 * rather than spin on a socket that stays readable. Returns true if a
 * connection was shed and the backlog may hold more. (accept reports
 * EMFILE before it looks at the backlog, so an empty backlog shows up
 * only here, as EAGAIN.) */
static bool shed_one(struct mx_acceptor *a, int lfd, int err)
{
    log_fd_exhaustion(a, err);
    bool shed = false;
    if (a->reserve_fd < 0) /* lost in an earlier episode: try again */
        a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (a->reserve_fd >= 0) {
        close(a->reserve_fd);
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            a->rejected++;
            a->emfile_burst++;
            mx__count(&a->rejected_emfile, 1);
            shed = true;
        }
        a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (a->reserve_fd < 0) {
        a->paused_until_ms = mx__clock_ms() + PAUSE_MS;
        return false;
    }
    return shed;
}

/* One line when a burst of refusals starts and one when it ends, not one
 * per refused connection: a flood must not flood the log too. */
static bool admit(struct mx_acceptor *a, int fd)
{
    struct mx_server *s = a->srv;
    size_t n = atomic_fetch_add(&s->nconns, 1) + 1;
    size_t max = atomic_load_explicit(&s->max_conns, memory_order_relaxed);
    if (n <= max) {
        if (a->burst) {
            mx_info("max_connections: %llu connections refused in that burst; admitting again",
                    (unsigned long long)a->burst);
            a->burst = 0;
        }
        return true;
    }
    atomic_fetch_sub(&s->nconns, 1);
    close(fd);
    a->rejected++;
    mx__count(&a->rejected_max_conns, 1);
    if (a->burst++ == 0)
        mx_warn("max_connections (%zu) reached: refusing new connections", max);
    return false;
}

static void hand_off(struct mx_acceptor *a, int fd, struct mx_listener *ls, uint32_t ticket)
{
    struct mx_server *s = a->srv;
    /* A reload may change the count between two calls (resize.c). */
    unsigned n = atomic_load_explicit(&s->nworkers, memory_order_acquire);
    if (a->next >= n)
        a->next = 0;
    struct mx_worker *w = &s->workers[a->next];
    a->next = (a->next + 1) % n;
    struct mx_msg m = { .type = MX_MSG_CONN, .fd = fd, .ptr = ls, .id = ticket };
    if (mx__inbox_post(&w->inbox, &m) < 0) {
        mx__server_conn_gone(s, ticket);
        close(fd);
        return;
    }
    a->accepted++;
}

void mx__acceptor_take(struct mx_acceptor *a, int fd, struct mx_listener *ls)
{
    fd_exhaustion_over(a);
    mx__sock_tune_accepted(fd);
    /* Per address first: what it refuses never counts against
     * max_connections, even for a moment. */
    uint32_t ticket;
    if (!mx__acceptor_admit_ip(a, fd, ls, &ticket))
        return;
    if (admit(a, fd))
        hand_off(a, fd, ls, ticket);
    else
        mx__admit_ip_release(&a->srv->perip, ticket);
}

void mx__acceptor_accept_all(struct mx_acceptor *a, struct mx_listener *ls)
{
    for (;;) {
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 && MX_FAULT(MX_FAULT_EMFILE)) {
            close(fd);   /* as if the ceiling had refused it */
            fd = -1;
            errno = EMFILE;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (shed_one(a, ls->fd, errno))
                    continue;
                return;
            }
            if (errno != EAGAIN)
                mx_warn("accept on %s: %s", ls->addr, strerror(errno));
            return;
        }
        mx__acceptor_take(a, fd, ls);
    }
}

/* While paused the listening sockets stay readable, so wait on the stop
 * eventfd alone. Returns false when asked to stop. */
static bool sit_out_pause(struct mx_acceptor *a)
{
    uint64_t now = mx__clock_ms();
    if (now < a->paused_until_ms) {
        struct pollfd p = { .fd = a->stop_efd, .events = POLLIN };
        if (poll(&p, 1, (int)(a->paused_until_ms - now)) > 0)
            return false;
    }
    a->paused_until_ms = 0;
    return true;
}

static void epoll_loop(struct mx_acceptor *a)
{
    for (;;) {
        if (a->paused_until_ms && !sit_out_pause(a))
            return;
        struct epoll_event evs[MX_SERVER_MAX_LISTENERS + 1];
        int n = epoll_wait(a->epfd, evs, MX_SERVER_MAX_LISTENERS + 1, -1);
        if (n < 0 && errno != EINTR) {
            mx_error("acceptor epoll_wait: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                return;
            if (evs[i].data.ptr == a)
                mx__acceptor_reconcile(a);
            else
                mx__acceptor_accept_all(a, evs[i].data.ptr);
        }
    }
}

/* Under the io_uring backend the acceptor uses multishot accept too;
 * if its ring cannot be set up, the epoll loop serves just as well. */
static void *acceptor_main(void *arg)
{
    struct mx_acceptor *a = arg;
    mx_log_thread_name("muxd-accept");
    /* The loop waits for the first listener change (not read: the loop
     * still finds it), so that change always comes before the loop. */
    if (MX_FAULT(MX_FAULT_ACCEPT_LATE))
        poll(&(struct pollfd){ .fd = a->ctl_efd, .events = POLLIN }, 1, 5000);
    if (a->srv->be->accept_uring) {
        int err = mx__acceptor_uring_loop(a);
        if (err == 0)
            return NULL;
        mx_warn("acceptor: io_uring unavailable (%s); accepting with epoll", strerror(-err));
    }
    epoll_loop(a);
    return NULL;
}

static int watch(int epfd, int fd, void *ptr)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void mx__acceptor_reconcile(struct mx_acceptor *a)
{
    uint64_t n;
    if (read(a->ctl_efd, &n, sizeof n) < 0 && errno != EAGAIN)
        mx_warn("acceptor: control eventfd: %s", strerror(errno));
    struct mx_server *s = a->srv;
    for (unsigned i = 0; i < MX_SERVER_MAX_LISTENERS; i++) {
        struct mx_listener *ls = &s->listeners[i];
        bool want = atomic_load(&ls->want);
        if (want && !ls->watched) {
            int err = watch(a->epfd, ls->fd, ls);
            if (err < 0)
                mx_error("acceptor: cannot watch %s: %s", ls->addr, strerror(-err));
            ls->watched = err == 0;
        } else if (!want && ls->watched) {
            epoll_ctl(a->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
            ls->watched = false;
        }
    }
    sem_post(&a->synced);
}

void mx__acceptor_sync(struct mx_acceptor *a)
{
    uint64_t one = 1;
    if (write(a->ctl_efd, &one, sizeof one) != sizeof one)
        mx_error("acceptor: cannot poke its control eventfd: %s", strerror(errno));
    /* Bounded: an acceptor that died on an error must not hang a reload. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    int rc;
    while ((rc = sem_timedwait(&a->synced, &until)) < 0 && errno == EINTR)
        ;
    if (rc < 0)
        mx_error("acceptor: did not take the listener change within 5 s");
}

int mx__acceptor_start(struct mx_acceptor *a, struct mx_server *s)
{
    *a = (struct mx_acceptor){ .srv = s, .epfd = -1, .stop_efd = -1, .ctl_efd = -1,
                               .reserve_fd = -1 };
    sem_init(&a->synced, 0, 0);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    a->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    a->ctl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (a->epfd < 0 || a->stop_efd < 0 || a->ctl_efd < 0 || a->reserve_fd < 0)
        return -errno;
    int err = watch(a->epfd, a->stop_efd, NULL);
    if (!err)
        err = watch(a->epfd, a->ctl_efd, a);
    for (unsigned i = 0; !err && i < s->nlisteners; i++) {
        struct mx_listener *ls = &s->listeners[i];
        if (atomic_load(&ls->want) && !(err = watch(a->epfd, ls->fd, ls)))
            ls->watched = true;
    }
    if (!err)
        err = -pthread_create(&a->thread, NULL, acceptor_main, a);
    a->running = err == 0;
    if (a->running) /* named before start returns, for ps and tests */
        pthread_setname_np(a->thread, "muxd-accept");
    return err;
}

void mx__acceptor_stop(struct mx_acceptor *a)
{
    uint64_t one = 1;
    if (a->running && write(a->stop_efd, &one, sizeof one) == sizeof one)
        pthread_join(a->thread, NULL);
    struct mx_server *s = a->srv;
    for (unsigned i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i].fd >= 0)
            close(s->listeners[i].fd);
        s->listeners[i].fd = -1;
    }
    close(a->epfd);
    close(a->stop_efd);
    close(a->ctl_efd);
    sem_destroy(&a->synced);
    if (a->reserve_fd >= 0)
        close(a->reserve_fd);
    mx__ip_bursts_over(&s->ip_bursts, 0, true);
    mx_info("acceptor stopped: accepted=%llu rejected=%llu",
            (unsigned long long)a->accepted, (unsigned long long)a->rejected);
}
