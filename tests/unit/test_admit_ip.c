/* test_admit_ip.c - unit tests for the per-address admission table
 * (src/reactor/admit_ip.c): keys, counts, the rate bucket on an injected
 * clock, capacity and eviction, and releases from other threads. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "reactor/admit_ip.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static struct mx__admit_ip t;

static void setup(void) { mx__admit_ip_init(&t, 64); }
static void teardown(void) { mx__admit_ip_fini(&t); }

TestSuite(admit_ip, .init = setup, .fini = teardown);

/* A peer address from text, IPv4 or IPv6, in sockaddr_storage. */
static const struct sockaddr *addr(const char *text)
{
    static struct sockaddr_storage ss[4];
    static unsigned next;
    struct sockaddr_storage *s = &ss[next++ % 4];
    memset(s, 0, sizeof *s);
    struct sockaddr_in *in = (struct sockaddr_in *)s;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)s;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        cr_assert(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1, "bad address %s", text);
        in6->sin6_family = AF_INET6;
    }
    return (const struct sockaddr *)s;
}

/* take with a connection limit only, at time 0. */
static enum mx__admit_verdict take_max(const char *ip, unsigned max, uint32_t *ticket)
{
    return mx__admit_ip_take(&t, addr(ip), 0, max, 0, 0, ticket);
}

Test(admit_ip, ipv4_counts_up_to_the_limit_and_release_frees_a_place)
{
    uint32_t tk[3], x;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(take_max("192.0.2.7", 3, &tk[i]), MX__ADMIT_OK);
        cr_assert_neq(tk[i], 0);
    }
    cr_assert_eq(take_max("192.0.2.7", 3, &x), MX__ADMIT_OVER_LIMIT);
    cr_assert_eq(x, 0, "a refusal hands out no ticket");
    cr_assert_eq(take_max("192.0.2.8", 3, &x), MX__ADMIT_OK, "another address is apart");
    cr_assert_eq(mx__admit_ip_count(&t, addr("192.0.2.7"), 0), 3);
    mx__admit_ip_release(&t, tk[1]);
    cr_assert_eq(mx__admit_ip_count(&t, addr("192.0.2.7"), 0), 2);
    cr_assert_eq(take_max("192.0.2.7", 3, &x), MX__ADMIT_OK);
}

Test(admit_ip, ipv6_addresses_of_one_slash64_share_a_count)
{
    uint32_t x;
    cr_assert_eq(take_max("2001:db8:1:2::1", 2, &x), MX__ADMIT_OK);
    cr_assert_eq(take_max("2001:db8:1:2:ffff:ffff:ffff:ffff", 2, &x), MX__ADMIT_OK);
    cr_assert_eq(take_max("2001:db8:1:2:abcd::9", 2, &x), MX__ADMIT_OVER_LIMIT,
                 "a third address in the same /64 is over the limit of 2");
    cr_assert_eq(take_max("2001:db8:1:3::1", 2, &x), MX__ADMIT_OK, "the next /64 is apart");
    cr_assert_eq(mx__admit_ip_count(&t, addr("2001:db8:1:2::77"), 0), 2);
}

Test(admit_ip, ipv4_mapped_ipv6_counts_as_the_ipv4_address)
{
    uint32_t x;
    cr_assert_eq(take_max("198.51.100.1", 2, &x), MX__ADMIT_OK);
    cr_assert_eq(take_max("::ffff:198.51.100.1", 2, &x), MX__ADMIT_OK);
    cr_assert_eq(take_max("::ffff:198.51.100.1", 2, &x), MX__ADMIT_OVER_LIMIT);
    cr_assert_eq(mx__admit_ip_count(&t, addr("198.51.100.1"), 0), 2);
    /* Other mapped addresses share the ::ffff:0:0/96 prefix but not a key. */
    cr_assert_eq(take_max("::ffff:198.51.100.2", 2, &x), MX__ADMIT_OK);
    /* Nor does an IPv4 address collide with an IPv6 /64 of the same bits. */
    cr_assert_eq(take_max("::", 2, &x), MX__ADMIT_OK);
    cr_assert_eq(take_max("0.0.0.0", 2, &x), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_count(&t, addr("::1"), 0), 1);
}

Test(admit_ip, listeners_count_apart)
{
    uint32_t x;
    cr_assert_eq(mx__admit_ip_take(&t, addr("192.0.2.1"), 0, 1, 0, 0, &x), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_take(&t, addr("192.0.2.1"), 0, 1, 0, 0, &x), MX__ADMIT_OVER_LIMIT);
    cr_assert_eq(mx__admit_ip_take(&t, addr("192.0.2.1"), 1, 1, 0, 0, &x), MX__ADMIT_OK);
}

Test(admit_ip, no_limit_or_no_ip_peer_is_not_counted)
{
    uint32_t x;
    cr_assert_eq(mx__admit_ip_take(&t, addr("192.0.2.1"), 0, 0, 0, 0, &x), MX__ADMIT_SKIP);
    struct sockaddr_storage un = { .ss_family = AF_UNSPEC };
    cr_assert_eq(mx__admit_ip_take(&t, (struct sockaddr *)&un, 0, 1, 1, 0, &x), MX__ADMIT_SKIP);
    cr_assert_eq(x, 0);
    cr_assert_eq(mx__admit_ip_used(&t), 0, "nothing allocated or used");
    mx__admit_ip_release(&t, 0); /* a no-op */
}

Test(admit_ip, rate_bucket_refuses_past_the_burst_and_refills_with_time)
{
    const struct sockaddr *a = addr("203.0.113.5");
    uint32_t x;
    /* 5 per second, burst 5, no connection limit. */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1000, &x), MX__ADMIT_OK, "burst %d", i);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1000, &x), MX__ADMIT_OVER_RATE);
    /* One token every 200 ms. */
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1199, &x), MX__ADMIT_OVER_RATE);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1200, &x), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1200, &x), MX__ADMIT_OVER_RATE);
    /* Refusals cost nothing: 200 ms later exactly one more. */
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1400, &x), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 1400, &x), MX__ADMIT_OVER_RATE);
    /* A long quiet refills to the burst, never past it. */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 100000, &x), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 100000, &x), MX__ADMIT_OVER_RATE);
    /* A clock read earlier than the last (another thread's) adds nothing. */
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 0, 5, 50, &x), MX__ADMIT_OVER_RATE);
}

Test(admit_ip, rate_and_count_limits_combine)
{
    const struct sockaddr *a = addr("203.0.113.9");
    uint32_t tk[2], x;
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 2, 10, 0, &tk[0]), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 2, 10, 0, &tk[1]), MX__ADMIT_OK);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 2, 10, 0, &x), MX__ADMIT_OVER_LIMIT);
    mx__admit_ip_release(&t, tk[0]);
    cr_assert_eq(mx__admit_ip_take(&t, a, 0, 2, 10, 0, &x), MX__ADMIT_OK,
                 "the count refusal did not spend a token");
}

static void fmt_ip(char *buf, size_t len, unsigned i)
{
    snprintf(buf, len, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

Test(admit_ip, full_table_evicts_idle_entries_and_admits_untracked_when_all_busy)
{
    char ip[32];
    uint32_t tk[64], x;
    /* 64 entries, every one holding a connection. */
    for (unsigned i = 0; i < 64; i++) {
        fmt_ip(ip, sizeof ip, i);
        cr_assert_eq(take_max(ip, 1, &tk[i]), MX__ADMIT_OK, "%s", ip);
    }
    cr_assert_eq(mx__admit_ip_used(&t), 64);
    /* Full of busy entries: a new address is let in without a count. */
    cr_assert_eq(take_max("192.0.2.200", 1, &x), MX__ADMIT_UNTRACKED);
    cr_assert_eq(x, 0);
    /* Known addresses are still judged. */
    cr_assert_eq(take_max("10.0.0.5", 1, &x), MX__ADMIT_OVER_LIMIT);
    /* Idle entries make room; the busy ones keep their counts. */
    for (unsigned i = 0; i < 64; i += 2)
        mx__admit_ip_release(&t, tk[i]);
    for (unsigned i = 0; i < 32; i++) {
        fmt_ip(ip, sizeof ip, 1000 + i);
        cr_assert_eq(take_max(ip, 1, &x), MX__ADMIT_OK, "new address %s", ip);
    }
    cr_assert_eq(mx__admit_ip_used(&t), 64);
    for (unsigned i = 1; i < 64; i += 2) {
        fmt_ip(ip, sizeof ip, i);
        cr_assert_eq(mx__admit_ip_count(&t, addr(ip), 0), 1, "%s lost its count", ip);
        cr_assert_eq(take_max(ip, 1, &x), MX__ADMIT_OVER_LIMIT, "%s", ip);
    }
    for (unsigned i = 0; i < 32; i++) {
        fmt_ip(ip, sizeof ip, 1000 + i);
        cr_assert_eq(mx__admit_ip_count(&t, addr(ip), 0), 1, "%s not found after evictions", ip);
    }
}

/* Many rounds of churn through a small table: every key stays findable
 * while backward-shift deletion reshuffles the index. */
Test(admit_ip, churn_keeps_every_held_key_findable)
{
    char ip[32];
    uint32_t held[64] = { 0 };
    unsigned who[64];
    for (unsigned round = 0; round < 2000; round++) {
        unsigned slot = round % 64;
        if (held[slot])
            mx__admit_ip_release(&t, held[slot]);
        who[slot] = round * 7919u;
        fmt_ip(ip, sizeof ip, who[slot]);
        cr_assert_eq(take_max(ip, 1, &held[slot]), MX__ADMIT_OK, "round %u", round);
        if (round % 97 == 0)
            for (unsigned i = 0; i < 64 && i <= round; i++) {
                fmt_ip(ip, sizeof ip, who[i]);
                cr_assert_eq(mx__admit_ip_count(&t, addr(ip), 0), 1, "round %u key %u", round, i);
            }
    }
}

struct releaser {
    uint32_t *tickets;
    unsigned n;
};

static void *release_all(void *arg)
{
    struct releaser *r = arg;
    for (unsigned i = 0; i < r->n; i++)
        mx__admit_ip_release(&t, r->tickets[i]);
    return NULL;
}

/* Workers release while the acceptor takes: counts come out exact. */
Test(admit_ip, releases_from_other_threads_while_taking)
{
    enum { N = 20000 };
    static uint32_t tickets[4][N];
    const struct sockaddr *a = addr("192.0.2.50");
    for (unsigned k = 0; k < 4; k++)
        for (unsigned i = 0; i < N; i++)
            cr_assert_eq(mx__admit_ip_take(&t, a, 0, 1000000, 0, 0, &tickets[k][i]), MX__ADMIT_OK);
    pthread_t th[4];
    struct releaser r[4];
    for (unsigned k = 0; k < 4; k++) {
        r[k] = (struct releaser){ tickets[k], N };
        pthread_create(&th[k], NULL, release_all, &r[k]);
    }
    uint32_t more[N];
    for (unsigned i = 0; i < N; i++)
        cr_assert_eq(mx__admit_ip_take(&t, a, 0, 1000000, 0, 0, &more[i]), MX__ADMIT_OK);
    for (unsigned k = 0; k < 4; k++)
        pthread_join(th[k], NULL);
    cr_assert_eq(mx__admit_ip_count(&t, a, 0), N);
}
