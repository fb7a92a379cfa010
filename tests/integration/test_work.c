/* test_work.c - the work service: SPIN / SLEEP answered in request order,
 * a heavy request that stalls its worker inline and does not when
 * offloaded, a full pool answering "ERR busy", connections and the server
 * going away while jobs run, and the pool's threads. */
#include "harness.h"

#include <errno.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(work, .init = mx_init, .fini = mx_fini, .timeout = 90);

/* Generous: sanitizer builds on a loaded machine are slow. */
#define WAIT_MS 10000

/* One daemon, two listeners: the same service offloaded and inline. */
static const char both[] =
    "[server]\nworkers = 2\n"
    "[listener on]\nlisten = 127.0.0.1:0\nprotocol = work\noffload = on\n"
    "[listener off]\nlisten = 127.0.0.1:0\nprotocol = work\noffload = off\n"
    "[limits]\nmax_line = 64\n";

static int connect_to(struct mx_daemon *d, const char *listener)
{
    int fd = mx_connect(mx_port(d, listener));
    MX_REQUIRE(fd >= 0, "connect to %s: %s", listener, strerror(-fd));
    return fd;
}

static void send_text(int fd, const char *text)
{
    MX_REQUIRE(mx_send_all(fd, text, strlen(text)) == 0, "send '%s' failed", text);
}

/* Requires exactly want to arrive on fd within timeout_ms. */
static void expect_text(int fd, const char *want, int timeout_ms)
{
    size_t n = strlen(want);
    char *buf = calloc(1, n + 1);
    ssize_t r = mx_recv_exact(fd, buf, n, timeout_ms);
    MX_REQUIRE(r == (ssize_t)n && memcmp(buf, want, n) == 0,
               "wanted '%s', got %zd bytes '%s'", want, r, r > 0 ? buf : "");
    free(buf);
}

/* Sends text and requires exactly want back, nothing more. */
static void expect_reply(int fd, const char *text, const char *want)
{
    send_text(fd, text);
    expect_text(fd, want, WAIT_MS);
    MX_REQUIRE(!mx_readable_within(fd, 50), "more bytes than '%s' for '%s'", want, text);
}

/* Sends a request and waits until the daemon has read it, so that its job
 * is running (or queued) before the test goes on. */
static void send_read(int fd, const char *text)
{
    send_text(fd, text);
    MX_REQUIRE(mx_wait_peer_consumed(fd, WAIT_MS), "daemon did not read '%s'", text);
}

/* Which of a and b has data first: bit 0 for a, bit 1 for b (both when
 * they are readable at the same look); 0 on timeout. */
static int first_readable(int a, int b, int timeout_ms)
{
    struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
    if (poll(p, 2, timeout_ms) <= 0)
        return 0;
    return ((p[0].revents & POLLIN) ? 1 : 0) | ((p[1].revents & POLLIN) ? 2 : 0);
}

static void requests_and_echo(struct mx_daemon *d, const char *listener)
{
    int fd = connect_to(d, listener);
    expect_reply(fd, "SPIN 20\n", "DONE 20\n");
    expect_reply(fd, "SLEEP 20\n", "DONE 20\n");
    expect_reply(fd, "SLEEP 0\r\n", "DONE 0\n");
    expect_reply(fd, "SLEEP 007\n", "DONE 7\n");
    expect_reply(fd, "hello there\n", "hello there\n");
    expect_reply(fd, "crlf kept\r\n", "crlf kept\r\n");
    expect_reply(fd, "\n", "\n");
    expect_reply(fd, "SPINACH 5\nsleep 5\n", "SPINACH 5\nsleep 5\n");
    static const char *const bad[] = {
        "SPIN\n", "SLEEP\r\n", "SPIN x\n", "SPIN -1\n", "SPIN +1\n", "SLEEP 60001\n",
        "SLEEP 99999999999999999999\n", "SPIN 1 2\n", "SLEEP  5\n", "SPIN 5 \n",
        "SPIN 1.5\n", NULL,
    };
    for (int i = 0; bad[i]; i++)
        expect_reply(fd, bad[i], "ERR bad request\n");
    /* Still served after all of that. */
    expect_reply(fd, "SPIN 1\n", "DONE 1\n");
    close(fd);
}

Test(work, requests_and_echo)
{
    struct mx_daemon *d = mx_boot(both);
    requests_and_echo(d, "on");
    requests_and_echo(d, "off");
    mx_stop_ok(d, WAIT_MS);
}

Test(work, pipelined_replies_keep_order)
{
    struct mx_daemon *d = mx_boot(both);
    static const char *const listeners[] = { "on", "off" };
    for (int i = 0; i < 2; i++) {
        int fd = connect_to(d, listeners[i]);
        expect_reply(fd, "SLEEP 100\nhello\nSPIN 50\nworld\n",
                     "DONE 100\nhello\nDONE 50\nworld\n");
        /* A bad request between jobs, and a partial line completed later. */
        send_text(fd, "SPIN 30\nSPIN nope\nSLEEP 30\npart");
        mx_sleep_ms(20);
        expect_reply(fd, "ial\n", "DONE 30\nERR bad request\nDONE 30\npartial\n");
        close(fd);
    }
    mx_stop_ok(d, WAIT_MS);
}

/* A client that half-closes right after its requests still gets every
 * reply, then EOF; the partial last line is dropped. */
Test(work, half_close_still_gets_every_reply)
{
    struct mx_daemon *d = mx_boot(both);
    static const char *const listeners[] = { "on", "off" };
    for (int i = 0; i < 2; i++) {
        int fd = connect_to(d, listeners[i]);
        send_text(fd, "SLEEP 200\nhello\nSPIN 50\nworld\ntail");
        MX_REQUIRE(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
        expect_text(fd, "DONE 200\nhello\nDONE 50\nworld\n", WAIT_MS);
        size_t extra = 0;
        MX_REQUIRE(mx_wait_closed(fd, WAIT_MS, &extra) == MX_EOF && extra == 0,
                   "%s: no clean EOF after the replies (%zu more bytes)", listeners[i], extra);
        close(fd);
    }
    mx_stop_ok(d, WAIT_MS);
}

/* 100 KB of lines pipelined behind one offloaded request, in one write:
 * kept while paused (on io_uring some of it completes after the pause
 * began), then all answered in order. */
Test(work, long_pipeline_behind_a_job)
{
    struct mx_daemon *d = mx_boot(both);
    int fd = connect_to(d, "on");
    size_t lines = 100 * 1024 / 8;
    char *req = malloc(16 + lines * 8 + 1), *want = malloc(16 + lines * 8 + 1);
    size_t r = (size_t)sprintf(req, "SLEEP 50\n"), w = (size_t)sprintf(want, "DONE 50\n");
    for (size_t i = 0; i < lines; i++) {
        r += (size_t)sprintf(req + r, "l%05zu\n", i % 100000);
        w += (size_t)sprintf(want + w, "l%05zu\n", i % 100000);
    }
    send_text(fd, req);
    expect_text(fd, want, WAIT_MS);
    free(req);
    free(want);
    MX_REQUIRE(daemon_log_count(d, "over max_line") == 0, "cut while paused");
    close(fd);
    mx_stop_ok(d, WAIT_MS);
}

Test(work, long_line_closes)
{
    struct mx_daemon *d = mx_boot(both);
    static const char *const listeners[] = { "on", "off" };
    char line[128];
    memset(line, 'x', 100);
    strcpy(line + 100, "\n");
    for (int i = 0; i < 2; i++) {
        int fd = connect_to(d, listeners[i]);
        /* Lines before the long one are answered first. */
        send_text(fd, "SLEEP 50\nok\n");
        send_text(fd, line);
        expect_text(fd, "DONE 50\nok\nERR line too long\n", WAIT_MS);
        size_t extra = 0;
        MX_REQUIRE(mx_wait_closed(fd, WAIT_MS, &extra) != MX_OPEN && extra == 0,
                   "%s: not closed after 'ERR line too long' (%zu more bytes)",
                   listeners[i], extra);
        close(fd);
    }
    mx_stop_ok(d, WAIT_MS);
}

/* One worker, so that A and B share it whatever the acceptor does. */
static struct mx_daemon *boot_one_worker(const char *offload, const char *threads)
{
    char conf[512];
    snprintf(conf, sizeof conf,
             "[server]\nworkers = 1\n"
             "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\noffload = %s\n"
             "[offload]\nthreads = %s\n", offload, threads);
    return mx_boot(conf);
}

Test(work, offloaded_job_leaves_the_worker_free)
{
    struct mx_daemon *d = boot_one_worker("on", "1");
    int a = connect_to(d, "work");
    send_read(a, "SLEEP 600\n");
    int b = connect_to(d, "work");
    send_text(b, "still here?\n");
    /* B's echo comes while A's job runs: A has nothing yet. */
    int first = first_readable(a, b, WAIT_MS);
    MX_REQUIRE(first == 2, "wanted B's echo alone first, got readable mask %d "
               "(1 = A's DONE, 2 = B's echo)", first);
    expect_text(b, "still here?\n", WAIT_MS);
    MX_REQUIRE(!mx_readable_within(a, 0), "A answered before its job could end");
    expect_text(a, "DONE 600\n", WAIT_MS);
    /* A is served again once its job is done. */
    expect_reply(a, "again\n", "again\n");
    close(a);
    close(b);
    mx_stop_ok(d, WAIT_MS);
}

Test(work, inline_job_stalls_the_worker)
{
    /* No pool at all: offload = off does not need one. */
    struct mx_daemon *d = boot_one_worker("off", "0");
    int a = connect_to(d, "work");
    send_read(a, "SLEEP 600\n");
    int b = connect_to(d, "work");
    send_text(b, "still here?\n");
    /* The worker sleeps inside A's request: B is not even read until A's
     * DONE has gone out. */
    int first = first_readable(a, b, WAIT_MS);
    MX_REQUIRE(first & 1, "wanted A's DONE first, got readable mask %d "
               "(1 = A's DONE, 2 = B's echo)", first);
    expect_text(a, "DONE 600\n", WAIT_MS);
    expect_text(b, "still here?\n", WAIT_MS);
    close(a);
    close(b);
    mx_stop_ok(d, WAIT_MS);
}

static struct mx_daemon *boot_small_pool(int queue_max)
{
    char conf[512];
    snprintf(conf, sizeof conf,
             "[server]\nworkers = 2\n"
             "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
             "[offload]\nthreads = 1\nqueue_max = %d\n", queue_max);
    return mx_boot(conf);
}

Test(work, full_queue_answers_busy)
{
    enum { N = 6 };
    struct mx_daemon *d = boot_small_pool(2);
    int fd[N];
    for (int i = 0; i < N; i++)
        fd[i] = connect_to(d, "work");
    for (int i = 0; i < N; i++)
        send_text(fd[i], "SLEEP 500\n");
    int done = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        char buf[16] = "";
        /* Both replies are 9 bytes long. */
        ssize_t r = mx_recv_exact(fd[i], buf, 9, WAIT_MS);
        MX_REQUIRE(r == 9, "client %d: %zd bytes '%s'", i, r, buf);
        if (strcmp(buf, "DONE 500\n") == 0)
            done++;
        else if (strcmp(buf, "ERR busy\n") == 0)
            busy++;
        else
            MX_REQUIRE(0, "client %d: unexpected reply '%s'", i, buf);
    }
    cr_log_info("%d DONE, %d ERR busy", done, busy);
    MX_REQUIRE(busy >= 1, "no client was refused with queue_max = 2");
    MX_REQUIRE(done >= 1, "no client got its job done");
    /* Healthy afterwards, on every connection. */
    for (int i = 0; i < N; i++) {
        expect_reply(fd[i], "SLEEP 10\necho\n", "DONE 10\necho\n");
        close(fd[i]);
    }
    mx_stop_ok(d, WAIT_MS);
}

Test(work, busy_then_next_line)
{
    struct mx_daemon *d = boot_small_pool(1);
    int a = connect_to(d, "work");
    send_read(a, "SLEEP 400\n");
    int b = connect_to(d, "work");
    /* The refused request is answered at once and the next line goes on. */
    expect_reply(b, "SLEEP 100\nnext\n", "ERR busy\nnext\n");
    expect_text(a, "DONE 400\n", WAIT_MS);
    expect_reply(b, "SLEEP 100\nnext\n", "DONE 100\nnext\n");
    close(a);
    close(b);
    mx_stop_ok(d, WAIT_MS);
}

Test(work, close_while_job_runs)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                                  "[offload]\nthreads = 4\n");
    int port = mx_port(d, "work");
    for (int i = 0; i < 20; i++) {
        int fd = mx_connect(port);
        MX_REQUIRE(fd >= 0, "connect %d: %s", i, strerror(-fd));
        /* Pipelined lines too: they wait, kept, behind the job. */
        send_text(fd, i % 4 == 0 ? "SLEEP 400\nSPIN 10\nkept\n" : "SLEEP 400\n");
        if (i % 2)
            mx_close_rst(fd);
        else
            close(fd);
    }
    /* Let the first jobs finish for connections long gone. */
    mx_sleep_ms(600);
    MX_REQUIRE(daemon_alive(d), "muxd died with jobs of closed connections");
    int fd = connect_to(d, "work");
    expect_reply(fd, "alive\n", "alive\n");
    close(fd);
    mx_stop_ok(d, WAIT_MS);
}

Test(work, shutdown_while_jobs_run)
{
    enum { N = 4 };
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                                  "[offload]\nthreads = 2\n");
    int fd[N];
    for (int i = 0; i < N; i++) {
        fd[i] = connect_to(d, "work");
        send_read(fd[i], "SLEEP 600\n");
    }
    /* Two jobs run, two are queued; the stop cancels those and waits for
     * these. */
    int64_t t0 = mx_now_ms();
    mx_stop_ok(d, WAIT_MS);
    cr_log_info("stopped %lld ms after SIGTERM", (long long)(mx_now_ms() - t0));
    for (int i = 0; i < N; i++) {
        MX_REQUIRE(mx_wait_closed(fd[i], WAIT_MS, NULL) != MX_OPEN,
                   "client %d still open after the daemon exited", i);
        close(fd[i]);
    }
}

/* The names of d's threads, once name has appeared (threads name
 * themselves after "started:"). */
static void thread_names(struct mx_daemon *d, const char *name, char *names, size_t len)
{
    int n = -1;
    names[0] = '\n';
    for (int64_t until = mx_now_ms() + 5000; mx_now_ms() < until; mx_sleep_ms(20)) {
        n = mx_thread_names(d->pid, names + 1, len - 1);
        if (n > 0 && strstr(names, name))
            break;
    }
    MX_REQUIRE(n > 0, "cannot read /proc/%d/task", (int)d->pid);
    cr_log_info("%d threads:%s", n, names);
}

static bool has_thread(const char *names, const char *name)
{
    char line[64];
    snprintf(line, sizeof line, "\n%s\n", name);
    return strstr(names, line) != NULL;
}

Test(work, pool_threads_are_named)
{
    char names[4096];
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                                  "[offload]\nthreads = 2\n");
    thread_names(d, "\nmuxd-off1\n", names, sizeof names);
    MX_REQUIRE(has_thread(names, "muxd-off0") && has_thread(names, "muxd-off1"),
               "no muxd-off0 and muxd-off1 with threads = 2");
    MX_REQUIRE(!has_thread(names, "muxd-off2"), "a third pool thread with threads = 2");
    MX_REQUIRE(daemon_wait_log(d, "offload-threads=2", 0), "started line lacks "
               "offload-threads=2");
    mx_stop_ok(d, WAIT_MS);
}

Test(work, auto_pool_has_one_thread_per_worker)
{
    char names[4096];
    struct mx_daemon *d = mx_boot("[server]\nworkers = 3\n"
                                  "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n");
    thread_names(d, "\nmuxd-off2\n", names, sizeof names);
    MX_REQUIRE(has_thread(names, "muxd-off2"), "no muxd-off2 with workers = 3, threads = auto");
    MX_REQUIRE(!has_thread(names, "muxd-off3"), "a fourth pool thread with workers = 3");
    MX_REQUIRE(daemon_wait_log(d, "offload-threads=3", 0), "started line lacks "
               "offload-threads=3");
    mx_stop_ok(d, WAIT_MS);
}

Test(work, no_pool_with_zero_threads)
{
    char names[4096];
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                                  "offload = off\n"
                                  "[offload]\nthreads = 0\n");
    /* Once the last worker has named itself, a pool thread would have too. */
    thread_names(d, "\nmuxd-w1\n", names, sizeof names);
    mx_sleep_ms(100);
    MX_REQUIRE(mx_thread_names(d->pid, names + 1, sizeof names - 1) > 0, "cannot read "
               "/proc/%d/task", (int)d->pid);
    MX_REQUIRE(!strstr(names, "muxd-off"), "pool threads with threads = 0:%s", names);
    int fd = connect_to(d, "work");
    expect_reply(fd, "SPIN 10\n", "DONE 10\n");
    close(fd);
    mx_stop_ok(d, WAIT_MS);
}

Test(work, offload_without_pool_is_a_config_error)
{
    struct mx_daemon d = { 0 };
    int rc = daemon_start(&d, "[listener slow]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                              "[offload]\nthreads = 0\n");
    MX_REQUIRE(rc == 0, "daemon_start: %s", strerror(-rc));
    int st = daemon_wait_exit(&d, WAIT_MS);
    bool said = daemon_wait_log(&d, "[listener slow] offload: needs [offload] threads > 0",
                                WAIT_MS);
    daemon_cleanup(&d);
    MX_REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2,
               "wanted exit status 2, got waitpid status %d", st);
    MX_REQUIRE(said, "no 'needs [offload] threads > 0' message");
}
