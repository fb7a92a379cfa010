/* test_ws_chat.c - chat over WebSocket (issue 17): a `transport =
 * websocket` chat listener driven by real clients, ws_client.py beside
 * this file (Debian's python3-websockets, plus a raw-socket client that
 * writes frames by hand), next to plain TCP IRC clients of the same
 * network. A WS and a TCP member exchange messages and see each other's
 * JOIN, NICK, PART and QUIT as exact lines, over ws:// and wss://; 500 WS
 * members across two workers each get every message once and in order; a
 * WS member that stops reading is cut with SendQ exceeded while the rest
 * go on; a K-line cuts a WS member (ERROR message, close frame); and the
 * HTTP side (the page, 404, Origin) and the framing rules
 * (subprotocol choice, one line per message, ping, close codes 1002,
 * 1007, 1009, 1001 at a graceful stop) hold. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRIPT_MS 60000        /* ws_client.py bounds its own waits at 10 s */
#define GOOD_ORIGIN "http://muxd.test"
#define MAX_MESSAGE 8192

/* The running script and the certificate directory: the suite's .fini
 * stops and removes them if a failed assert skipped the test's own. */
static struct mx_child run;

static void run_cleanup(void) { mx_child_cleanup(&run); }

static void fini(void)
{
    run_cleanup();
    mx_fini();
}

TestSuite(ws_chat, .init = mx_init, .fini = fini, .timeout = 180);

/* A file beside this one (__FILE__ is absolute), or up from it. */
static void beside(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    MX_REQUIRE(slash);
    snprintf(slash + 1, cap - (size_t)(slash + 1 - out), "%s", name);
}

/* ws_client.py with up to five arguments (NULL ends them); its exit
 * status, or -1 if it ran past SCRIPT_MS (then it is killed). */
static int py(const char *a0, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char script[1024];
    beside(script, sizeof script, "ws_client.py");
    run.pid = fork();
    MX_REQUIRE(run.pid >= 0, "fork: %s", strerror(errno));
    if (run.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/usr/bin/python3", "python3", script, a0, a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    int st = -1;
    for (int64_t end = mx_now_ms() + SCRIPT_MS; mx_now_ms() < end; mx_sleep_ms(20)) {
        if (waitpid(run.pid, &st, WNOHANG) == run.pid) {
            run.pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
    }
    cr_log_error("ws_client.py %s ran past %d ms: killed", a0, SCRIPT_MS);
    kill(run.pid, SIGKILL);
    waitpid(run.pid, NULL, 0);
    run.pid = 0;
    return -1;
}

static void port_str(char *out, int port) { snprintf(out, 16, "%d", port); }

/* A plain chat listener "irc" and the WebSocket listener "web" that
 * serves its network (share_with: the same nicks and channels; the chat
 * keys are irc's). tls_dir: wss with the certificate there; server_extra:
 * more [server] keys; irc_extra: more chat keys; tail: more sections. */
static const char *config(const char *tls_dir, const char *server_extra,
                          const char *irc_extra, const char *tail)
{
    static char text[4096];
    char tls[512] = "";
    if (tls_dir)
        snprintf(tls, sizeof tls, "tls = on\ntls_cert = %s/muxd.crt\ntls_key = %s/muxd.key\n",
                 tls_dir, tls_dir);
    snprintf(text, sizeof text,
             "[server]\nworkers = 2\n%s"
             "[listener irc]\nlisten = 127.0.0.1:0\nprotocol = chat\nflood_rate = 0\n%s"
             "[listener web]\nlisten = 127.0.0.1:0\nprotocol = chat\nshare_with = irc\n"
             "transport = websocket\nallowed_origins = " GOOD_ORIGIN ",https://chat.example\n"
             "ws_max_message = %d\n%s%s",
             server_extra, irc_extra, MAX_MESSAGE, tls, tail);
    return text;
}

static void make_cert(void)
{
    snprintf(run.dir, sizeof run.dir, "/tmp/muxd-wss-XXXXXX");
    MX_REQUIRE(mkdtemp(run.dir) != NULL, "mkdtemp: %s", strerror(errno));
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=muxd-test -days 2 -keyout %s/muxd.key -out %s/muxd.crt 2>/dev/null",
             run.dir, run.dir);
    MX_REQUIRE(system(cmd) == 0, "openssl req failed: is openssl installed (scripts/setup.sh)?");
}

static void stop(struct mx_daemon *d)
{
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
    run_cleanup();
}

/* One WS and one TCP member of #mix: messages (UTF-8, a stripped CR LF,
 * invalid UTF-8 as U+FFFD in text mode, as is in binary mode), NICK,
 * PART, JOIN and QUIT seen both ways;
 * a quitting WS client gets ERROR as a message, then a close frame. */
Test(ws_chat, ws_and_tcp_members_share_a_channel)
{
    struct mx_daemon *d = mx_boot(config(NULL, "", "", ""));
    char ws[16], tcp[16];
    port_str(ws, mx_port(d, "web"));
    port_str(tcp, mx_port(d, "irc"));
    MX_REQUIRE(py("mixed", ws, tcp, NULL, NULL) == 0, "ws_client.py mixed failed (its stderr is "
               "above)");
    stop(d);
}

/* The same over wss://: TLS under the WebSocket layer. */
Test(ws_chat, wss_and_tcp_members_share_a_channel)
{
    make_cert();
    struct mx_daemon *d = mx_boot(config(run.dir, "", "", ""));
    char ws[16], tcp[16];
    port_str(ws, mx_port(d, "web"));
    port_str(tcp, mx_port(d, "irc"));
    MX_REQUIRE(py("mixed", ws, tcp, "tls", NULL) == 0, "ws_client.py mixed tls failed (its "
               "stderr is above)");
    stop(d);
}

/* 500 WS members over both workers in one channel; 5 of them send 20
 * numbered messages each; every member gets every other sender's
 * messages exactly once, each sender's in order. */
Test(ws_chat, five_hundred_ws_members_get_every_message_once_in_order)
{
    struct mx_daemon *d = mx_boot(config(NULL, "", "", ""));
    char ws[16];
    port_str(ws, mx_port(d, "web"));
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(py("many", ws, "500", "5", "20") == 0, "ws_client.py many failed (its stderr is "
               "above)");
    cr_log_info("500 WS members: %lld ms", (long long)(mx_now_ms() - t0));
    stop(d);
}

/* A WS member that stops reading while a TCP member floods the channel is
 * cut with SendQ exceeded (its ERROR message, a close frame, EOF); a WS
 * and a TCP reader get every line in order meanwhile. A small SendQ keeps
 * it short; shutdown_timeout is long enough that the cut one is not
 * dropped before it reads its ERROR. */
Test(ws_chat, a_ws_member_that_stops_reading_is_cut_with_sendq_exceeded)
{
    struct mx_daemon *d = mx_boot(config(NULL, "shutdown_timeout = 60s\n", "",
                                         "[limits]\noutput_max = 256k\n"
                                         "output_high_water = 128k\noutput_low_water = 32k\n"));
    char ws[16], tcp[16];
    port_str(ws, mx_port(d, "web"));
    port_str(tcp, mx_port(d, "irc"));
    MX_REQUIRE(py("slow", ws, tcp, NULL, NULL) == 0, "ws_client.py slow failed (its stderr is "
               "above)");
    MX_REQUIRE(daemon_wait_log(d, "SendQ exceeded", 5000), "no log line for the cut");
    stop(d);
}

/* An IRC operator on the TCP listener K-lines a WS member's user@host:
 * the channel sees its QUIT "K-lined: ...", the WS client gets its ERROR
 * line as a message, then a close frame; a new WS client of that user
 * is refused at registration (465, ERROR, close). */
#define OPER_PASSWORD "s3cret-ws"
/* `openssl passwd -6 -salt muxdtestsalt s3cret-ws` (crypt(3)'s SHA-512). */
#define OPER_HASH "$6$muxdtestsalt$Lbk/WIa.5dmoxoH5oW8Vg06bYtJ3uAd/Mzjbbq8pWp9H.TUb7SHKaUzoWf62qJ" \
                  "GFApnl/7DRd54uXoiNeD1Of/"
Test(ws_chat, a_k_line_cuts_a_ws_member_with_error_then_close)
{
    snprintf(run.dir, sizeof run.dir, "/tmp/muxd-wsk-XXXXXX");
    MX_REQUIRE(mkdtemp(run.dir) != NULL, "mkdtemp: %s", strerror(errno));
    char irc_extra[256];
    snprintf(irc_extra, sizeof irc_extra, "kline_file = %s/irc.klines\n", run.dir);
    struct mx_daemon *d = mx_boot(config(NULL, "", irc_extra,
                                         "[oper boss]\npassword = " OPER_HASH "\n"
                                         "hosts = *!*@127.0.0.1\n"));
    char ws[16], tcp[16];
    port_str(ws, mx_port(d, "web"));
    port_str(tcp, mx_port(d, "irc"));
    MX_REQUIRE(py("kline", ws, tcp, OPER_PASSWORD, NULL) == 0, "ws_client.py kline failed (its "
               "stderr is above)");
    stop(d);
}

/* SIGTERM (sent by the script once its clients are in): a registered
 * and an unregistered WS client get ERROR "Server shutting down", then
 * close code 1001 (going away); the daemon exits 0. */
Test(ws_chat, a_graceful_stop_closes_ws_clients_with_1001)
{
    struct mx_daemon *d = mx_boot(config(NULL, "", "", ""));
    char ws[16], pid[16];
    port_str(ws, mx_port(d, "web"));
    snprintf(pid, sizeof pid, "%d", (int)d->pid);
    MX_REQUIRE(py("shutdown", ws, pid, NULL, NULL) == 0, "ws_client.py shutdown failed (its "
               "stderr is above)");
    int st = daemon_wait_exit(d, 10000);
    MX_REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "muxd did not exit 0 (status "
               "%d)", st);
    mx_require_clean_log(d);
    run_cleanup();
}

/* The HTTP side (GET / serves web/index.html as text/html; other paths
 * 404; a bad Origin 403) and the framing rules: subprotocols in the
 * client's order, text without one, ping/pong, a clean close, and close
 * codes 1002 (unmasked), 1007 (invalid UTF-8), 1009 (over ws_max_message). */
Test(ws_chat, http_origin_subprotocols_and_frame_rules)
{
    struct mx_daemon *d = mx_boot(config(NULL, "", "", ""));
    char ws[16], page[1024], max[16];
    port_str(ws, mx_port(d, "web"));
    beside(page, sizeof page, "../../web/index.html");
    snprintf(max, sizeof max, "%d", MAX_MESSAGE);
    MX_REQUIRE(py("proto", ws, GOOD_ORIGIN, page, max) == 0, "ws_client.py proto failed (its "
               "stderr is above)");
    stop(d);
}
