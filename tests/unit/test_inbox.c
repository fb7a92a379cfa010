/* test_inbox.c - unit tests for the worker inbox (src/reactor/inbox.c). */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "reactor/inbox.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static int readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, 0);
    cr_assert_geq(r, 0);
    return r > 0 && (p.revents & POLLIN);
}

static struct mx_msg msg(int fd, uintptr_t tag)
{
    return (struct mx_msg){ .type = MX_MSG_CONN, .fd = fd, .ptr = (void *)tag };
}

Test(inbox, init_fini)
{
    struct mx_inbox ib;
    cr_assert_eq(mx__inbox_init(&ib), 0);
    cr_assert_geq(ib.efd, 0);
    cr_assert_not(readable(ib.efd), "fresh inbox is quiet");
    struct mx_msg *out = NULL;
    cr_assert_eq(mx__inbox_take(&ib, &out), 0);
    mx__inbox_fini(&ib);
    cr_assert_eq(ib.efd, -1);
}

Test(inbox, post_take_order)
{
    struct mx_inbox ib;
    cr_assert_eq(mx__inbox_init(&ib), 0);
    for (int i = 0; i < 100; i++) {
        struct mx_msg m = msg(i, (uintptr_t)i * 3);
        cr_assert_eq(mx__inbox_post(&ib, &m), 0);
    }
    struct mx_msg stop = { .type = MX_MSG_STOP, .fd = -1 };
    cr_assert_eq(mx__inbox_post(&ib, &stop), 0);

    struct mx_msg *out = NULL;
    size_t n = mx__inbox_take(&ib, &out);
    cr_assert_eq(n, 101);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(out[i].type, MX_MSG_CONN);
        cr_assert_eq(out[i].fd, i);
        cr_assert_eq((uintptr_t)out[i].ptr, (uintptr_t)i * 3);
    }
    cr_assert_eq(out[100].type, MX_MSG_STOP);
    cr_assert_eq(out[100].fd, -1);

    cr_assert_eq(mx__inbox_take(&ib, &out), 0, "taken messages are gone");

    /* The buffers swap: a second round still comes out right. */
    for (int i = 0; i < 10; i++) {
        struct mx_msg m = msg(1000 + i, 0);
        cr_assert_eq(mx__inbox_post(&ib, &m), 0);
    }
    n = mx__inbox_take(&ib, &out);
    cr_assert_eq(n, 10);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(out[i].fd, 1000 + i);
    mx__inbox_fini(&ib);
}

Test(inbox, eventfd_signals_news)
{
    struct mx_inbox ib;
    cr_assert_eq(mx__inbox_init(&ib), 0);
    struct mx_msg *out;
    struct mx_msg m = msg(7, 0);

    for (int round = 0; round < 3; round++) {
        cr_assert_not(readable(ib.efd));
        cr_assert_eq(mx__inbox_post(&ib, &m), 0);
        cr_assert(readable(ib.efd), "readable after post to empty inbox");
        cr_assert_eq(mx__inbox_post(&ib, &m), 0);
        cr_assert(readable(ib.efd));
        cr_assert_eq(mx__inbox_take(&ib, &out), 2);
        cr_assert_not(readable(ib.efd), "not readable after take");
    }
    mx__inbox_fini(&ib);
}

enum { PRODUCERS = 4, PER = 10000 };

struct producer {
    struct mx_inbox *ib;
    int id;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < PER; i++) {
        struct mx_msg m = { .type = MX_MSG_CONN, .fd = p->id,
                            .ptr = (void *)(uintptr_t)i };
        while (mx__inbox_post(p->ib, &m) != 0)
            ;
        if (i % 1000 == 0)
            sched_yield();
    }
    return NULL;
}

Test(inbox, many_producers_exactly_once_in_order, .timeout = 60)
{
    struct mx_inbox ib;
    cr_assert_eq(mx__inbox_init(&ib), 0);
    pthread_t th[PRODUCERS];
    struct producer pr[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        pr[i] = (struct producer){ &ib, i };
        cr_assert_eq(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }

    long next[PRODUCERS] = { 0 };
    size_t got = 0, batches = 0;
    while (got < (size_t)PRODUCERS * PER) {
        /* Wait for the wake-up as a worker would; every message must come
         * with one (no lost wake-ups). */
        struct pollfd pfd = { .fd = ib.efd, .events = POLLIN };
        int r = poll(&pfd, 1, 10000);
        cr_assert_eq(r, 1, "woken for pending messages (got %zu)", got);
        struct mx_msg *out;
        size_t n = mx__inbox_take(&ib, &out);
        if (n == 0)
            continue; /* spurious wake-up is allowed */
        batches++;
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(out[i].type, MX_MSG_CONN);
            int id = out[i].fd;
            cr_assert(id >= 0 && id < PRODUCERS, "bad producer id %d", id);
            long seq = (long)(uintptr_t)out[i].ptr;
            cr_assert_eq(seq, next[id], "producer %d: got %ld, expected %ld",
                         id, seq, next[id]);
            next[id]++;
        }
        got += n;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(next[i], PER);
    }
    struct mx_msg *out;
    cr_assert_eq(mx__inbox_take(&ib, &out), 0, "nothing extra");
    cr_assert_geq(batches, 1);
    mx__inbox_fini(&ib);
}
