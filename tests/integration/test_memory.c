/* test_memory.c - memory comes back: after 15,000 connections open, echo
 * and close, the daemon's RSS returns to within 2 MB of its idle size
 * within 10 s, on every backend (src/reactor/trim.c). Not under the
 * sanitizers, whose allocators keep freed memory on purpose. */
#include "harness.h"

#include <stdio.h>

/* MX_TEST_SANITIZED: set by tests/CMakeLists.txt for a sanitizer build. */
#ifdef MX_TEST_SANITIZED
#define SANITIZED 1
#endif

TestSuite(memory, .init = mx_init, .fini = mx_fini, .timeout = 120);

Test(memory, comes_back_after_a_burst)
{
#ifdef SANITIZED
    cr_skip_test("a sanitizer's allocator keeps freed memory on purpose");
#endif
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n");
    /* Idle is a daemon that has served: 100 clients first make each
     * thread's arena and the backends' first tables. */
    struct mx_load_opts o = { .port = mx_port(d, "echo"), .clients = 100, .messages = 2,
                              .min_msg = 64, .max_msg = 4096, .pipeline = 1, .threads = 2,
                              .timeout_ms = 60000, .seed_base = 7 };
    struct mx_load_result r;
    MX_REQUIRE(mx_load_run(&o, &r) == 0, "%s", r.first_error);
    mx_sleep_ms(300);
    long idle = daemon_rss_kb(d);
    o.clients = 15000;
    MX_REQUIRE(mx_load_run_logged(&o, &r) == 0, "%s", r.first_error);
    long peak = daemon_rss_kb(d);
    int64_t t0 = mx_now_ms();
    long now = peak;
    while ((now = daemon_rss_kb(d)) > idle + 2048 && mx_now_ms() - t0 < 10000)
        mx_sleep_ms(100);
    fprintf(stderr, "memory: RSS idle %ld kB, after the burst %ld kB, %lld ms later %ld kB\n",
            idle, peak, (long long)(mx_now_ms() - t0), now);
    MX_REQUIRE(now <= idle + 2048, "RSS %ld kB, idle %ld kB: not back within 2 MB in 10 s",
               now, idle);
    MX_REQUIRE(daemon_wait_log(d, "connections gone since the last trim", 1000));
    mx_stop_ok(d, 5000);
}
