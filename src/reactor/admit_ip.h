/* admit_ip.h - admission per address: a bounded table of connection counts
 * and connect-rate buckets (private to src/).
 *
 * Key: an IPv4 address, or the /64 prefix of an IPv6 one (one subscriber
 * gets a /64, so counting whole IPv6 addresses would let one host take as
 * many slots as it likes). An IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * what a dual-stack listener sees) counts as the IPv4 address. Each key
 * also carries a scope (the listener's slot): every listener counts on
 * its own, so a limit set on one never refuses a peer of another.
 *
 * Threads: mx__admit_ip_take inserts and evicts, under the table's mutex.
 * Today only the acceptor calls it, so the mutex is never contended; it is
 * there so that a worker may take too, once it knows the real client
 * address (a PROXY header read on a worker: take a ticket for the carried
 * address, release the one the acceptor took for the proxy's if any, keep
 * the new one in the connection). mx__admit_ip_release is one atomic
 * decrement on the entry, no lock: any thread, so a close on its worker
 * never waits for the acceptor. An entry is evicted only while its count
 * is 0, and only take raises the count, so the entry a ticket names stays
 * the same entry until that ticket is released.
 *
 * When full (every entry holds connections, or the bounded search for an
 * idle one found none) a new address is admitted untracked (verdict
 * MX__ADMIT_UNTRACKED, ticket 0): failing open keeps a flood from many
 * addresses from locking out everyone new, and max_connections still caps
 * the total. Idle entries (count 0) are evicted when room is needed; they
 * hold only rate state, so an evicted address starts with a full bucket.
 */
#ifndef MUXD_REACTOR_ADMIT_IP_H
#define MUXD_REACTOR_ADMIT_IP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The default capacity: 64 Ki addresses, about 2.5 MiB once touched. */
#define MX__ADMIT_IP_CAP 65536u
/* The highest rate take honours (a higher one is taken as this). */
#define MX__ADMIT_RATE_MAX 1000000u

enum mx__admit_verdict {
    MX__ADMIT_OK,         /* counted: *ticket names the entry */
    MX__ADMIT_UNTRACKED,  /* admitted, not counted (table full); ticket 0 */
    MX__ADMIT_SKIP,       /* admitted, not counted: no IP peer or no limit */
    MX__ADMIT_OVER_LIMIT, /* refused: max connections per address */
    MX__ADMIT_OVER_RATE,  /* refused: connect rate per address */
};

struct mx__admit_entry {
    uint64_t prefix;        /* IPv4 address or IPv6 /64, host order */
    uint8_t v4, scope, used;
    atomic_uint conns;      /* tickets out; released on any thread */
    uint32_t milli_tokens;  /* rate bucket, in thousandths of a connection */
    uint64_t refill_ms;     /* when milli_tokens was last topped up */
};

struct mx__admit_ip {
    pthread_mutex_t mu;     /* take's: inserts and evictions */
    uint32_t cap;           /* entries */
    uint32_t mask;          /* index slots - 1 (2 * cap slots) */
    struct mx__admit_entry *e;  /* [cap], allocated at the first take */
    uint32_t *index;        /* open addressing: 0 empty, else entry + 1 */
    uint32_t *free;         /* free entries, a stack */
    uint32_t nfree;
    uint32_t hand;          /* where the search for an idle entry resumes */
    uint64_t seed;          /* hash seed: keys an attacker picks must not
                               pile up in one probe run */
};

/* cap: a power of two, at least 2. Allocates nothing yet. */
void mx__admit_ip_init(struct mx__admit_ip *t, uint32_t cap);
void mx__admit_ip_fini(struct mx__admit_ip *t);

/* One new connection from peer on listener scope (0 .. 255), at now_ms
 * (a monotonic clock; tests pass their own). max_conns: connections the
 * address may hold at once; rate: new connections per second with a
 * burst of rate; 0 = no such limit (both 0: MX__ADMIT_SKIP). *ticket gets
 * what mx__admit_ip_release takes: non-zero only for MX__ADMIT_OK. A
 * refused connection costs no token. Any thread (serialized). */
enum mx__admit_verdict mx__admit_ip_take(struct mx__admit_ip *t, const struct sockaddr *peer,
                                         unsigned scope, unsigned max_conns, unsigned rate,
                                         uint64_t now_ms, uint32_t *ticket);

/* The connection a ticket was taken for has gone. 0 is ignored. Any
 * thread, no lock. */
void mx__admit_ip_release(struct mx__admit_ip *t, uint32_t ticket);

/* Connections counted for peer's key on scope now (tests, diagnostics);
 * takes the mutex. */
unsigned mx__admit_ip_count(struct mx__admit_ip *t, const struct sockaddr *peer, unsigned scope);

/* Entries in use (tests). */
uint32_t mx__admit_ip_used(struct mx__admit_ip *t);

#endif
