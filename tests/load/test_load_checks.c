/* test_load_checks.c - muxd-load must say no: a server that flips one
 * echoed byte, a port nobody listens on, a bad command line; and chat
 * mode's bookkeeping against a fake IRC server (tests/load/irc_peer.c)
 * that relays faithfully, then drops, duplicates or reorders deliveries,
 * and against ngircd when it is installed. Needs no muxd: runs once. */
#include "harness.h"
#include "loadrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(load_checks, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define RUN_MS 60000

static struct lr_out run_load(char **args)
{
    char *argv[40] = { (char *)lr_bin("MUXD_LOAD_BIN") };
    for (int i = 0; args[i] && i < 38; i++)
        argv[i + 1] = args[i];
    struct lr_out r;
    MX_REQUIRE(lr_run(argv, RUN_MS, 0, &r) == 0, "cannot run muxd-load");
    lr_log(argv, &r);
    return r;
}

static double num(const struct lr_out *r, const char *path)
{
    double v = -1;
    MX_REQUIRE(lr_json_num(r->out, path, &v), "no number at '%s' in %s", path, r->out);
    return v;
}

static bool json_ok(const struct lr_out *r)
{
    bool ok = true;
    MX_REQUIRE(lr_json_bool(r->out, "ok", &ok), "no \"ok\" in %s", r->out);
    return ok;
}

Test(load_checks, flipped_byte_fails_the_run)
{
    pid_t pid;
    int port = lr_server_start((char *[]){ (char *)lr_bin("LOAD_FLIP_ECHO"), "1000", NULL }, &pid);
    MX_REQUIRE(port > 0, "flip echo server did not start");
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    struct lr_out r = run_load((char *[]){ "echo", "-c", "4", "-s", "64", "--duration", "1",
                                           "--warmup", "0.2", "--json", target, NULL });
    lr_server_stop(pid);
    MX_REQUIRE(r.status == 1, "exit %d against a corrupting server", r.status);
    MX_REQUIRE(strstr(r.err, "echoed byte 1000 (message 15, byte 40)"), "reason: %s", r.err);
    MX_REQUIRE(strstr(r.err, "FAILED"), "%s", r.err);
    MX_REQUIRE(!json_ok(&r) && num(&r, "verify_failures") >= 1);
    lr_free(&r);
}

Test(load_checks, refused_connect_fails_the_run)
{
    pid_t pid;
    int port = lr_server_start((char *[]){ (char *)lr_bin("LOAD_FLIP_ECHO"), NULL }, &pid);
    lr_server_stop(pid); /* the port is now (almost surely) closed */
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    struct lr_out r = run_load((char *[]){ "echo", "-c", "3", "--duration", "0.5", target,
                                           NULL });
    MX_REQUIRE(r.status == 1 && strstr(r.err, "Connection refused"), "exit %d: %s", r.status,
               r.err);
    lr_free(&r);
}

Test(load_checks, usage_errors_exit_2)
{
    struct lr_out r = run_load((char *[]){ "echo", "-c", "zero", "127.0.0.1:1", NULL });
    MX_REQUIRE(r.status == 2 && strstr(r.err, "-c: expected a number"), "%d %s", r.status, r.err);
    lr_free(&r);
    r = run_load((char *[]){ "--help", NULL });
    MX_REQUIRE(r.status == 0 && strstr(r.out, "usage: muxd-load MODE"), "%s", r.out);
    lr_free(&r);
    r = run_load((char *[]){ "chat", "--help", NULL });
    MX_REQUIRE(r.status == 0 && strstr(r.out, "--senders"), "%s", r.out);
    lr_free(&r);
}
