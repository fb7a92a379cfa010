/* ip_burst.h - per-address refusals (and untracked admissions) logged by
 * the burst: a warning when one starts, a count when it ends (private to
 * src/).
 *
 * One set per server, shared by the acceptor (direct clients) and the
 * workers (addresses carried by PROXY headers), so a flood is one warning
 * wherever it is judged. Lock-free: a counter and a time per kind. Two
 * threads racing at a burst's edge may put a refusal in the burst that is
 * ending rather than the next one; every refusal is counted once.
 */
#ifndef MUXD_REACTOR_IP_BURST_H
#define MUXD_REACTOR_IP_BURST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum { MX__IP_BURST_LIMIT, MX__IP_BURST_RATE, MX__IP_BURST_FULL, MX__IP_BURSTS };

struct mx__ip_bursts {
    struct {
        atomic_uint_fast64_t n;        /* in the burst so far; 0: none going on */
        atomic_uint_fast64_t last_ms;  /* the latest one (monotonic ms) */
    } k[MX__IP_BURSTS];
};

/* Whether any burst is going on (a cheap test before reading the clock). */
bool mx__ip_bursts_on(const struct mx__ip_bursts *b);

/* Ends the bursts quiet for a second (all: every one, at stop) with their
 * count line. Any thread. */
void mx__ip_bursts_over(struct mx__ip_bursts *b, uint64_t now_ms, bool all);

/* A refusal of ip on listener: over_rate (connect_rate_per_ip, at rate/s)
 * or not (max_connections_per_ip, max). Warns if it starts a burst;
 * carried: the address came in a PROXY header. Any thread. */
void mx__ip_refused_log(struct mx__ip_bursts *b, uint64_t now_ms, bool over_rate, unsigned max,
                        unsigned rate, const char *ip, const char *listener, bool carried);

/* An address admitted untracked (the table was full). Any thread. */
void mx__ip_untracked_log(struct mx__ip_bursts *b, uint64_t now_ms);

#endif
