/* test_tls_weechat.c - a real IRC client over TLS: WeeChat (Debian's
 * weechat-headless), driven by weechat_client.py beside this file, joins
 * a channel on a TLS chat listener with certificate verification on,
 * beside a Python ssl client, once with TLS 1.3 and the handshake on the
 * offload pool, once with TLS 1.2 and the handshake inline. It asks for
 * IRCv3 capabilities (server-time, echo-message, multi-prefix,
 * extended-join, away-notify, message-tags, userhost-in-names and the
 * rest WeeChat 3.8 knows) and its logs must show them acknowledged and at
 * work: its own line in #t once, as muxd echoed it; the real name in its
 * JOIN; "@+" in WHO and WHOIS; a line's logged time the server's @time
 * (WeeChat is stopped until a later second). Channel and private messages
 * go both ways (WeeChat's side read back from its logger files); its
 * /who, /whois, /names, /topic, /notify (ISON), /whowas, /away, /version,
 * /time, /lusers, /links, /list, /userhost, /ison, /admin and /info are
 * answered; its logs hold no error line, "Unknown command" or complaint
 * about a message; and it quits on SIGTERM with a QUIT the other client
 * sees. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WEECHAT "/usr/bin/weechat-headless"
#define DRIVER_MS 30000        /* the driver's own steps are bounded at 5 s */

/* One at a time; the suite's .fini stops the driver (and with it WeeChat)
 * and removes the directory if a failed assert skipped the test's own. */
static struct mx_child run;

static void run_cleanup(void) { mx_child_cleanup(&run); }

static void fini(void)
{
    run_cleanup();
    mx_fini();
}

TestSuite(tls_weechat, .init = mx_init, .fini = fini, .timeout = 120);

/* dir/muxd.{crt,key}: self-signed, valid for IP 127.0.0.1, so WeeChat
 * verifies it with the certificate itself as its CA file. */
static void make_cert(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=muxd-test -addext subjectAltName=IP:127.0.0.1 -days 2 "
             "-keyout %s/muxd.key -out %s/muxd.crt 2>/dev/null",
             run.dir, run.dir);
    MX_REQUIRE(system(cmd) == 0, "openssl req failed: is openssl installed (scripts/setup.sh)?");
}

/* weechat_client.py PORT CAFILE HOME [MAXVER]; its exit status, or -1 if
 * it ran past DRIVER_MS (then it is killed, and WeeChat with it). */
static int driver(int port, const char *cafile, const char *home, const char *maxver)
{
    char script[1024], p[16];
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    MX_REQUIRE(slash);
    snprintf(slash + 1, sizeof script - (size_t)(slash + 1 - script), "weechat_client.py");
    snprintf(p, sizeof p, "%d", port);
    run.pid = fork();
    MX_REQUIRE(run.pid >= 0, "fork: %s", strerror(errno));
    if (run.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/usr/bin/python3", "python3", script, p, cafile, home, maxver, (char *)NULL);
        _exit(127);
    }
    int st = -1;
    for (int64_t end = mx_now_ms() + DRIVER_MS; mx_now_ms() < end; mx_sleep_ms(20)) {
        if (waitpid(run.pid, &st, WNOHANG) == run.pid) {
            run.pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
    }
    run_cleanup();
    return -1;
}

/* Two TLS chat listeners: "chat" hands its handshakes to the offload pool
 * (the default) and WeeChat gets TLS 1.3 there; "inline" does them on the
 * worker, and WeeChat offers TLS 1.2 only. WeeChat's connect commands
 * come in one burst of some 30 lines: flood_burst lets them through at
 * once (at the default 20, the rest would wait a second for flood_rate). */
Test(tls_weechat, weechat_chats_over_tls_with_a_python_client)
{
    /* A failure, not a skip: test.sh installs it, so missing is a defect. */
    MX_REQUIRE(access(WEECHAT, X_OK) == 0, WEECHAT " is not installed (scripts/setup.sh "
               "installs it)");
    snprintf(run.dir, sizeof run.dir, "/tmp/muxd-weechat-XXXXXX");
    MX_REQUIRE(mkdtemp(run.dir) != NULL, "mkdtemp: %s", strerror(errno));
    make_cert();
    char conf[1024], cafile[128];
    snprintf(conf, sizeof conf,
             "[server]\nworkers = 2\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\nflood_burst = 64\n"
             "tls = on\ntls_cert = %s/muxd.crt\ntls_key = %s/muxd.key\n"
             "[listener inline]\nlisten = 127.0.0.1:0\nprotocol = chat\nflood_burst = 64\n"
             "tls = on\ntls_cert = %s/muxd.crt\ntls_key = %s/muxd.key\n"
             "tls_handshake_offload = off\n",
             run.dir, run.dir, run.dir, run.dir);
    snprintf(cafile, sizeof cafile, "%s/muxd.crt", run.dir);
    struct mx_daemon *d = mx_boot(conf);
    static const struct {
        const char *listener, *maxver;
    } runs[] = { { "chat", NULL }, { "inline", "1.2" } };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char home[128];
        snprintf(home, sizeof home, "%s/weechat-%s", run.dir, runs[i].listener);
        MX_REQUIRE(mkdir(home, 0700) == 0, "mkdir %s: %s", home, strerror(errno));
        int64_t t0 = mx_now_ms();
        int rc = driver(mx_port(d, runs[i].listener), cafile, home, runs[i].maxver);
        MX_REQUIRE(rc == 0, "weechat_client.py on listener %s failed (exit %d; its stderr is "
                   "above)", runs[i].listener, rc);
        cr_log_info("weechat over TLS on %s: %lld ms", runs[i].listener,
                    (long long)(mx_now_ms() - t0));
    }
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
    run_cleanup();
}
