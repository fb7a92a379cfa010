/* test_ws_browser.c - the web client page (web/index.html, served by a
 * `transport = websocket` chat listener at GET /) in a real browser:
 * Debian's headless Chromium, driven by browser_client.py beside this
 * file (python3-selenium and chromedriver), chats in #muxd with a plain
 * TCP IRC client of the same network. A nick in use (433) lets the user
 * pick another; the page registers and joins; lines go both ways, the
 * TCP one shown as text with the server's time; the member list follows
 * NAMES, JOIN, NICK and PART; /me, /nick and the Part button work; the
 * layout stacks on a phone-sized window; the console stays clean. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHROMIUM "/usr/bin/chromium"
#define CHROMEDRIVER "/usr/bin/chromedriver"
#define SCRIPT_MS 90000        /* its own steps are bounded at 10 s each */

/* The driver script, stopped by the suite's .fini (and Chromium with it:
 * driver.quit() runs in its finally) if a failed assert skipped the
 * test's own wait. */
static pid_t script_pid;

static void fini(void)
{
    if (script_pid > 0) {
        /* SIGTERM first: the script then quits Chromium on its way out. */
        kill(script_pid, SIGTERM);
        bool reaped = false;
        for (int i = 0; i < 250 && !reaped; i++) {
            reaped = waitpid(script_pid, NULL, WNOHANG) == script_pid;
            if (!reaped)
                mx_sleep_ms(20);
        }
        if (!reaped) {
            kill(script_pid, SIGKILL);
            waitpid(script_pid, NULL, 0);
        }
        script_pid = 0;
    }
    mx_fini();
}

TestSuite(ws_browser, .init = mx_init, .fini = fini, .timeout = 180);

/* browser_client.py WSPORT TCPPORT; its exit status, or -1 if it ran
 * past SCRIPT_MS (then it is killed). */
static int driver(int ws_port, int tcp_port)
{
    char script[1024], ws[16], tcp[16];
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    MX_REQUIRE(slash);
    snprintf(slash + 1, sizeof script - (size_t)(slash + 1 - script), "browser_client.py");
    snprintf(ws, sizeof ws, "%d", ws_port);
    snprintf(tcp, sizeof tcp, "%d", tcp_port);
    script_pid = fork();
    MX_REQUIRE(script_pid >= 0, "fork: %s", strerror(errno));
    if (script_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl("/usr/bin/python3", "python3", script, ws, tcp, (char *)NULL);
        _exit(127);
    }
    int st = -1;
    for (int64_t end = mx_now_ms() + SCRIPT_MS; mx_now_ms() < end; mx_sleep_ms(20)) {
        if (waitpid(script_pid, &st, WNOHANG) == script_pid) {
            script_pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
    }
    return -1;                 /* .fini stops it */
}

Test(ws_browser, the_web_client_chats_with_a_tcp_client)
{
    /* Failures, not skips: test.sh installs them, so missing is a defect. */
    MX_REQUIRE(access(CHROMIUM, X_OK) == 0 && access(CHROMEDRIVER, X_OK) == 0,
               CHROMIUM " or " CHROMEDRIVER " is not installed (scripts/setup.sh installs them)");
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener irc]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
        "[listener web]\nlisten = 127.0.0.1:0\nprotocol = chat\nshare_with = irc\n"
        "transport = websocket\n");
    int64_t t0 = mx_now_ms();
    int rc = driver(mx_port(d, "web"), mx_port(d, "irc"));
    MX_REQUIRE(rc == 0, "browser_client.py failed (exit %d; its stderr is above)", rc);
    cr_log_info("the browser's run: %lld ms", (long long)(mx_now_ms() - t0));
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}
