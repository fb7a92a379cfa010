/* acceptor.h - the muxd-accept thread (private to src/). */
#ifndef MUXD_REACTOR_ACCEPTOR_H
#define MUXD_REACTOR_ACCEPTOR_H

#include <pthread.h>
#include <stdint.h>

struct mx_server;

struct mx_acceptor {
    struct mx_server *srv;
    pthread_t thread;
    int epfd;
    int stop_efd;      /* written by mx_acceptor_stop */
    int reserve_fd;    /* spare descriptor, given up to shed load at EMFILE */
    unsigned next;     /* round-robin cursor */
    uint64_t accepted, rejected;
    uint64_t last_emfile_log_ms;
    uint64_t paused_until_ms;
};

int mx_acceptor_start(struct mx_acceptor *a, struct mx_server *srv);
/* Stops accepting, closes the listening sockets, joins the thread. */
void mx_acceptor_stop(struct mx_acceptor *a);

#endif
