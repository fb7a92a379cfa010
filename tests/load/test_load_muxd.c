/* test_load_muxd.c - muxd-load against the real daemon, once per backend:
 * echo (closed and open loop, lines), idle, work, and a run split over
 * forked worker processes by a low descriptor limit, and chat (muxd's IRC
 * service, flood control off). Each run is short
 * and its JSON is checked for the keys the bench scripts rely on and for
 * numbers that must agree with each other and with what was asked. */
#include "harness.h"
#include "loadrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(load_muxd, .init = mx_init, .fini = mx_fini, .timeout = 120);

static const char conf[] =
    "[server]\nworkers = 2\n"
    "[listener raw]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n"
    "[listener line]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = line\n"
    "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\noffload = on\n"
    "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\nflood_rate = 0\n";

#define RUN_MS 60000

struct ctx {
    struct mx_daemon *d;
    char target[4][32];      /* raw, line, work, chat */
    char pid[16];
};

static void boot(struct ctx *c)
{
    c->d = mx_boot(conf);
    const char *names[4] = { "raw", "line", "work", "chat" };
    for (int i = 0; i < 4; i++)
        snprintf(c->target[i], sizeof c->target[i], "127.0.0.1:%d", mx_port(c->d, names[i]));
    snprintf(c->pid, sizeof c->pid, "%d", (int)c->d->pid);
}

/* Runs muxd-load with args (NULL-terminated, without the binary) and
 * requires exit 0 and "ok":true. The JSON is left in r->out. */
static void run_ok(char **args, long nofile, struct lr_out *r)
{
    char *argv[40] = { (char *)lr_bin("MUXD_LOAD_BIN") };
    for (int i = 0; args[i] && i < 38; i++)
        argv[i + 1] = args[i];
    MX_REQUIRE(lr_run(argv, RUN_MS, nofile, r) == 0, "cannot run muxd-load");
    bool ok = false;
    if (r->status != 0 || !lr_json_bool(r->out, "ok", &ok) || !ok)
        lr_log(argv, r);
    MX_REQUIRE(r->status == 0, "muxd-load exited %d: %s", r->status, r->err);
    MX_REQUIRE(!strstr(r->err, "runtime error") && !strstr(r->err, "Sanitizer"),
               "muxd-load's sanitizer report: %s", r->err);
    MX_REQUIRE(ok, "JSON says not ok: %s", r->out);
}

static double num(const struct lr_out *r, const char *path)
{
    double v = -1;
    MX_REQUIRE(lr_json_num(r->out, path, &v), "no number at '%s' in %s", path, r->out);
    return v;
}

/* The keys every mode prints, and the latency percentiles in order. */
static void common_keys(const struct lr_out *r, const char *mode, double conns)
{
    char want[64];
    snprintf(want, sizeof want, "\"mode\":\"%s\"", mode);
    MX_REQUIRE(strstr(r->out, "\"tool\":\"muxd-load\"") && strstr(r->out, want), "%s", r->out);
    MX_REQUIRE(num(r, "conns") == conns);
    MX_REQUIRE(num(r, "connect_failures") == 0);
    MX_REQUIRE(num(r, "errors") == 0 && num(r, "verify_failures") == 0);
    double p50 = num(r, "latency_us.p50"), p90 = num(r, "latency_us.p90");
    double p99 = num(r, "latency_us.p99"), p999 = num(r, "latency_us.p999");
    double max = num(r, "latency_us.max");
    MX_REQUIRE(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
               "percentiles out of order: %s", r->out);
    MX_REQUIRE(strchr(r->out, '{') == r->out && strchr(r->out, '\n') == r->out + strlen(r->out) - 1,
               "not exactly one JSON line: %s", r->out);
}

Test(load_muxd, echo_closed_loop)
{
    struct ctx c;
    boot(&c);
    struct lr_out r;
    run_ok((char *[]){ "echo", "-c", "20", "-t", "2", "-d", "2", "-s", "100", "--duration", "1",
                       "--warmup", "0.3", "--json", "--server-pid", c.pid, c.target[0], NULL },
           0, &r);
    common_keys(&r, "echo", 20);
    double msgs = num(&r, "messages");
    MX_REQUIRE(num(&r, "connected") == 20 && num(&r, "threads") == 2 && num(&r, "depth") == 2);
    MX_REQUIRE(msgs > 100, "only %.0f messages", msgs);
    MX_REQUIRE(num(&r, "bytes") == msgs * 100);
    MX_REQUIRE(num(&r, "msgs_per_s") > msgs * 0.99 && num(&r, "msgs_per_s") < msgs * 1.01);
    MX_REQUIRE(num(&r, "latency_us.count") == msgs);
    MX_REQUIRE(num(&r, "server_cpu_s") >= 0 && num(&r, "server_cpu_us_per_msg") >= 0);
    lr_free(&r);
    mx_stop_ok(c.d, 10000);
}

/* An open loop sends on a schedule: the window holds exactly rate x
 * duration messages (counted by their intended send time). */
Test(load_muxd, echo_open_loop_and_lines)
{
    struct ctx c;
    boot(&c);
    struct lr_out r;
    run_ok((char *[]){ "echo", "-c", "10", "--rate", "2000", "--duration", "1", "--warmup",
                       "0.2", "--json", c.target[0], NULL }, 0, &r);
    common_keys(&r, "echo", 10);
    double msgs = num(&r, "messages");
    MX_REQUIRE(msgs >= 1998 && msgs <= 2002, "%.0f messages at 2000/s for 1 s", msgs);
    MX_REQUIRE(num(&r, "rate") == 2000);
    MX_REQUIRE(strstr(r.out, "\"depth\":null"));
    lr_free(&r);
    run_ok((char *[]){ "echo", "--lines", "-c", "5", "-s", "300", "--duration", "0.5",
                       "--warmup", "0.1", "--json", c.target[1], NULL }, 0, &r);
    common_keys(&r, "echo", 5);
    bool lines = false;
    MX_REQUIRE(lr_json_bool(r.out, "lines", &lines) && lines);
    lr_free(&r);
    mx_stop_ok(c.d, 10000);
}

Test(load_muxd, idle)
{
    struct ctx c;
    boot(&c);
    struct lr_out r;
    run_ok((char *[]){ "idle", "-c", "200", "-t", "2", "--duration", "1", "--json",
                       c.target[0], NULL }, 0, &r);
    common_keys(&r, "idle", 200);
    bool rt = false;
    MX_REQUIRE(lr_json_bool(r.out, "roundtrip_ok", &rt) && rt, "%s", r.out);
    MX_REQUIRE(num(&r, "roundtrips") == 200 && num(&r, "connected") == 200);
    lr_free(&r);
    mx_stop_ok(c.d, 10000);
}

/* Light latency is reported apart from the heavy requests': the heavy ones
 * take at least their SPIN time, the light ones (offloaded pool) far less. */
Test(load_muxd, work)
{
    struct ctx c;
    boot(&c);
    struct lr_out r;
    run_ok((char *[]){ "work", "-c", "10", "--heavy", "1", "--heavy-line", "SPIN 20",
                       "--duration", "1.5", "--warmup", "0.2", "--json", c.target[2], NULL },
           0, &r);
    common_keys(&r, "work", 10);
    double reqs = num(&r, "heavy.requests");
    double heavy_p50 = num(&r, "heavy.latency_us.p50");
    MX_REQUIRE(reqs >= 5 && reqs <= 75, "%.0f heavy requests of 20 ms in 1.5 s", reqs);
    MX_REQUIRE(heavy_p50 >= 20000, "heavy p50 %.0f us under its 20 ms spin", heavy_p50);
    MX_REQUIRE(num(&r, "latency_us.p50") < heavy_p50);
    MX_REQUIRE(num(&r, "connected") == 11);
    lr_free(&r);
    mx_stop_ok(c.d, 10000);
}

/* 300 connections under a limit of 150 descriptors: muxd-load forks
 * workers, merges their results, and every connection is accounted for. */
Test(load_muxd, forked_workers)
{
    struct ctx c;
    boot(&c);
    struct lr_out r;
    run_ok((char *[]){ "echo", "-c", "300", "-t", "2", "--duration", "1", "--warmup", "0.2",
                       "--json", c.target[0], NULL }, 150, &r);
    common_keys(&r, "echo", 300);
    MX_REQUIRE(num(&r, "processes") >= 3, "%s", r.out);
    MX_REQUIRE(num(&r, "connected") == 300);
    MX_REQUIRE(num(&r, "latency_us.count") == num(&r, "messages"));
    lr_free(&r);
    mx_stop_ok(c.d, 10000);
}

/* 40 clients in 4 channels of 10, spread over muxd's two workers: every
 * message owes 9 deliveries, and every one arrives, once, in order. */
Test(load_muxd, chat)
{
    struct ctx c;
    boot(&c);
    struct lr_out r;
    run_ok((char *[]){ "chat", "-c", "40", "-t", "2", "--channels", "4", "--senders", "8",
                       "--rate", "400", "--duration", "1", "--warmup", "0.3", "--json",
                       "--server-pid", c.pid, c.target[3], NULL }, 0, &r);
    common_keys(&r, "chat", 40);
    double msgs = num(&r, "messages");
    MX_REQUIRE(msgs >= 398 && msgs <= 402, "%.0f messages at 400/s for 1 s", msgs);
    MX_REQUIRE(num(&r, "expected_deliveries") == 9 * msgs);
    MX_REQUIRE(num(&r, "deliveries") == 9 * msgs);
    MX_REQUIRE(num(&r, "lost") == 0 && num(&r, "duplicated") == 0 && num(&r, "reordered") == 0);
    MX_REQUIRE(num(&r, "deliveries_per_s") == 9 * msgs);
    MX_REQUIRE(num(&r, "server_cpu_us_per_delivery") >= 0);
    lr_free(&r);
    mx_stop_ok(c.d, 10000);
}
