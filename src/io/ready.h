/* ready.h - what the readiness backends (epoll, poll) share: the recv and
 * send(msg) calls of a connection that is readable or writable, and what
 * to do with one readiness report. The backend supplies how write
 * interest is armed and whether it is receiving. */
#ifndef MUXD_IO_READY_H
#define MUXD_IO_READY_H

#include <stdbool.h>
#include <stddef.h>

struct mx_worker;
struct mx_conn;

typedef void mx_want_write_fn(struct mx_worker *w, struct mx_conn *c, bool on);

/* Set up once by the backend at init. */
struct mx_ready {
    struct mx_worker *w;
    char *scratch;               /* the worker's receive space */
    size_t scratch_size;
    mx_want_write_fn *want_write;
};

/* Writes what the queue holds, reports progress, and arms write interest
 * while anything is left. */
void mx__ready_flush(const struct mx_ready *rd, struct mx_conn *c);

/* One report: readable / writable / hung up or in error, for a
 * connection the backend is receiving for (reading) or not. */
void mx__ready_event(const struct mx_ready *rd, struct mx_conn *c, bool in, bool out, bool hup,
                    bool reading);

#endif
