/* outq_fixture.h - what the output queue's tests share: the suite with
 * its leak check, and helpers that read a queue back. Included by one
 * test file each (every test file is its own binary), hence the statics. */
#ifndef MUXD_TEST_OUTQ_FIXTURE_H
#define MUXD_TEST_OUTQ_FIXTURE_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "io/outq.h"
#include "muxd/chunk.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#endif
#endif

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static inline void fini(void)
{
    mx__outq_thread_cleanup();
}

TestSuite(outq, .fini = fini);

/* End of every test: drop this thread's spare chunks, then (under ASan)
 * assert that nothing is leaked. Criterion ignores LeakSanitizer's exit-time
 * report, so the check is made here, inside the test. */
static inline void done(void)
{
    mx__outq_thread_cleanup();
#ifdef HAVE_LSAN
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked");
#endif
}

/* Gathers everything queued (all iovs) into a fresh malloc'd buffer. */
static inline char *collect(const struct mx_outq *q, size_t *outlen)
{
    struct iovec iov[1024];
    int n = mx__outq_iov(q, iov, 1024);
    cr_assert_eq((uint32_t)n, q->count, "iov count matches segment count");
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    cr_assert_eq(total, q->bytes, "iov bytes add up to q.bytes");
    char *out = malloc(total ? total : 1);
    cr_assert_not_null(out);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_gt(iov[i].iov_len, 0, "no empty segments");
        memcpy(out + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    *outlen = total;
    return out;
}

static inline void expect_content(const struct mx_outq *q, const char *want, size_t n)
{
    size_t len;
    char *got = collect(q, &len);
    cr_assert_eq(len, n, "queued length %zu, expected %zu", len, n);
    cr_assert_eq(memcmp(got, want, n), 0, "queued bytes differ");
    free(got);
}

static inline unsigned refs(struct mx_chunk *ch)
{
    return atomic_load(&ch->refs);
}

#endif
