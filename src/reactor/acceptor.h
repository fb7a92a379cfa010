/* acceptor.h - the muxd-accept thread (private to src/). */
#ifndef MUXD_REACTOR_ACCEPTOR_H
#define MUXD_REACTOR_ACCEPTOR_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "reactor/stats.h"

struct mx_server;

struct mx_acceptor {
    struct mx_server *srv;
    pthread_t thread;
    bool running;      /* the thread was created: join it at stop */
    int epfd;
    int stop_efd;      /* written by mx__acceptor_stop */
    int ctl_efd;       /* written by mx__acceptor_sync: listeners changed */
    sem_t synced;      /* posted once the acceptor has caught up with them */
    int reserve_fd;    /* spare descriptor, given up to shed load at EMFILE */
    unsigned next;     /* round-robin cursor */
    uint64_t accepted, rejected;
    uint64_t burst;    /* refused since max_connections was last reached */
    mx__counter rejected_max_conns, rejected_emfile; /* for mx_server_stats */
    bool emfile_shedding;  /* out of descriptors since the last accept */
    uint64_t emfile_burst; /* connections shed since it began */
    uint64_t paused_until_ms;
    /* Per-address admission (acceptor_perip.c), for mx_server_stats. */
    mx__counter rejected_per_ip_limit, rejected_per_ip_rate, per_ip_untracked;
};

struct mx_listener;

int mx__acceptor_start(struct mx_acceptor *a, struct mx_server *srv);
/* Stops accepting, closes the listening sockets, joins the thread. */
void mx__acceptor_stop(struct mx_acceptor *a);

/* A listener's want changed: returns once the acceptor accepts on every
 * wanted one and has let go of every other (controlling thread). */
void mx__acceptor_sync(struct mx_acceptor *a);

/* The acceptor's side of a sync, for its epoll loop: watch or forget each
 * listener as wanted, then tell the waiting thread. */
void mx__acceptor_reconcile(struct mx_acceptor *a);

/* Shared by the two accept loops (acceptor.c, acceptor_uring.c). */
/* A freshly accepted fd: tune, admit, hand off round-robin. */
void mx__acceptor_take(struct mx_acceptor *a, int fd, struct mx_listener *ls);
/* A connection accepted but closed for want of descriptors: the log line
 * and counts of a shed (fault.h's emfile on the io_uring acceptor). */
void mx__acceptor_refused_fd(struct mx_acceptor *a, int err);
/* accept4 until the backlog is empty; at EMFILE sheds connections or sets
 * paused_until_ms. */
void mx__acceptor_accept_all(struct mx_acceptor *a, struct mx_listener *ls);
/* The io_uring accept loop; returns when stopped (0), at once with -errno
 * if its ring cannot be set up, or -EBUSY if the kernel stops taking its
 * submissions (the caller then accepts with epoll). */
int mx__acceptor_uring_loop(struct mx_acceptor *a);

/* Per-address admission of a fresh fd (acceptor_perip.c): true to go on
 * with *ticket taken (0 if not counted); false when refused: the fd got
 * the protocol's refusal line and is closed. */
bool mx__acceptor_admit_ip(struct mx_acceptor *a, int fd, struct mx_listener *ls,
                           uint32_t *ticket);

#endif
