/* fault.h - injected faults, for tests of the paths real faults take
 * (issue 15): MUXD_FAULTS="SITE=RATE[:MAX],..." in the environment at
 * start arms them, e.g. MUXD_FAULTS="alloc=0.02:50,reset=0.01". RATE is
 * the chance (0 to 1) that one pass through a site fails; MAX, if given,
 * is how many times it may (then the site is healthy again, so a test can
 * show the daemon serving everyone afterwards). MUXD_FAULTS_SEED seeds
 * the draws. Compiled in unless MUXD_FAULTS=OFF at configure time (the
 * default for Release builds); unarmed, a site costs one load and a
 * branch. Each injection is counted (muxd_faults_injected_total{site}).
 *
 * Sites, and the real fault each stands for:
 *   alloc     an allocation of the core fails (a connection, its input
 *             buffer, output chunks, timer, offload job)
 *   emfile    accept fails with EMFILE (the descriptor ceiling)
 *   reset     a send fails with ECONNRESET or EPIPE, with output queued
 *   short_io  a recv or send moves only a few bytes (readiness backends)
 *   enobufs   io_uring: a used receive buffer is not given back this
 *             turn, so the ring runs dry and receives end in ENOBUFS
 *   cq_tiny   io_uring: worker rings get an 8-entry completion queue,
 *             so completions overflow (RATE ignored)
 *   offload   the offload pool refuses a job as if its queue were full
 *   file_in   io_uring: the ring's file table refuses a connection's
 *             socket (as the kernel does out of memory), so its first
 *             receive is cancelled and it goes by its descriptor
 *   accept_late  the acceptor's loop starts only once a listener change
 *             is asked of it, at most 5 s after muxd said it started
 *             (RATE ignored): a reload reaches it first, as one can on
 *             a busy machine
 */
#ifndef MUXD_IO_FAULT_H
#define MUXD_IO_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mx_fault_site {
    MX_FAULT_ALLOC,
    MX_FAULT_EMFILE,
    MX_FAULT_RESET,
    MX_FAULT_SHORT_IO,
    MX_FAULT_ENOBUFS,
    MX_FAULT_CQ_TINY,
    MX_FAULT_OFFLOAD,
    MX_FAULT_FILE_IN,
    MX_FAULT_ACCEPT_LATE,
    MX_FAULT_SITES
};

#ifdef MX_FAULTS
extern bool mx__faults_armed;
/* Whether this pass through site fails (and counts it). Any thread. */
bool mx__fault_hit(enum mx_fault_site site);
#define MX_FAULT(site) (mx__faults_armed && mx__fault_hit(site))
#else
#define MX_FAULT(site) false
#endif

/* Reads MUXD_FAULTS once (the daemon's start); -EINVAL with the reason in
 * why for a malformed value. Without MX_FAULTS, a set MUXD_FAULTS is an
 * error too: a test must not pass by injecting nothing. */
int mx__faults_init(char *why, size_t len);
/* The site's name ("alloc") and how many faults it has injected. */
const char *mx__fault_name(enum mx_fault_site site);
uint64_t mx__fault_count(enum mx_fault_site site);

#endif
