/* ready.h - what the readiness backends (epoll, poll) share: the recv and
 * sendmsg calls of a connection that is readable or writable, and what to
 * do with one readiness report. The backend supplies only how write
 * interest is armed. */
#ifndef MUXD_IO_READY_H
#define MUXD_IO_READY_H

#include <stdbool.h>

struct mx_worker;
struct mx_conn;

typedef void mx_want_write_fn(struct mx_worker *w, struct mx_conn *c, bool on);

/* Writes what the queue holds, reports progress, and arms write interest
 * while anything is left. */
void mx_ready_flush(struct mx_worker *w, struct mx_conn *c, mx_want_write_fn *want_write);

/* One report: readable / writable / hung up or in error. */
void mx_ready_event(struct mx_worker *w, struct mx_conn *c, bool in, bool out, bool hup,
                    mx_want_write_fn *want_write);

#endif
