/* test_load_checks.c - muxd-load must say no: a server that flips one
 * echoed byte, a port nobody listens on, a bad command line; and chat
 * mode's bookkeeping against a fake IRC server (tests/load/irc_peer.c)
 * that relays faithfully, then drops, duplicates or reorders deliveries,
 * and against ngircd when it is installed. Needs no muxd: runs once. */
#include "harness.h"
#include "loadrun.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(load_checks, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define RUN_MS 60000
#define NGIRCD "/usr/sbin/ngircd"

static struct lr_out run_load(char **args)
{
    char *argv[40] = { (char *)lr_bin("MUXD_LOAD_BIN") };
    for (int i = 0; args[i] && i < 38; i++)
        argv[i + 1] = args[i];
    struct lr_out r;
    MX_REQUIRE(lr_run(argv, RUN_MS, 0, &r) == 0, "cannot run muxd-load");
    lr_log(argv, &r);
    MX_REQUIRE(!strstr(r.err, "runtime error") && !strstr(r.err, "Sanitizer"),
               "muxd-load's sanitizer report: %s", r.err);
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

/* Chat against the fake server with fault K (or none): returns the run. */
static struct lr_out chat_against_peer(const char *fault, const char *k)
{
    pid_t pid;
    char *peer[4] = { (char *)lr_bin("LOAD_IRC_PEER"), (char *)fault, (char *)k, NULL };
    int port = lr_server_start(peer, &pid);
    MX_REQUIRE(port > 0, "irc peer did not start");
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    struct lr_out r = run_load((char *[]){ "chat", "-c", "12", "--channels", "3", "--senders",
                                           "3", "--rate", "400", "--duration", "1", "--warmup",
                                           "0.2", "--drain", "0.5", "-t", "2", "--json",
                                           target, NULL });
    lr_server_stop(pid);
    return r;
}

/* 12 clients in 3 channels of 4, one sender in each (so that the peer's
 * --swap, which swaps neighbouring deliveries to a receiver, swaps two
 * messages of one sender): each message owes 3 deliveries. */
Test(load_checks, chat_counts_every_delivery)
{
    struct lr_out r = chat_against_peer(NULL, NULL);
    MX_REQUIRE(r.status == 0 && json_ok(&r), "exit %d: %s", r.status, r.err);
    double msgs = num(&r, "messages");
    MX_REQUIRE(msgs >= 398 && msgs <= 402, "%.0f messages at 400/s for 1 s", msgs);
    MX_REQUIRE(num(&r, "expected_deliveries") == 3 * msgs);
    MX_REQUIRE(num(&r, "deliveries") == 3 * msgs);
    MX_REQUIRE(num(&r, "latency_us.count") == 3 * msgs);
    MX_REQUIRE(num(&r, "lost") == 0 && num(&r, "duplicated") == 0 && num(&r, "reordered") == 0);
    lr_free(&r);
}

Test(load_checks, chat_detects_loss)
{
    struct lr_out r = chat_against_peer("--drop", "7");
    MX_REQUIRE(r.status == 1 && !json_ok(&r), "exit %d against a dropping server", r.status);
    double lost = num(&r, "lost"), owed = num(&r, "expected_deliveries");
    MX_REQUIRE(lost > owed / 10 && lost < owed / 5, "%.0f of %.0f lost, 1 in 7 dropped", lost, owed);
    MX_REQUIRE(num(&r, "deliveries") + lost == owed);
    MX_REQUIRE(strstr(r.err, "deliveries lost"), "reason: %s", r.err);
    lr_free(&r);
}

Test(load_checks, chat_detects_duplicates_and_reordering)
{
    struct lr_out r = chat_against_peer("--dup", "9");
    MX_REQUIRE(r.status == 1 && num(&r, "duplicated") > 0 && num(&r, "lost") == 0,
               "exit %d: %s", r.status, r.out);
    MX_REQUIRE(strstr(r.err, "duplicated"), "reason: %s", r.err);
    lr_free(&r);
    r = chat_against_peer("--swap", "9");
    MX_REQUIRE(r.status == 1 && num(&r, "reordered") > 0 && num(&r, "duplicated") == 0,
               "exit %d: %s", r.status, r.out);
    /* The peer holds a line back until the receiver's next one: when the
     * held one is a receiver's last, it never comes, and muxd-load names
     * that loss first (at most one per receiver). */
    MX_REQUIRE(strstr(r.err, "reordered") || (strstr(r.err, "lost") && num(&r, "lost") <= 12),
               "reason: %s", r.err);
    lr_free(&r);
}

/* A delivery whose prefix names another client than the sender its text
 * carries (ld10 or the malformed ld00 for ld1 or ld0) is corrupt. */
Test(load_checks, chat_detects_a_wrong_sender)
{
    struct lr_out r = chat_against_peer("--spoof", "11");
    MX_REQUIRE(r.status == 1 && num(&r, "corrupt") > 0 && num(&r, "duplicated") == 0,
               "exit %d: %s", r.status, r.out);
    double corrupt = num(&r, "corrupt"), owed = num(&r, "expected_deliveries");
    MX_REQUIRE(corrupt > owed / 15 && corrupt < owed / 8,
               "%.0f of %.0f corrupt, 1 in 11 spoofed", corrupt, owed);
    MX_REQUIRE(strstr(r.err, "corrupt"), "reason: %s", r.err);
    lr_free(&r);
}

/* 480 messages at 400/s, relayed at 200/s: the last ones come about a
 * second after the 0.5 s drain. They are late, not lost. */
Test(load_checks, chat_tells_late_from_lost)
{
    struct lr_out r = chat_against_peer("--slow", "200");
    MX_REQUIRE(r.status == 1 && !json_ok(&r), "exit %d against a slow server", r.status);
    double late = num(&r, "late"), owed = num(&r, "expected_deliveries");
    MX_REQUIRE(num(&r, "lost") == 0 && num(&r, "deliveries") == owed, "%s", r.out);
    MX_REQUIRE(late > owed / 10 && late < owed, "%.0f of %.0f late", late, owed);
    MX_REQUIRE(strstr(r.err, "deliveries late"), "reason: %s", r.err);
    lr_free(&r);
}

Test(load_checks, chat_detects_nick_in_use)
{
    pid_t pid;
    int port = lr_server_start((char *[]){ (char *)lr_bin("LOAD_IRC_PEER"), NULL }, &pid);
    MX_REQUIRE(port > 0, "irc peer did not start");
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    int fd = mx_connect(port); /* takes nick ld1 first */
    MX_REQUIRE(fd >= 0 && mx_send_all(fd, "NICK ld1\r\nUSER x 0 * :x\r\n", 25) == 0);
    char buf[64];
    MX_REQUIRE(mx_recv_exact(fd, buf, 10, 5000) == 10);
    struct lr_out r = run_load((char *[]){ "chat", "-c", "3", "--duration", "0.5", target, NULL });
    close(fd);
    lr_server_stop(pid);
    MX_REQUIRE(r.status == 1 && strstr(r.err, "433"), "exit %d: %s", r.status, r.err);
    lr_free(&r);
}

/* ngIRCd with its flood limits lifted, in a scratch directory. */
static pid_t start_ngircd(const char *dir, int port)
{
    char path[300], conf[1024];
    snprintf(path, sizeof path, "%s/conf.d", dir);
    MX_REQUIRE(mkdir(path, 0700) == 0);
    snprintf(conf, sizeof conf,
             "[Global]\nName = ngircd.test\nInfo = muxd-load test\nListen = 127.0.0.1\n"
             "Ports = %d\nPidFile = %s/ngircd.pid\nMotdPhrase = test\n"
             "[Limits]\nMaxConnections = 0\nMaxConnectionsIP = 0\nMaxJoins = 0\n"
             "MaxNickLength = 30\nMaxPenaltyTime = 0\nPingTimeout = 600\nPongTimeout = 600\n"
             "[Options]\nDNS = no\nIdent = no\nPAM = no\nIncludeDir = %s/conf.d\n",
             port, dir, dir);
    snprintf(path, sizeof path, "%s/ngircd.conf", dir);
    FILE *f = fopen(path, "w");
    MX_REQUIRE(f && fputs(conf, f) >= 0 && fclose(f) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execl(NGIRCD, NGIRCD, "-n", "-f", path, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int fd = mx_connect(port);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        mx_sleep_ms(50);
    }
    lr_server_stop(pid);
    cr_assert_fail("ngircd did not listen on port %d", port);
    return -1;
}

Test(load_checks, chat_against_ngircd)
{
    if (access(NGIRCD, X_OK) != 0)
        cr_skip_test("%s is not installed", NGIRCD);
    char dir[] = "/tmp/muxd-load-ngircd-XXXXXX";
    MX_REQUIRE(mkdtemp(dir));
    int port = mx_free_port();
    MX_REQUIRE(port > 0, "no free port: %s", strerror(-port));
    pid_t pid = start_ngircd(dir, port);
    char target[32], spid[16];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    snprintf(spid, sizeof spid, "%d", (int)pid);
    struct lr_out r = run_load((char *[]){ "chat", "-c", "30", "--channels", "2", "--senders",
                                           "4", "--rate", "300", "--duration", "1", "--warmup",
                                           "0.3", "--connect-rate", "300", "--server-pid", spid,
                                           "--json", target, NULL });
    lr_server_stop(pid);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    (void)system(cmd);
    MX_REQUIRE(r.status == 0 && json_ok(&r), "exit %d: %s", r.status, r.err);
    /* 15 members a channel: 14 deliveries a message. */
    MX_REQUIRE(num(&r, "deliveries") == 14 * num(&r, "messages") && num(&r, "messages") >= 298);
    MX_REQUIRE(num(&r, "server_cpu_us_per_delivery") >= 0);
    lr_free(&r);
}
