/* admit_ip.c - the per-address admission table (admit_ip.h).
 *
 * Entries sit in a fixed array and never move, so a ticket (entry + 1)
 * stays valid for a worker that only decrements it. The hash index that
 * finds an entry by key is separate and touched only under the mutex, so
 * it may use backward-shift deletion (no tombstones to pile up under a
 * churn of addresses).
 */
#include "reactor/admit_ip.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* How many entries one take may look at for an idle one to evict: bounds
 * the acceptor's work per connection when the table is full of busy
 * entries. The hand moves on, so the next take looks further. */
#define EVICT_SCAN 1024u

struct key {
    uint64_t prefix;
    uint8_t v4, scope;
};

void mx__admit_ip_init(struct mx__admit_ip *t, uint32_t cap)
{
    *t = (struct mx__admit_ip){ .cap = cap, .mask = 2 * cap - 1 };
    pthread_mutex_init(&t->mu, NULL);
}

void mx__admit_ip_fini(struct mx__admit_ip *t)
{
    free(t->e);
    free(t->index);
    free(t->free);
    pthread_mutex_destroy(&t->mu);
    t->e = NULL;
    t->index = t->free = NULL;
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t load_be32(const uint8_t *p)
{
    return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

/* false for a peer that is not an IP address (AF_UNSPEC when getpeername
 * failed, a Unix socket). */
static bool key_of(const struct sockaddr *sa, unsigned scope, struct key *k)
{
    *k = (struct key){ .scope = (uint8_t)scope };
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        k->v4 = 1;
        k->prefix = load_be32((const uint8_t *)&in->sin_addr);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const uint8_t *b = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        k->v4 = 1;
        k->prefix = load_be32(b + 12);
    } else {
        k->prefix = load_be64(b);
    }
    return true;
}

/* splitmix64's finalizer over the seeded key. */
static uint32_t slot_of(const struct mx__admit_ip *t, const struct key *k)
{
    uint64_t x = k->prefix ^ t->seed ^ ((uint64_t)k->v4 << 63 | (uint64_t)k->scope << 52);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (uint32_t)x & t->mask;
}

static bool same(const struct mx__admit_entry *e, const struct key *k)
{
    return e->prefix == k->prefix && e->v4 == k->v4 && e->scope == k->scope;
}

static uint64_t pick_seed(void)
{
    uint64_t s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
        return s;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec;
}

/* Allocated at the first take: a server that never limits per address
 * never pays for the table. */
static bool ensure_alloc(struct mx__admit_ip *t)
{
    if (t->e)
        return true;
    t->e = calloc(t->cap, sizeof *t->e);
    t->index = calloc((size_t)t->mask + 1, sizeof *t->index);
    t->free = malloc(t->cap * sizeof *t->free);
    if (!t->e || !t->index || !t->free) {
        free(t->e);
        free(t->index);
        free(t->free);
        t->e = NULL;
        t->index = t->free = NULL;
        return false;
    }
    for (uint32_t i = 0; i < t->cap; i++)
        t->free[i] = t->cap - 1 - i;
    t->nfree = t->cap;
    t->seed = pick_seed();
    return true;
}

/* The index slot holding k's entry, or the empty slot where it would go. */
static uint32_t probe(const struct mx__admit_ip *t, const struct key *k)
{
    uint32_t i = slot_of(t, k);
    while (t->index[i] && !same(&t->e[t->index[i] - 1], k))
        i = (i + 1) & t->mask;
    return i;
}

/* Backward-shift deletion: later members of the probe run move up into
 * the hole unless they already sit at or after their home slot. */
static void index_delete(struct mx__admit_ip *t, uint32_t hole)
{
    t->index[hole] = 0;
    for (uint32_t i = (hole + 1) & t->mask; t->index[i]; i = (i + 1) & t->mask) {
        const struct mx__admit_entry *e = &t->e[t->index[i] - 1];
        struct key k = { .prefix = e->prefix, .v4 = e->v4, .scope = e->scope };
        uint32_t home = slot_of(t, &k);
        /* Stays if home lies cyclically in (hole, i]: moving it before its
         * home would hide it from probes. */
        if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
            t->index[hole] = t->index[i];
            t->index[i] = 0;
            hole = i;
        }
    }
}

/* An idle entry (no connection) gives up its place; UINT32_MAX if none
 * was found within EVICT_SCAN entries. */
static uint32_t evict_idle(struct mx__admit_ip *t)
{
    for (uint32_t n = 0; n < EVICT_SCAN && n < t->cap; n++) {
        uint32_t i = t->hand;
        t->hand = (t->hand + 1) & (t->cap - 1);
        struct mx__admit_entry *e = &t->e[i];
        if (!e->used || atomic_load_explicit(&e->conns, memory_order_acquire) != 0)
            continue;
        struct key k = { .prefix = e->prefix, .v4 = e->v4, .scope = e->scope };
        index_delete(t, probe(t, &k));
        e->used = 0;
        return i;
    }
    return UINT32_MAX;
}

/* k's entry, made (with a full bucket) if new; UINT32_MAX when full. */
static uint32_t find_or_add(struct mx__admit_ip *t, const struct key *k, unsigned rate,
                            uint64_t now_ms)
{
    uint32_t slot = probe(t, k);
    if (t->index[slot])
        return t->index[slot] - 1;
    uint32_t i;
    if (t->nfree) {
        i = t->free[--t->nfree];
    } else {
        if ((i = evict_idle(t)) == UINT32_MAX)
            return i;
        slot = probe(t, k); /* the deletion may have opened a nearer hole */
    }
    struct mx__admit_entry *e = &t->e[i];
    e->prefix = k->prefix;
    e->v4 = k->v4;
    e->scope = k->scope;
    e->used = 1;
    atomic_store_explicit(&e->conns, 0, memory_order_relaxed);
    e->milli_tokens = rate * 1000u;
    e->refill_ms = now_ms;
    t->index[slot] = i + 1;
    return i;
}

/* Tops the bucket up for the time passed: rate connections per second is
 * rate thousandths per millisecond, capped at a burst of rate. */
static void refill(struct mx__admit_entry *e, unsigned rate, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)rate * 1000u;
    uint64_t dt = now_ms > e->refill_ms ? now_ms - e->refill_ms : 0;
    if (dt > 1000) /* a full refill takes a second: no overflow past it */
        dt = 1000;
    uint64_t v = e->milli_tokens + dt * rate;
    e->milli_tokens = (uint32_t)(v > cap ? cap : v);
    e->refill_ms = now_ms;
}

static enum mx__admit_verdict judge(struct mx__admit_entry *e, unsigned max_conns,
                                    unsigned rate, uint64_t now_ms)
{
    if (rate) {
        refill(e, rate, now_ms);
        if (e->milli_tokens < 1000)
            return MX__ADMIT_OVER_RATE;
    }
    if (max_conns && atomic_load_explicit(&e->conns, memory_order_acquire) >= max_conns)
        return MX__ADMIT_OVER_LIMIT;
    if (rate)
        e->milli_tokens -= 1000;
    atomic_fetch_add_explicit(&e->conns, 1, memory_order_relaxed);
    return MX__ADMIT_OK;
}

enum mx__admit_verdict mx__admit_ip_take(struct mx__admit_ip *t, const struct sockaddr *peer,
                                         unsigned scope, unsigned max_conns, unsigned rate,
                                         uint64_t now_ms, uint32_t *ticket)
{
    *ticket = 0;
    struct key k;
    if (rate > MX__ADMIT_RATE_MAX) /* milli-tokens stay within 32 bits */
        rate = MX__ADMIT_RATE_MAX;
    if ((!max_conns && !rate) || !key_of(peer, scope, &k))
        return MX__ADMIT_SKIP;
    pthread_mutex_lock(&t->mu);
    enum mx__admit_verdict v = MX__ADMIT_UNTRACKED;
    uint32_t i = ensure_alloc(t) ? find_or_add(t, &k, rate, now_ms) : UINT32_MAX;
    if (i != UINT32_MAX) {
        v = judge(&t->e[i], max_conns, rate, now_ms);
        if (v == MX__ADMIT_OK)
            *ticket = i + 1;
    }
    pthread_mutex_unlock(&t->mu);
    return v;
}

void mx__admit_ip_release(struct mx__admit_ip *t, uint32_t ticket)
{
    if (ticket)
        atomic_fetch_sub_explicit(&t->e[ticket - 1].conns, 1, memory_order_release);
}

unsigned mx__admit_ip_count(struct mx__admit_ip *t, const struct sockaddr *peer, unsigned scope)
{
    struct key k;
    unsigned n = 0;
    if (!key_of(peer, scope, &k))
        return 0;
    pthread_mutex_lock(&t->mu);
    if (t->e) {
        uint32_t slot = probe(t, &k);
        if (t->index[slot])
            n = atomic_load(&t->e[t->index[slot] - 1].conns);
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

uint32_t mx__admit_ip_used(struct mx__admit_ip *t)
{
    pthread_mutex_lock(&t->mu);
    uint32_t n = t->e ? t->cap - t->nfree : 0;
    pthread_mutex_unlock(&t->mu);
    return n;
}
