/* test_outq.c - unit tests for the output queue (src/io/outq.c). */
#include "outq_fixture.h"

Test(outq, empty_queue_has_nothing)
{
    struct mx_outq q = { 0 };
    struct iovec iov[4];
    cr_assert_eq(mx__outq_iov(&q, iov, 4), 0);
    mx__outq_consume(&q, 0);
    mx__outq_consume(&q, 10);
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    cr_assert_eq(q.bytes, 0);
    cr_assert_eq(q.count, 0);
    done();
}

Test(outq, small_appends_gather_into_one_segment)
{
    struct mx_outq q = { 0 };
    char ref[1000 * 7];
    size_t off = 0;
    for (int i = 0; i < 1000; i++) {
        char msg[8];
        memcpy(msg, "msg", 3);
        msg[3] = (char)('0' + i / 100 % 10);
        msg[4] = (char)('0' + i / 10 % 10);
        msg[5] = (char)('0' + i % 10);
        msg[6] = '\n';
        cr_assert_eq(mx__outq_append(&q, msg, 7), 0);
        memcpy(ref + off, msg, 7);
        off += 7;
        cr_assert_eq(q.bytes, off);
    }
    struct iovec iov[8];
    cr_assert_eq(mx__outq_iov(&q, iov, 8), 1, "7000 bytes in 1000 appends fit one chunk");
    cr_assert_eq(q.count, 1);
    expect_content(&q, ref, off);
    mx__outq_consume(&q, off);
    cr_assert_null(q.seg);
    cr_assert_eq(q.bytes, 0);
    done();
}

Test(outq, many_small_appends_few_segments)
{
    struct mx_outq q = { 0 };
    enum { N = 10000, L = 13 };   /* 130000 bytes */
    char *ref = malloc((size_t)N * L);
    for (size_t i = 0; i < (size_t)N * L; i++)
        ref[i] = (char)(i * 7 + 3);
    for (int i = 0; i < N; i++)
        cr_assert_eq(mx__outq_append(&q, ref + (size_t)i * L, L), 0);
    cr_assert_eq(q.bytes, (size_t)N * L);
    size_t expect_segs = ((size_t)N * L + MX_OUTQ_CHUNK - 1) / MX_OUTQ_CHUNK;
    cr_assert_eq(q.count, expect_segs, "segments %u, expected %zu (full chunks)",
                 q.count, expect_segs);
    struct iovec iov[64];
    cr_assert_eq((size_t)mx__outq_iov(&q, iov, 64), expect_segs);
    for (size_t i = 0; i + 1 < expect_segs; i++)
        cr_assert_eq(iov[i].iov_len, MX_OUTQ_CHUNK, "non-tail chunks are filled");
    expect_content(&q, ref, (size_t)N * L);
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    cr_assert_eq(q.bytes, 0);
    free(ref);
    done();
}

Test(outq, append_larger_than_chunk)
{
    struct mx_outq q = { 0 };
    size_t big = MX_OUTQ_CHUNK * 3 + 123;
    char *ref = malloc(big + 10);
    for (size_t i = 0; i < big + 10; i++)
        ref[i] = (char)(i ^ (i >> 8));
    cr_assert_eq(mx__outq_append(&q, ref, big), 0);
    cr_assert_eq(q.bytes, big);
    cr_assert_eq(q.count, 1, "one big append is one segment");
    expect_content(&q, ref, big);

    /* The big chunk is exactly full: a later append goes to a new one. */
    cr_assert_eq(mx__outq_append(&q, ref + big, 10), 0);
    cr_assert_eq(q.bytes, big + 10);
    cr_assert_eq(q.count, 2);
    expect_content(&q, ref, big + 10);

    mx__outq_consume(&q, big - 1);
    cr_assert_eq(q.bytes, 11);
    expect_content(&q, ref + big - 1, 11);
    mx__outq_consume(&q, 11);
    cr_assert_null(q.seg);
    cr_assert_eq(q.bytes, 0);
    free(ref);
    done();
}

Test(outq, append_spills_over_tail_chunk)
{
    struct mx_outq q = { 0 };
    size_t first = MX_OUTQ_CHUNK - 100;
    char *ref = malloc(MX_OUTQ_CHUNK * 2);
    for (size_t i = 0; i < MX_OUTQ_CHUNK * 2; i++)
        ref[i] = (char)(i * 13);
    cr_assert_eq(mx__outq_append(&q, ref, first), 0);
    cr_assert_eq(q.count, 1);
    cr_assert_eq(mx__outq_append(&q, ref + first, 300), 0);
    cr_assert_eq(q.count, 2);
    cr_assert_eq(q.bytes, first + 300);
    struct iovec iov[4];
    cr_assert_eq(mx__outq_iov(&q, iov, 4), 2);
    cr_assert_eq(iov[0].iov_len, MX_OUTQ_CHUNK, "tail chunk filled first");
    cr_assert_eq(iov[1].iov_len, 200);
    expect_content(&q, ref, first + 300);
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    free(ref);
    done();
}

Test(outq, byte_accounting)
{
    struct mx_outq q = { 0 };
    struct mx_chunk *ch = mx_chunk_copy("0123456789", 10);
    cr_assert_not_null(ch);

    cr_assert_eq(mx__outq_append(&q, "abc", 3), 0);
    cr_assert_eq(q.bytes, 3);
    cr_assert_eq(mx__outq_push(&q, ch), 0);
    cr_assert_eq(q.bytes, 13);
    cr_assert_eq(mx__outq_append(&q, "defgh", 5), 0);
    cr_assert_eq(q.bytes, 18);
    expect_content(&q, "abc0123456789defgh", 18);

    mx__outq_consume(&q, 2);
    cr_assert_eq(q.bytes, 16);
    mx__outq_consume(&q, 1);
    cr_assert_eq(q.bytes, 15);
    mx__outq_consume(&q, 10);
    cr_assert_eq(q.bytes, 5);
    expect_content(&q, "defgh", 5);
    mx__outq_consume(&q, 0);
    cr_assert_eq(q.bytes, 5);
    mx__outq_consume(&q, 5);
    cr_assert_eq(q.bytes, 0);
    cr_assert_null(q.seg);

    /* An empty chunk pushes nothing. */
    struct mx_chunk *empty = mx_chunk_new(16);
    cr_assert_eq(mx__outq_push(&q, empty), 0);
    cr_assert_eq(q.bytes, 0);
    cr_assert_eq(q.count, 0);
    cr_assert_eq(refs(empty), 1);
    mx_chunk_unref(empty);

    cr_assert_eq(refs(ch), 1);
    mx_chunk_unref(ch);
    done();
}

Test(outq, partial_consume_mid_segment)
{
    struct mx_outq q = { 0 };
    struct mx_chunk *ch = mx_chunk_copy("ABCDEFGHIJ", 10);
    cr_assert_eq(mx__outq_append(&q, "0123456789", 10), 0);
    cr_assert_eq(mx__outq_push(&q, ch), 0);
    mx_chunk_unref(ch);
    cr_assert_eq(mx__outq_append(&q, "klmnop", 6), 0);
    cr_assert_eq(q.count, 3);

    mx__outq_consume(&q, 4);
    cr_assert_eq(q.count, 3);
    struct iovec iov[4];
    cr_assert_eq(mx__outq_iov(&q, iov, 4), 3);
    cr_assert_eq(iov[0].iov_len, 6);
    cr_assert_eq(memcmp(iov[0].iov_base, "456789", 6), 0);
    cr_assert_eq(iov[1].iov_len, 10);
    cr_assert_eq(memcmp(iov[1].iov_base, "ABCDEFGHIJ", 10), 0);

    /* Across the boundary into the middle of the shared chunk. */
    mx__outq_consume(&q, 6 + 3);
    cr_assert_eq(q.count, 2);
    cr_assert_eq(q.bytes, 7 + 6);
    cr_assert_eq(mx__outq_iov(&q, iov, 4), 2);
    cr_assert_eq(iov[0].iov_len, 7);
    cr_assert_eq(memcmp(iov[0].iov_base, "DEFGHIJ", 7), 0);
    expect_content(&q, "DEFGHIJklmnop", 13);

    /* Across the boundary and all of the next segment but one byte. */
    mx__outq_consume(&q, 7 + 5);
    cr_assert_eq(q.count, 1);
    expect_content(&q, "p", 1);

    /* Appending after a partially consumed gather segment extends it. */
    cr_assert_eq(mx__outq_append(&q, "qrs", 3), 0);
    cr_assert_eq(q.count, 1);
    expect_content(&q, "pqrs", 4);
    mx__outq_consume(&q, 4);
    cr_assert_null(q.seg);
    cr_assert_eq(q.bytes, 0);
    done();
}

Test(outq, consume_across_many_segments)
{
    struct mx_outq q = { 0 };
    struct mx_chunk *ch[5];
    char ref[50];
    for (int i = 0; i < 5; i++) {
        char b[10];
        for (int j = 0; j < 10; j++)
            b[j] = (char)('a' + i * 5 + j % 5);
        memcpy(ref + i * 10, b, 10);
        ch[i] = mx_chunk_copy(b, 10);
        cr_assert_eq(mx__outq_push(&q, ch[i]), 0);
    }
    cr_assert_eq(q.count, 5);
    cr_assert_eq(q.bytes, 50);
    mx__outq_consume(&q, 35);
    cr_assert_eq(q.count, 2);
    cr_assert_eq(q.bytes, 15);
    expect_content(&q, ref + 35, 15);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(refs(ch[i]), 1, "consumed chunk %d released", i);
    for (int i = 3; i < 5; i++)
        cr_assert_eq(refs(ch[i]), 2, "queued chunk %d still referenced", i);
    mx__outq_consume(&q, 1000);
    cr_assert_null(q.seg);
    cr_assert_eq(q.bytes, 0);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(refs(ch[i]), 1);
        mx_chunk_unref(ch[i]);
    }
    done();
}

Test(outq, shared_chunk_in_two_queues)
{
    struct mx_outq a = { 0 }, b = { 0 };
    /* Room to spare, so writing into it would be possible. */
    struct mx_chunk *ch = mx_chunk_new(64);
    cr_assert_not_null(ch);
    memcpy(ch->data, "hello", 5);
    ch->len = 5;
    cr_assert_eq(refs(ch), 1);

    cr_assert_eq(mx__outq_push(&a, ch), 0);
    cr_assert_eq(mx__outq_push(&b, ch), 0);
    cr_assert_eq(refs(ch), 3);

    /* Appends after the shared chunk must go to new segments. */
    cr_assert_eq(mx__outq_append(&a, "XYZ", 3), 0);
    cr_assert_eq(mx__outq_append(&b, "uvw", 3), 0);
    cr_assert_eq(a.count, 2);
    cr_assert_eq(b.count, 2);
    cr_assert_eq(ch->len, 5, "shared chunk length unchanged");
    cr_assert_eq(memcmp(ch->data, "hello", 5), 0);
    expect_content(&a, "helloXYZ", 8);
    expect_content(&b, "hellouvw", 8);

    mx__outq_consume(&a, 2);
    cr_assert_eq(refs(ch), 3);
    mx__outq_consume(&a, 3);
    cr_assert_eq(refs(ch), 2);
    expect_content(&a, "XYZ", 3);
    expect_content(&b, "hellouvw", 8);
    cr_assert_eq(memcmp(ch->data, "hello", 5), 0);

    mx__outq_consume(&b, 8);
    cr_assert_eq(refs(ch), 1);
    cr_assert_null(b.seg);
    mx__outq_clear(&a);
    cr_assert_null(a.seg);
    cr_assert_eq(refs(ch), 1);
    cr_assert_eq(ch->len, 5);
    cr_assert_eq(memcmp(ch->data, "hello", 5), 0);
    mx_chunk_unref(ch);
    done();
}

Test(outq, append_after_shared_push_never_writes_into_it)
{
    struct mx_outq a = { 0 };
    struct mx_chunk *ch = mx_chunk_new(MX_OUTQ_CHUNK);
    cr_assert_not_null(ch);
    memset(ch->data, '#', MX_OUTQ_CHUNK);
    memcpy(ch->data, "shared", 6);
    ch->len = 6;

    cr_assert_eq(mx__outq_append(&a, "pre", 3), 0);
    cr_assert_eq(mx__outq_push(&a, ch), 0);
    cr_assert_eq(refs(ch), 2);
    cr_assert_eq(mx__outq_append(&a, "post", 4), 0);
    cr_assert_eq(a.count, 3, "append after a shared push starts a new segment");
    cr_assert_eq(ch->len, 6);
    cr_assert_eq(memcmp(ch->data, "shared", 6), 0);
    cr_assert_eq(ch->data[6], '#', "no bytes written past the shared chunk's len");
    expect_content(&a, "presharedpost", 13);

    /* Push the same chunk again and then consume partway into it: still
     * shared with the caller, still never written. */
    cr_assert_eq(mx__outq_push(&a, ch), 0);
    cr_assert_eq(refs(ch), 3);
    mx__outq_consume(&a, 3 + 6 + 4 + 2);
    cr_assert_eq(refs(ch), 2);
    cr_assert_eq(mx__outq_append(&a, "tail", 4), 0);
    cr_assert_eq(ch->len, 6);
    cr_assert_eq(ch->data[6], '#');
    expect_content(&a, "aredtail", 8);

    mx__outq_clear(&a);
    cr_assert_eq(refs(ch), 1);
    cr_assert_eq(memcmp(ch->data, "shared", 6), 0);
    mx_chunk_unref(ch);
    done();
}

Test(outq, empty_queue_holds_no_memory)
{
    struct mx_outq q = { 0 };
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) {
            struct mx_chunk *ch = mx_chunk_copy("x", 1);
            cr_assert_eq(mx__outq_push(&q, ch), 0);
            mx_chunk_unref(ch);
            cr_assert_eq(mx__outq_append(&q, "yy", 2), 0);
        }
        cr_assert_not_null(q.seg);
        cr_assert_eq(q.bytes, 150);
        mx__outq_consume(&q, 149);
        cr_assert_not_null(q.seg);
        cr_assert_eq(q.bytes, 1);
        mx__outq_consume(&q, 1);
        cr_assert_null(q.seg);
        cr_assert_eq(q.count, 0);
        cr_assert_eq(q.cap, 0);
        cr_assert_eq(q.bytes, 0);
    }
    done();
}

Test(outq, iov_respects_max)
{
    struct mx_outq q = { 0 };
    char ref[20];
    for (int i = 0; i < 20; i++) {
        char c = (char)('A' + i);
        ref[i] = c;
        struct mx_chunk *ch = mx_chunk_copy(&c, 1);
        cr_assert_eq(mx__outq_push(&q, ch), 0);
        mx_chunk_unref(ch);
    }
    struct iovec iov[21];
    memset(iov, 0xAA, sizeof iov);
    struct iovec sentinel = iov[7];
    cr_assert_eq(mx__outq_iov(&q, iov, 7), 7);
    cr_assert_eq(memcmp(&iov[7], &sentinel, sizeof sentinel), 0,
                 "nothing written past max");
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(iov[i].iov_len, 1);
        cr_assert_eq(*(char *)iov[i].iov_base, ref[i]);
    }
    cr_assert_eq(mx__outq_iov(&q, iov, 0), 0);
    cr_assert_eq(mx__outq_iov(&q, iov, 1), 1);
    cr_assert_eq(mx__outq_iov(&q, iov, 21), 20);
    mx__outq_consume(&q, 15);
    cr_assert_eq(mx__outq_iov(&q, iov, 21), 5);
    cr_assert_eq(*(char *)iov[0].iov_base, 'P');
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    done();
}

Test(outq, ring_wraps_around)
{
    /* Keep a handful queued while pushing and consuming many, so head
     * runs around the ring. */
    struct mx_outq q = { 0 };
    char out[4096], in[4096];
    size_t nin = 0, nout = 0;
    for (int i = 0; i < 2000 && nin < sizeof in; i++) {
        char c = (char)(i * 37 + 1);
        struct mx_chunk *ch = mx_chunk_copy(&c, 1);
        cr_assert_eq(mx__outq_push(&q, ch), 0);
        mx_chunk_unref(ch);
        in[nin++] = c;
        if (q.count >= 3) {
            struct iovec iov[1];
            cr_assert_eq(mx__outq_iov(&q, iov, 1), 1);
            out[nout++] = *(char *)iov[0].iov_base;
            mx__outq_consume(&q, 1);
        }
    }
    size_t len;
    char *rest = collect(&q, &len);
    memcpy(out + nout, rest, len);
    nout += len;
    free(rest);
    cr_assert_eq(nout, nin);
    cr_assert_eq(memcmp(out, in, nin), 0);
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    done();
}

/* xorshift64*: deterministic across platforms. */
static uint64_t rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

Test(outq, partial_write_simulation)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t s = seed * 0x9E3779B97F4A7C15ull;
        size_t total = 200000 + rng(&s) % 200000;
        unsigned char *in = malloc(total);
        unsigned char *out = malloc(total);
        for (size_t i = 0; i < total; i++)
            in[i] = (unsigned char)rng(&s);

        struct mx_outq q = { 0 };
        size_t nin = 0, nout = 0;
        while (nout < total) {
            /* Producer: a few appends (or shared chunk pushes) of random
             * sizes, sometimes big. */
            int k = (int)(rng(&s) % 4);
            for (int j = 0; j < k && nin < total; j++) {
                uint64_t r = rng(&s);
                size_t n;
                switch (r % 8) {
                case 0: n = 1 + rng(&s) % (3 * MX_OUTQ_CHUNK); break;
                case 1: n = 1 + rng(&s) % 4096; break;
                default: n = 1 + rng(&s) % 200; break;
                }
                if (n > total - nin)
                    n = total - nin;
                if ((r >> 8) % 5 == 0) {
                    struct mx_chunk *ch = mx_chunk_copy(in + nin, n);
                    cr_assert_not_null(ch);
                    cr_assert_eq(mx__outq_push(&q, ch), 0);
                    mx_chunk_unref(ch);
                } else {
                    cr_assert_eq(mx__outq_append(&q, in + nin, n), 0);
                }
                nin += n;
                cr_assert_eq(q.bytes, nin - nout, "seed %llu: bytes after queueing",
                             (unsigned long long)seed);
            }
            if (nin == total && q.bytes == 0)
                break;
            /* Writer: a writev that takes a random amount of what the
             * first few iovecs offer. */
            struct iovec iov[8];
            int max = 1 + (int)(rng(&s) % 8);
            int n = mx__outq_iov(&q, iov, max);
            cr_assert_leq(n, max);
            size_t avail = 0;
            for (int i = 0; i < n; i++)
                avail += iov[i].iov_len;
            if (avail == 0)
                continue;
            size_t w = rng(&s) % 3 == 0 ? avail : rng(&s) % (avail + 1);
            size_t left = w;
            for (int i = 0; i < n && left > 0; i++) {
                size_t c = iov[i].iov_len < left ? iov[i].iov_len : left;
                memcpy(out + nout, iov[i].iov_base, c);
                nout += c;
                left -= c;
            }
            mx__outq_consume(&q, w);
            cr_assert_eq(q.bytes, nin - nout, "seed %llu: bytes after consume",
                         (unsigned long long)seed);
            cr_assert_eq(memcmp(out, in, nout), 0, "seed %llu: stream differs by %zu",
                         (unsigned long long)seed, nout);
        }
        cr_assert_eq(nout, total);
        cr_assert_eq(memcmp(out, in, total), 0, "seed %llu", (unsigned long long)seed);
        cr_assert_null(q.seg, "drained queue holds no memory");
        cr_assert_eq(q.bytes, 0);
        free(in);
        free(out);
    }
    done();
}

Test(outq, clear_drops_everything)
{
    struct mx_outq q = { 0 };
    struct mx_chunk *ch = mx_chunk_copy("shared", 6);
    static char big[MX_OUTQ_CHUNK * 2];
    memset(big, 'b', sizeof big);
    cr_assert_eq(mx__outq_append(&q, "abc", 3), 0);
    cr_assert_eq(mx__outq_push(&q, ch), 0);
    cr_assert_eq(mx__outq_append(&q, big, sizeof big), 0);
    cr_assert_eq(mx__outq_push(&q, ch), 0);
    cr_assert_eq(refs(ch), 3);
    mx__outq_consume(&q, 1);
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    cr_assert_eq(q.count, 0);
    cr_assert_eq(q.cap, 0);
    cr_assert_eq(q.bytes, 0);
    cr_assert_eq(refs(ch), 1);
    struct iovec iov[2];
    cr_assert_eq(mx__outq_iov(&q, iov, 2), 0);

    /* Usable again after clear. */
    cr_assert_eq(mx__outq_append(&q, "again", 5), 0);
    expect_content(&q, "again", 5);
    mx__outq_clear(&q);
    cr_assert_null(q.seg);
    mx_chunk_unref(ch);
    done();
}

Test(outq, spare_chunks_are_clean_on_reuse)
{
    /* Chunks recycled through the per-thread cache must not carry old
     * bytes or lengths into the next queue. */
    struct mx_outq q = { 0 };
    static char junk[MX_OUTQ_CHUNK];
    memset(junk, 'J', sizeof junk);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(mx__outq_append(&q, junk, sizeof junk - (size_t)i), 0);
        mx__outq_consume(&q, sizeof junk - (size_t)i);
        cr_assert_null(q.seg);
        cr_assert_eq(mx__outq_append(&q, "fresh", 5), 0);
        cr_assert_eq(q.count, 1);
        expect_content(&q, "fresh", 5);
        mx__outq_clear(&q);
    }
    done();
}

static void *thread_work(void *arg)
{
    int cleanup = *(int *)arg;
    struct mx_outq q = { 0 };
    static char data[MX_OUTQ_CHUNK];
    memset(data, 'w', sizeof data);
    /* Several chunks in flight at once, then drained: the spare cache
     * fills up. */
    for (int i = 0; i < 6; i++)
        cr_assert_eq(mx__outq_append(&q, data, sizeof data), 0);
    mx__outq_consume(&q, q.bytes);
    cr_assert_null(q.seg);
    if (cleanup)
        mx__outq_thread_cleanup();
    return NULL;
}

Test(outq, thread_cleanup_frees_spares_of_worker_thread)
{
    pthread_t th;
    int cleanup = 1;
    cr_assert_eq(pthread_create(&th, NULL, thread_work, &cleanup), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    done();
}
