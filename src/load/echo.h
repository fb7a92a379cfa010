/* echo.h - the echo engine shared by echo, work and idle modes: issuing
 * messages, sending them from the pattern, checking every echoed byte and
 * timing each message (and, through heavy.h, the work mode's heavy
 * clients). The modes differ in when messages are issued: closed loop (a
 * new one as each completes), open loop (sched.c) or once (idle.c). */
#ifndef MUXD_LOAD_ECHO_H
#define MUXD_LOAD_ECHO_H

#include <stdbool.h>
#include <stdint.h>

#include "thread.h"

/* Messages an open-loop connection may have in flight: beyond it the
 * schedule waits (and the wait shows in the latency of what follows). */
#define LD_OPEN_QCAP 1024u

/* Gives every connection its ring of issue times (qcap each for the light
 * ones, 1 for heavy ones). 0 or -1. */
int ld_echo_alloc(struct ld_thread *th, unsigned qcap);
void ld_echo_free(struct ld_thread *th);

/* Message issued on c at time t (its latency counts from t). */
void ld_echo_issue(struct ld_thread *th, struct ld_conn *c, uint64_t t);
static inline bool ld_echo_room(const struct ld_conn *c)
{
    return c->issued - c->done < c->qcap;
}
/* Sends what the issued messages still owe; 0 or -1 (failed). */
int ld_echo_pump_out(struct ld_thread *th, struct ld_conn *c);
/* A connection's epoll event (light or heavy). */
int ld_echo_event(struct ld_thread *th, struct ld_conn *c, uint32_t events);
/* The failure when tm.give_up passes with messages owed. */
int ld_echo_give_up(struct ld_thread *th);

#endif
