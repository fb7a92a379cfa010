/* test_proxy.c - PROXY listeners: behind a real haproxy (send-proxy and
 * send-proxy-v2), where echo works and the log and chat's WHOIS show the
 * client's address as haproxy saw it; and headers sent by hand: malformed,
 * truncated, oversized, from a source not trusted, never sent, and data
 * right behind the header; each refusal counted in /metrics by reason. */
#include "harness.h"
#include "irc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define T 5000                 /* ms: the wait for any one expected thing */
#define HAPROXY "/usr/sbin/haproxy"
/* Not 127.0.0.1, which is haproxy's own address towards muxd: the log
 * must show which of the two muxd took for the peer. */
#define CLIENT "127.0.0.5"
#define LIT(s) (s), sizeof(s) - 1

/* ---- haproxy ---------------------------------------------------------- */

/* One at a time; the suite's .fini kills it if a failed assert skipped
 * the test's own stop. */
static struct {
    pid_t pid;
    int port;
    char conf[64];
} hap;

static void hap_stop(void)
{
    if (hap.pid > 0) {
        kill(hap.pid, SIGTERM);
        waitpid(hap.pid, NULL, 0);
    }
    hap.pid = 0;
    if (hap.conf[0])
        unlink(hap.conf);
    hap.conf[0] = '\0';
}

static void fini(void)
{
    hap_stop();
    mx_fini();
}

TestSuite(proxy, .init = mx_init, .fini = fini, .timeout = 120);

static void hap_write_conf(int target, const char *send)
{
    snprintf(hap.conf, sizeof hap.conf, "/tmp/muxd-haproxy-XXXXXX");
    int fd = mkstemp(hap.conf);
    MX_REQUIRE(fd >= 0, "mkstemp: %s", strerror(errno));
    FILE *f = fdopen(fd, "w");
    fprintf(f, "global\n    maxconn 64\n"
               "defaults\n    mode tcp\n    timeout connect 5s\n"
               "    timeout client 30s\n    timeout server 30s\n"
               "frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n"
               "backend be\n    server s1 127.0.0.1:%d %s\n",
            hap.port, target, send);
    fclose(f);
}

/* haproxy in the foreground, in front of muxd's port target, sending
 * its header with `send` (send-proxy or send-proxy-v2). Returns once it
 * accepts; haproxy's connection from that probe reaches muxd too. */
static void hap_start(int target, const char *send)
{
    if (access(HAPROXY, X_OK) != 0)
        cr_skip_test(HAPROXY " is not installed (scripts/setup.sh installs it)");
    hap.port = mx_free_port();
    MX_REQUIRE(hap.port > 0);
    hap_write_conf(target, send);
    hap.pid = fork();
    MX_REQUIRE(hap.pid >= 0, "fork: %s", strerror(errno));
    if (hap.pid == 0) {
        /* Gone with the test process, whatever happens to it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        if (!getenv("MUXD_TEST_ECHO_LOG"))
            dup2(null, 2);
        execl(HAPROXY, "haproxy", "-db", "-f", hap.conf, (char *)NULL);
        _exit(127);
    }
    for (int64_t end = mx_now_ms() + T; mx_now_ms() < end; mx_sleep_ms(20)) {
        int fd = mx_connect(hap.port);
        if (fd >= 0) {
            close(fd);
            return;
        }
        MX_REQUIRE(waitpid(hap.pid, NULL, WNOHANG) == 0, "haproxy exited at start");
    }
    MX_REQUIRE(false, "haproxy did not accept on port %d within %d ms", hap.port, T);
}

/* ---- helpers ---------------------------------------------------------- */

static int connect_from(int port, const char *src)
{
    int fd = mx_connect_opts(port, &(struct mx_sockopts){ .src = src });
    MX_REQUIRE(fd >= 0, "connect from %s: %s", src, strerror(-fd));
    return fd;
}

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

/* GET /metrics from the admin listener: the body, or NULL (static). */
static const char *scrape(struct mx_daemon *d)
{
    static char resp[256 * 1024];
    int fd = mx_connect(mx_port(d, "admin"));
    MX_REQUIRE(fd >= 0, "connect to admin: %s", strerror(-fd));
    MX_REQUIRE(mx_send_all(fd, LIT("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")) == 0);
    size_t len = 0;
    for (ssize_t n; len < sizeof resp - 1 && mx_readable_within(fd, T) &&
                    (n = recv(fd, resp + len, sizeof resp - 1 - len, 0)) > 0;)
        len += (size_t)n;
    close(fd);
    resp[len] = '\0';
    const char *body = strstr(resp, "\r\n\r\n");
    return body ? body + 4 : NULL;
}

/* The sum, over workers, of name's samples whose labels hold `label`
 * ("" for any). */
static long long metric(const char *body, const char *name, const char *label)
{
    long long sum = 0;
    size_t n = strlen(name);
    for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *sp = strchr(l, ' ');
        const char *at = strstr(l, label);
        if (strncmp(l, name, n) == 0 && (l[n] == '{' || l[n] == ' ') && sp && at && at < sp)
            sum += atoll(sp + 1);
    }
    return sum;
}

/* Requires name{label} to read want: counted on the worker just before
 * the close the client saw, so it is there by the scrape; one retry
 * covers a scrape served a moment early all the same. */
static void require_metric(struct mx_daemon *d, const char *name, const char *label,
                           long long want)
{
    long long got = -1;
    for (int64_t end = mx_now_ms() + 1000;; mx_sleep_ms(50)) {
        const char *body = scrape(d);
        MX_REQUIRE(body, "no /metrics body");
        got = metric(body, name, label);
        if (got == want || mx_now_ms() > end)
            break;
    }
    MX_REQUIRE(got == want, "%s{%s}: %lld, want %lld", name, label, got, want);
}

/* A daemon with one listener of protocol proto, PROXY keys in extra. */
static struct mx_daemon *boot(const char *proto, const char *extra)
{
    char conf[1024];
    snprintf(conf, sizeof conf,
             "[log]\nlevel = debug\n"
             "[listener l]\nlisten = 127.0.0.1:0\nprotocol = %s\n%s\n", proto, extra);
    return mx_boot(conf);
}

/* Echo behind haproxy, the header of version `send` carrying CLIENT. */
static void echo_behind_haproxy(const char *mode, const char *send, unsigned version)
{
    char extra[256], want[128];
    snprintf(extra, sizeof extra, "proxy_protocol = %s\nproxy_from = 127.0.0.1\n", mode);
    struct mx_daemon *d = boot("echo", extra);
    hap_start(mx_port(d, "l"), send);
    int fd = connect_from(hap.port, CLIENT);
    MX_REQUIRE(mx_echo_roundtrip(fd, LIT("hello through haproxy\n"), T) == 0);
    /* The carried address, with the client's own port, is the peer. */
    snprintf(want, sizeof want, " " CLIENT ":%d: PROXY v%u header from 127.0.0.1:",
             local_port(fd), version);
    MX_REQUIRE(daemon_wait_log(d, want, T), "no '%s' in the log", want);
    close(fd);
    hap_stop();
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

/* ---- behind haproxy ----------------------------------------------------- */

Test(proxy, echo_behind_haproxy_v1)
{
    echo_behind_haproxy("v1", "send-proxy", 1);
}

Test(proxy, echo_behind_haproxy_v2)
{
    echo_behind_haproxy("v2", "send-proxy-v2", 2);
}

Test(proxy, echo_behind_haproxy_any)
{
    echo_behind_haproxy("any", "send-proxy-v2", 2);
}

Test(proxy, chat_whois_shows_the_client_address)
{
    struct mx_daemon *d = boot("chat", "server_name = test.muxd\n"
                                       "proxy_protocol = v2\nproxy_from = 127.0.0.1\n");
    hap_start(mx_port(d, "l"), "send-proxy-v2");
    struct irc c;
    MX_REQUIRE(irc_open_opts(&c, hap.port, &(struct mx_sockopts){ .src = CLIENT }) == 0);
    MX_REQUIRE(irc_register(&c, "pat", "pu", T) == 0, "registration: %s", irc_recent(&c));
    MX_REQUIRE(irc_send(&c, "WHOIS pat") == 0);
    const char *line = irc_expect(&c, "311", NULL, T);
    MX_REQUIRE(line, "no 311; last lines:\n%s", irc_recent(&c));
    char host[64];
    MX_REQUIRE(irc_line_param(line, 3, host, sizeof host), "311 without a host: %s", line);
    MX_REQUIRE(strcmp(host, CLIENT) == 0, "311 host %s, want " CLIENT ": %s", host, line);
    irc_close(&c);
    hap_stop();
    mx_stop_ok(d, 10000);
}

/* ---- headers by hand ---------------------------------------------------- */

static struct mx_daemon *boot_direct(void)
{
    return boot("echo", "proxy_protocol = any\nproxy_from = 127.0.0.1, ::1\n"
                        "proxy_timeout = 1s\n");
}

/* Sends p and requires the connection closed without a byte back, and the
 * reason in the log. */
static void require_refused(struct mx_daemon *d, const char *src, const void *p, size_t n,
                            const char *why)
{
    int fd = connect_from(mx_port(d, "l"), src);
    if (n)
        MX_REQUIRE(mx_send_all(fd, p, n) == 0);
    size_t extra = 0;
    enum mx_close_kind k = mx_wait_closed(fd, T, &extra);
    MX_REQUIRE(k != MX_OPEN, "still open after a bad header (%s)", why);
    MX_REQUIRE(extra == 0, "%zu bytes came back", extra);
    close(fd);
    MX_REQUIRE(daemon_wait_log(d, why, T), "no '%s' in the log", why);
}

Test(proxy, malformed_headers_are_refused)
{
    struct mx_daemon *d = boot_direct();
    require_refused(d, "127.0.0.1", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\nhello\n"),
                    "closed: PROXY v1: bad port");
    require_refused(d, "127.0.0.1", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nhello\n"),
                    "closed: PROXY v1: LF without CR");
    require_refused(d, "127.0.0.1", LIT("hello, no header\n"),
                    "closed: not a PROXY protocol header");
    require_refused(d, "127.0.0.1", LIT("\r\n\r\n\0\r\nQUIT\n\x22\x11\0\x0c"),
                    "closed: PROXY v2: command neither LOCAL nor PROXY");
    /* A length past 512 is refused as soon as it is read. */
    require_refused(d, "127.0.0.1", LIT("\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff"),
                    "closed: PROXY v2: header longer than 528 bytes");
    char line[200];
    memset(line, 'x', sizeof line);
    memcpy(line, "PROXY UNKNOWN ", 14);
    require_refused(d, "127.0.0.1", line, sizeof line, "closed: PROXY v1: no CR LF within 107");
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

#define ADMIN "[admin]\nlisten = 127.0.0.1:0\n"
#define REFUSED "muxd_proxy_headers_refused_total"

/* Every way to fail a header, a known number of times each, over two
 * workers: the family reads exactly that by reason, and a health
 * check's connect-and-close counts as nothing. */
Test(proxy, refusals_are_counted_by_reason)
{
    struct mx_daemon *d = boot("echo", "proxy_protocol = v1\nproxy_from = 127.0.0.1\n"
                                       "proxy_timeout = 1s\n[server]\nworkers = 2\n" ADMIN);
    int port = mx_port(d, "l");
    /* The two timeouts run while the rest is sent. */
    int slow[2];
    for (int i = 0; i < 2; i++) {
        slow[i] = connect_from(port, "127.0.0.1");
        MX_REQUIRE(mx_send_all(slow[i], LIT("PROXY TCP4 1.2.3.4")) == 0);
    }
    require_refused(d, "127.0.0.1", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), "bad port");
    require_refused(d, "127.0.0.1", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "LF without CR");
    require_refused(d, "127.0.0.1", LIT("PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n"), "not TCP4");
    require_refused(d, "127.0.0.1", LIT("hello\n"), "not a PROXY protocol header");
    require_refused(d, "127.0.0.1", LIT("\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c"), "only v1");
    require_refused(d, "127.0.0.9", LIT("PROXY TCP4 10.1.2.3 127.0.0.1 1 2\r\n"),
                    "source not in proxy_from");
    int fd = connect_from(port, "127.0.0.1");
    MX_REQUIRE(mx_send_all(fd, LIT("PROXY TCP4 1.2.3.4 5.6")) == 0);
    shutdown(fd, SHUT_WR);
    MX_REQUIRE(mx_wait_closed(fd, T, NULL) != MX_OPEN);
    close(fd);
    close(connect_from(port, "127.0.0.1"));  /* a health check */
    for (int i = 0; i < 3; i++) {
        fd = connect_from(port, "127.0.0.1");
        MX_REQUIRE(mx_send_all(fd, LIT("PROXY TCP4 10.0.0.1 127.0.0.1 1 2\r\n")) == 0);
        MX_REQUIRE(mx_echo_roundtrip(fd, LIT("ok\n"), T) == 0);
        close(fd);
    }
    for (int i = 0; i < 2; i++) {
        MX_REQUIRE(mx_wait_closed(slow[i], T, NULL) != MX_OPEN, "slow client %d stayed", i);
        close(slow[i]);
    }
    require_metric(d, REFUSED, "reason=\"malformed\"", 3);
    require_metric(d, REFUSED, "reason=\"timeout\"", 2);
    require_metric(d, REFUSED, "reason=\"not_proxy\"", 1);
    require_metric(d, REFUSED, "reason=\"version\"", 1);
    require_metric(d, REFUSED, "reason=\"untrusted\"", 1);
    require_metric(d, REFUSED, "reason=\"truncated\"", 1);
    require_metric(d, REFUSED, "reason=\"too_long\"", 0);
    require_metric(d, REFUSED, "", 9);
    require_metric(d, "muxd_proxy_headers_accepted_total", "", 3);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

Test(proxy, truncated_header_then_eof)
{
    struct mx_daemon *d = boot_direct();
    /* Connect and close, as a TCP health check does: no info line. */
    int fd = connect_from(mx_port(d, "l"), "127.0.0.1");
    char quiet[64];
    snprintf(quiet, sizeof quiet, " 127.0.0.1:%d closed\n", local_port(fd));
    close(fd);
    MX_REQUIRE(daemon_wait_log(d, quiet, T), "no '%s' in the log", quiet);
    fd = connect_from(mx_port(d, "l"), "127.0.0.1");
    MX_REQUIRE(mx_send_all(fd, LIT("PROXY TCP4 1.2.3.4 5.6")) == 0);
    shutdown(fd, SHUT_WR);
    MX_REQUIRE(mx_wait_closed(fd, T, NULL) != MX_OPEN);
    close(fd);
    MX_REQUIRE(daemon_wait_log(d, "closed: EOF before a whole PROXY header", T));
    MX_REQUIRE(daemon_log_count(d, "closed: EOF before") == 1);
    mx_stop_ok(d, 10000);
}

Test(proxy, source_not_in_proxy_from_is_refused)
{
    struct mx_daemon *d = boot_direct();
    /* A valid header, but 127.0.0.9 is not a trusted proxy. */
    require_refused(d, "127.0.0.9", LIT("PROXY TCP4 10.1.2.3 127.0.0.1 1000 80\r\nhi\n"),
                    "127.0.0.9:");
    MX_REQUIRE(daemon_wait_log(d, "closed: refused: source not in proxy_from", T));
    MX_REQUIRE(daemon_log_count(d, "10.1.2.3") == 0, "the untrusted header was read");
    mx_stop_ok(d, 10000);
}

Test(proxy, silent_or_slow_client_closed_after_proxy_timeout)
{
    struct mx_daemon *d = boot_direct();
    int silent = connect_from(mx_port(d, "l"), "127.0.0.1");
    int slow = connect_from(mx_port(d, "l"), "127.0.0.1");
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(mx_send_all(slow, LIT("PROXY TCP4 1.2.3.4")) == 0);
    MX_REQUIRE(mx_wait_closed(silent, T, NULL) != MX_OPEN, "silent client still open");
    MX_REQUIRE(mx_wait_closed(slow, T, NULL) != MX_OPEN, "slow client still open");
    int64_t took = mx_now_ms() - t0;
    MX_REQUIRE(took >= 900 && took < 4000, "closed after %lld ms, proxy_timeout is 1s",
               (long long)took);
    /* The log is read from a pipe: wait for the second line too. */
    static const char why[] = "no whole PROXY header within proxy_timeout (1000 ms)";
    for (int64_t end = mx_now_ms() + T; daemon_log_count(d, why) < 2 && mx_now_ms() < end;)
        mx_sleep_ms(10);
    MX_REQUIRE(daemon_log_count(d, why) == 2);
    close(silent);
    close(slow);
    mx_stop_ok(d, 10000);
}

/* What follows the header in the same segment is the protocol's first
 * input, every byte of it, in order. */
Test(proxy, data_behind_the_header_is_delivered)
{
    struct mx_daemon *d = boot_direct();
    enum { N = 48 * 1024 };
    static const char v1[] = "PROXY TCP4 10.9.8.7 127.0.0.1 4321 80\r\n";
    static unsigned char buf[sizeof v1 + N];
    memcpy(buf, v1, sizeof v1 - 1);
    mx_pattern_fill(buf + sizeof v1 - 1, N, 7, 0);
    int fd = connect_from(mx_port(d, "l"), "127.0.0.1");
    MX_REQUIRE(mx_send_all(fd, buf, sizeof v1 - 1 + N) == 0);
    char err[256];
    MX_REQUIRE(mx_recv_pattern(fd, 7, N, T, err, sizeof err) == 0, "%s", err);
    MX_REQUIRE(daemon_wait_log(d, " 10.9.8.7:4321: PROXY v1 header from 127.0.0.1:", T));
    close(fd);

    /* v2 with a TLV, sent a byte at a time, then data. */
    static const unsigned char v2[] = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
        0x21, 0x11, 0x00, 0x11, 10, 7, 7, 7, 127, 0, 0, 1, 0x10, 0x00, 0x00, 0x50,
        0x04, 0x00, 0x02, 0xAA, 0xBB,
    };
    fd = connect_from(mx_port(d, "l"), "127.0.0.1");
    for (size_t i = 0; i < sizeof v2; i++) {
        MX_REQUIRE(mx_send_all(fd, v2 + i, 1) == 0);
        mx_sleep_ms(2);
    }
    MX_REQUIRE(mx_echo_roundtrip(fd, LIT("after a slow header\n"), T) == 0);
    MX_REQUIRE(daemon_wait_log(d, " 10.7.7.7:4096: PROXY v2 header from 127.0.0.1:", T));
    close(fd);

    /* LOCAL (haproxy's health checks): the real peer stays. */
    fd = connect_from(mx_port(d, "l"), "127.0.0.1");
    MX_REQUIRE(mx_send_all(fd, LIT("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00local\n")) == 0);
    MX_REQUIRE(mx_recv_exact(fd, buf, 6, T) == 6 && memcmp(buf, "local\n", 6) == 0);
    MX_REQUIRE(daemon_wait_log(d, "(no client address in it: the peer stays)", T));
    close(fd);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

Test(proxy, proxy_listener_without_proxy_from_is_a_config_error)
{
    struct mx_daemon d = { 0 };
    MX_REQUIRE(daemon_start(&d, "[listener l]\nlisten = 127.0.0.1:0\n"
                                "protocol = echo\nproxy_protocol = v2\n") == 0);
    int st = daemon_wait_exit(&d, T);
    MX_REQUIRE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    MX_REQUIRE(daemon_wait_log(&d, ":4: [listener l] proxy_protocol: needs proxy_from", T));
    daemon_cleanup(&d);
}

/* Connections halfway through their header when workers retire move like
 * any other: no protocol callback before the header is whole, nothing
 * lost of what they sent, and the header finishes on the new worker. */
Test(proxy, half_header_survives_a_move_to_another_worker)
{
    static const char conf[] = "[log]\nlevel = debug\n[server]\nworkers = %u\n"
                               "[listener l]\nlisten = 127.0.0.1:0\nprotocol = echo\n"
                               "proxy_protocol = any\nproxy_from = 127.0.0.1\n"
                               "proxy_timeout = 60s\n";
    char text[512];
    snprintf(text, sizeof text, conf, 4u);
    struct mx_daemon *d = mx_boot(text);
    enum { N = 8 };
    int fd[N];
    for (int i = 0; i < N; i++) {
        char half[64];
        fd[i] = connect_from(mx_port(d, "l"), "127.0.0.1");
        snprintf(half, sizeof half, "PROXY TCP4 10.0.0.%d 127.0.0.1 ", i + 1);
        MX_REQUIRE(mx_send_all(fd[i], half, strlen(half)) == 0);
    }
    mx_sleep_ms(100);  /* every half header read by its worker */
    snprintf(text, sizeof text, conf, 1u);
    size_t from = mx_rewrite_and_hup(d, text);
    MX_REQUIRE(daemon_wait_log_from(d, from, "workers: 4 -> 1: ", 10000), "no move logged");
    for (int i = 0; i < N; i++) {
        char rest[64], want[64];
        int n = snprintf(rest, sizeof rest, "%d 80\r\nhello %d\n", 1000 + i, i);
        MX_REQUIRE(mx_send_all(fd[i], rest, (size_t)n) == 0);
        n = snprintf(want, sizeof want, "hello %d\n", i);
        char got[64] = { 0 };
        MX_REQUIRE(mx_recv_exact(fd[i], got, (size_t)n, T) == n && memcmp(got, want, n) == 0,
                   "conn %d: got '%s'", i, got);
        snprintf(want, sizeof want, " 10.0.0.%d:%d: PROXY v1 header", i + 1, 1000 + i);
        MX_REQUIRE(daemon_wait_log(d, want, T), "no '%s' in the log", want);
        close(fd[i]);
    }
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

/* Per-address limits on a PROXY listener count the carried address, not
 * the proxy's (every client shares that one): two clients "from"
 * 10.0.0.7 are admitted, three more are refused in chat's words, and one
 * "from" 10.0.0.8 still gets in, all through the same proxy address. The
 * refusals count with the acceptor's, and warn once for the burst
 * though two workers made them. */
Test(proxy, per_address_limits_count_the_carried_address)
{
    struct mx_daemon *d = boot("chat", "proxy_protocol = v1\nproxy_from = 127.0.0.1\n"
                                       "max_connections_per_ip = 2\n"
                                       "[server]\nworkers = 2\n" ADMIN);
    enum { N = 6 };
    int fds[N];
    const char *src[N] = { "10.0.0.7", "10.0.0.7", "10.0.0.7", "10.0.0.7", "10.0.0.7",
                           "10.0.0.8" };
    for (int i = 0; i < N; i++) {
        char hdr[128];
        int n = snprintf(hdr, sizeof hdr, "PROXY TCP4 %s 127.0.0.1 %d 6667\r\nPING :x%d\r\n",
                         src[i], 4000 + i, i);
        fds[i] = connect_from(mx_port(d, "l"), "127.0.0.1");
        MX_REQUIRE(mx_send_all(fds[i], hdr, (size_t)n) == 0);
        char got[512] = { 0 };
        ssize_t k = mx_recv_exact(fds[i], got, 20, T);
        MX_REQUIRE(k > 0, "client %d got nothing", i);
        bool refused = i >= 2 && i <= 4;
        MX_REQUIRE(strstr(got, refused ? "ERROR :Closing Link" : "PONG") != NULL,
                   "client %d: %s", i, got);
        if (refused)
            MX_REQUIRE(mx_wait_closed(fds[i], T, NULL) != MX_OPEN, "refused client %d stayed", i);
    }
    require_metric(d, "muxd_connections_rejected_total", "reason=\"per_ip_limit\"", 3);
    require_metric(d, "muxd_connections_rejected_total", "reason=\"per_ip_rate\"", 0);
    require_metric(d, "muxd_proxy_headers_accepted_total", "", N);
    static const char warn[] =
        "max_connections_per_ip (2) reached by 10.0.0.7 (carried address) on l: refusing";
    MX_REQUIRE(daemon_wait_log(d, warn, T), "no '%s' in the log", warn);
    MX_REQUIRE(daemon_log_count(d, warn) == 1, "not one warning for the burst");
    MX_REQUIRE(daemon_log_count(d, "closed: refused: max_connections_per_ip") == 0,
               "a line per refusal");
    for (int i = 0; i < N; i++)
        close(fds[i]);
    mx_stop_ok(d, 10000);
    MX_REQUIRE(daemon_log_count(d, "max_connections_per_ip: 3 connections refused in that "
                                   "burst") == 1, "no end-of-burst line counting 3");
}

/* PROXY then TLS: the header comes first in the clear, then the
 * handshake (tls_client.py proxyecho sends both). */
Test(proxy, header_before_a_tls_handshake)
{
    char dir[] = "/tmp/muxd-ptls-XXXXXX", cmd[512], extra[512], script[1024], port[16];
    MX_REQUIRE(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=p -days 2 -keyout %s/k.pem -out %s/c.pem 2>/dev/null", dir, dir);
    MX_REQUIRE(system(cmd) == 0, "openssl req failed");
    snprintf(extra, sizeof extra, "proxy_protocol = v1\nproxy_from = 127.0.0.1\ntls = on\n"
                                  "tls_cert = %s/c.pem\ntls_key = %s/k.pem\n", dir, dir);
    struct mx_daemon *d = boot("echo", extra);
    snprintf(script, sizeof script, "%s", __FILE__);
    snprintf(strrchr(script, '/') + 1, 32, "tls_client.py");
    snprintf(port, sizeof port, "%d", mx_port(d, "l"));
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", script, "proxyecho", port, "10.3.3.3",
              (char *)NULL);
        _exit(127);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    MX_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "PROXY + TLS echo failed");
    MX_REQUIRE(daemon_wait_log(d, " 10.3.3.3:5555: PROXY v1 header from 127.0.0.1:", T));
    mx_stop_ok(d, 10000);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    MX_REQUIRE(system(cmd) == 0);
}
