/* test_load_reload.c - a reload under load, once per backend: 500 echo
 * clients and 100 chat clients (muxd-load verifies every echoed byte and
 * every chat delivery) while SIGHUP takes the workers 4 -> 2 -> 6, adds a
 * listener, removes it again and changes max_line. Nothing is lost,
 * duplicated, reordered or disconnected; the thread list shows each new
 * worker set; /metrics counts the connections that moved. */
#include "harness.h"
#include "loadrun.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

TestSuite(load_reload, .init = mx_init, .fini = mx_fini, .timeout = 180);

#define ECHO_CLIENTS 500
#define CHAT_CLIENTS 100
/* Clients that send a blob and read nothing until after the reloads: the
 * server holds their echo in its queues (paused at high water) when their
 * connections move. */
#define HOARDERS 4
#define BLOB (8u << 20) /* past the 4 MiB a loopback send buffer takes */

/* Through the harness, which keeps a CTest variant's forced server keys
 * in the rewritten file: a reload must not turn them back to defaults. */
static size_t write_conf_and_hup(struct mx_daemon *d, unsigned workers, bool extra,
                                 const char *max_line)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[server]\nworkers = %u\n[limits]\nmax_line = %s\n"
             "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\nflood_rate = 0\n"
             "[admin]\nlisten = 127.0.0.1:0\n%s",
             workers, max_line,
             extra ? "[listener extra]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = line\n" : "");
    return mx_rewrite_and_hup(d, text);
}

/* The muxd-load runs, each in a thread while the test reloads. */
struct run {
    char *argv[32];
    struct lr_out out;
    int rc;
    pthread_t t;
};

static void *run_main(void *arg)
{
    struct run *r = arg;
    r->rc = lr_run(r->argv, 150000, 0, &r->out);
    return NULL;
}

static void start(struct run *r, char **args)
{
    r->argv[0] = (char *)lr_bin("MUXD_LOAD_BIN");
    for (int i = 0; args[i] && i < 30; i++)
        r->argv[i + 1] = args[i];
    MX_REQUIRE(pthread_create(&r->t, NULL, run_main, r) == 0);
}

static double num(const struct lr_out *r, const char *path)
{
    double v = -1;
    MX_REQUIRE(lr_json_num(r->out, path, &v), "no number at '%s' in %s", path, r->out);
    return v;
}

static void finish_ok(struct run *r)
{
    pthread_join(r->t, NULL);
    MX_REQUIRE(r->rc == 0, "cannot run muxd-load");
    bool ok = false;
    if (r->out.status != 0 || !lr_json_bool(r->out.out, "ok", &ok) || !ok)
        lr_log(r->argv, &r->out);
    MX_REQUIRE(r->out.status == 0 && ok, "muxd-load exited %d: %s", r->out.status, r->out.err);
    MX_REQUIRE(num(&r->out, "connect_failures") == 0 && num(&r->out, "errors") == 0 &&
               num(&r->out, "verify_failures") == 0, "%s", r->out.out);
}

/* GET /metrics; the body, malloc'd. */
static char *metrics(int port)
{
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0, "connect to admin: %s", strerror(-fd));
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
    MX_REQUIRE(mx_send_all(fd, req, sizeof req - 1) == 0);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    MX_REQUIRE(buf);
    ssize_t n;
    while ((n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return buf;
}

/* The sum of a per-worker family's samples. */
static double metric_sum(const char *text, const char *name)
{
    double sum = 0;
    char key[96];
    snprintf(key, sizeof key, "\n%s{worker=\"", name);
    for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
        const char *sp = strchr(p + 1, ' ');
        sum += sp ? strtod(sp + 1, NULL) : 0;
    }
    return sum;
}

static double metric(const char *text, const char *name)
{
    char key[96];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    MX_REQUIRE(p, "no %s in /metrics", name);
    return strtod(p + strlen(key), NULL);
}

/* Waits until the daemon's thread list holds exactly workers muxd-wK. */
static void expect_workers(struct mx_daemon *d, unsigned workers)
{
    char names[4096], want[16];
    int64_t until = mx_now_ms() + 10000;
    for (;;) {
        MX_REQUIRE(mx_thread_names(d->pid, names, sizeof names) >= 0);
        unsigned n = 0;
        for (const char *p = strstr(names, "muxd-w"); p; p = strstr(p + 1, "muxd-w"))
            n++;
        snprintf(want, sizeof want, "muxd-w%u\n", workers - 1);
        if (n == workers && strstr(names, want))
            return;
        MX_REQUIRE(mx_now_ms() < until, "want %u workers, threads are:\n%s", workers, names);
        mx_sleep_ms(50);
    }
}

static void reload(struct mx_daemon *d, unsigned workers, bool extra, const char *max_line,
                   const char *line)
{
    size_t from = write_conf_and_hup(d, workers, extra, max_line);
    MX_REQUIRE(daemon_wait_log_from(d, from, line, 20000), "no '%s' in the log", line);
    MX_REQUIRE(daemon_wait_log_from(d, from, "reload: applied", 20000));
    expect_workers(d, workers);
}

Test(load_reload, workers_4_2_6_under_load_lose_nothing)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 4\n[limits]\nmax_line = 8k\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n"
                                  "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                  "flood_rate = 0\n"
                                  "[admin]\nlisten = 127.0.0.1:0\n");
    char echo[32], chat[32], pid[16];
    snprintf(echo, sizeof echo, "127.0.0.1:%d", mx_port(d, "echo"));
    snprintf(chat, sizeof chat, "127.0.0.1:%d", mx_port(d, "chat"));
    snprintf(pid, sizeof pid, "%d", (int)d->pid);
    int admin = mx_port(d, "admin");
    expect_workers(d, 4);

    struct run e = { 0 }, c = { 0 };
    start(&e, (char *[]){ "echo", "-c", "500", "-t", "2", "-d", "2", "-s", "200",
                          "--duration", "10", "--warmup", "0.5", "--json", echo, NULL });
    start(&c, (char *[]){ "chat", "-c", "100", "-t", "2", "--channels", "4", "--senders", "10",
                          "--rate", "200", "--duration", "9", "--warmup", "0.5", "--json", chat,
                          NULL });
    /* Everyone connected, and traffic flowing, before the first reload. */
    int64_t until = mx_now_ms() + 60000;
    char *m = NULL;
    for (;;) {
        free(m);
        m = metrics(admin);
        if (metric(m, "muxd_connections_admitted") >= ECHO_CLIENTS + CHAT_CLIENTS)
            break;
        MX_REQUIRE(mx_now_ms() < until, "clients never all connected:\n%s", m);
        mx_sleep_ms(100);
    }
    free(m);
    struct mx_writer wr[HOARDERS];
    for (int i = 0; i < HOARDERS; i++) {
        wr[i] = (struct mx_writer){ .seed = 77u + (uint32_t)i, .size = BLOB };
        wr[i].fd = mx_connect_bufs(mx_port(d, "echo"), 16384, 16384);
        MX_REQUIRE(wr[i].fd >= 0 && mx_writer_start(&wr[i]) == 0);
    }
    mx_sleep_ms(1000);
    m = metrics(admin);
    MX_REQUIRE(metric_sum(m, "muxd_output_queued_bytes") > HOARDERS * 64 * 1024,
               "the hoarders' echo is not queued in the server:\n%s", m);
    free(m);

    reload(d, 2, true, "16k", "workers: 4 -> 2: ");
    MX_REQUIRE(mx_port(d, "extra") > 0);
    mx_sleep_ms(1500);
    reload(d, 6, false, "8k", "workers: 2 -> 6");
    mx_sleep_ms(1500);
    reload(d, 3, false, "8k", "workers: 6 -> 3: ");

    for (int i = 0; i < HOARDERS; i++) {
        char why[256];
        MX_REQUIRE(mx_recv_pattern(wr[i].fd, wr[i].seed, BLOB, 30000, why, sizeof why) == 0,
                   "hoarder %d: %s", i, why);
        MX_REQUIRE(mx_writer_join(&wr[i]) == 0);
        close(wr[i].fd);
    }
    finish_ok(&e);
    finish_ok(&c);
    MX_REQUIRE(num(&c.out, "lost") == 0 && num(&c.out, "duplicated") == 0 &&
               num(&c.out, "reordered") == 0, "%s", c.out.out);
    MX_REQUIRE(num(&c.out, "deliveries") == num(&c.out, "expected_deliveries"), "%s",
               c.out.out);
    double msgs = num(&e.out, "messages");
    MX_REQUIRE(msgs > 1000, "only %.0f echoes", msgs);
    cr_log_info("echo: %.0f messages verified; chat: %.0f deliveries, 0 lost",
                msgs, num(&c.out, "deliveries"));

    /* Every client stayed: the closes are the clients' own, at the end. */
    m = metrics(admin);
    double in = metric_sum(m, "muxd_connections_moved_in_total");
    double out = metric_sum(m, "muxd_connections_moved_out_total");
    MX_REQUIRE(in == out && in >= (ECHO_CLIENTS + CHAT_CLIENTS) / 2,
               "moved in %.0f, out %.0f:\n%s", in, out, m);
    MX_REQUIRE(metric(m, "muxd_workers") == 3);
    free(m);
    MX_REQUIRE(!daemon_wait_log(d, "closed: ", 1), "a client was closed by the server");
    lr_free(&e.out);
    lr_free(&c.out);
    mx_stop_ok(d, 10000);
}
