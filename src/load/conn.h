/* conn.h - one client connection and opening a thread's connections
 * (paced, a window at a time, optionally from several source addresses). */
#ifndef MUXD_LOAD_CONN_H
#define MUXD_LOAD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ld_thread;
struct ld_chat_conn;

enum ld_conn_state { LD_C_NEW, LD_C_CONNECTING, LD_C_UP, LD_C_FAILED, LD_C_CLOSED };

struct ld_conn {
    int fd;
    unsigned id;          /* global index over every process: pattern, nick, channel */
    uint8_t state;        /* enum ld_conn_state */
    bool heavy;           /* work mode: a heavy client */
    uint64_t base;        /* echo: pattern offset of stream byte 0 */
    uint64_t tx, rx;      /* bytes the kernel took / bytes received and checked */
    uint64_t issued, done;/* messages issued / completed */
    uint64_t *t_issue;    /* issue (or intended) time of message k at [k % qcap] */
    unsigned qcap;        /* messages that may be in flight */
    struct ld_chat_conn *chat;
};

/* Opens the thread's connections: at most a window in flight, at most
 * th->connect_rate per second, each registered with the thread's epoll
 * (edge-triggered, in and out) once and for good. Events of connections
 * already up go to the mode meanwhile. 0, or -1 once the run is aborted
 * (too many failures, or another thread failed). */
int ld_connect_phase(struct ld_thread *th);
/* A connect in progress reported writable: up or failed. */
void ld_conn_finish(struct ld_thread *th, struct ld_conn *c);
/* The pending error of socket fd as -errno, or 0 (SO_ERROR). */
int ld_conn_error(int fd);
/* What a mode does with the bytes of one read (in th's receive buffer):
 * 0, or -1 once it has failed the run. */
typedef int ld_absorb_fn(struct ld_thread *th, struct ld_conn *c, const char *p, size_t n);
/* Reads c until its socket is drained, each read to absorb. 0 when
 * drained, -1 when absorb failed, 1 when the server closed, 2 when recv
 * failed (errno says why). */
int ld_conn_drain(struct ld_thread *th, struct ld_conn *c, ld_absorb_fn *absorb);

#endif
