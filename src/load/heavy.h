/* heavy.h - work mode's heavy clients: each sends the heavy request line
 * (such as "SPIN 50\n"), waits for its reply (such as "DONE 50\n", checked
 * byte for byte) and sends it again, back to back, until the load stops.
 * They share a thread's loop with the light connections; what they
 * complete inside the window goes to the result's heavy counters. */
#ifndef MUXD_LOAD_HEAVY_H
#define MUXD_LOAD_HEAVY_H

#include <stdint.h>

#include "thread.h"

/* Issues c's first request and sends it. */
int ld_heavy_start(struct ld_thread *th, struct ld_conn *c, uint64_t now);
int ld_heavy_event(struct ld_thread *th, struct ld_conn *c, uint32_t events);

#endif
