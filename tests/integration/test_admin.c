/* test_admin.c - the admin listener: /metrics agrees with the traffic the
 * test made (checked by a real Prometheus parser), the chat listeners'
 * own metrics with a chat session, /healthz, the error statuses, and the
 * size and time limits on a request. */
#include "harness.h"
#include "irc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(admin, .init = mx_init, .fini = mx_fini, .timeout = 60);

static const char config[] =
    "[server]\n"
    "workers = 2\n"
    "[listener echo]\n"
    "listen = 127.0.0.1:0\n"
    "[admin]\n"
    "listen = 127.0.0.1:0\n"
    "request_timeout = 1s\n";

/* Everything the server sends until it closes; the length, or -1. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n == 0)
            break;
        if (n < 0)
            return -1;
        len += (size_t)n;
        if (len == cap - 1)
            return -1;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Sends req on a new connection and reads the whole response. */
static ssize_t http(int port, const char *req, char *buf, size_t cap)
{
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0, "connect to admin: %s", strerror(-fd));
    MX_REQUIRE(mx_send_all(fd, req, strlen(req)) == 0);
    ssize_t n = read_all(fd, buf, cap);
    close(fd);
    return n;
}

static int status_of(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.1 %d ", &st) == 1 ? st : -1;
}

static char *body_of(char *resp)
{
    char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : NULL;
}

/* check_metrics.py sits beside this file; __FILE__ is absolute. */
static int python_check(const char *body, int clients, long bytes)
{
    char file[] = "/tmp/muxd-metrics-XXXXXX", script[1024], nc[16], nb[32];
    int fd = mkstemp(file);
    MX_REQUIRE(fd >= 0);
    MX_REQUIRE(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
    close(fd);
    const char *slash = strrchr(__FILE__, '/');
    snprintf(script, sizeof script, "%.*s/check_metrics.py", (int)(slash - __FILE__), __FILE__);
    snprintf(nc, sizeof nc, "%d", clients);
    snprintf(nb, sizeof nb, "%ld", bytes);
    pid_t pid = fork();
    if (pid == 0) {
        /* Debian's python3: the prometheus_client module is its package */
        execl("/usr/bin/python3", "python3", script, file, nc, nb, (char *)NULL);
        _exit(127);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    unlink(file);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The sum over workers of a per-worker sample, read by hand. */
static long long sum_samples(const char *body, const char *name)
{
    long long sum = 0;
    size_t n = strlen(name);
    for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == '{')
            sum += atoll(strchr(l, ' ') + 1);
    return sum;
}

Test(admin, metrics_agree_with_the_traffic)
{
    enum { CLIENTS = 8, MSGS = 10, SIZE = 100 };
    struct mx_daemon *d = mx_boot(config);
    int echo = mx_port(d, "echo"), admin = mx_port(d, "admin");
    int fds[CLIENTS];
    char msg[SIZE];
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = mx_connect(echo);
        MX_REQUIRE(fds[i] >= 0, "connect: %s", strerror(-fds[i]));
        for (int m = 0; m < MSGS; m++) {
            memset(msg, 'a' + (i + m) % 26, sizeof msg);
            MX_REQUIRE(mx_echo_roundtrip(fds[i], msg, sizeof msg, 5000) == 0, "echo");
        }
    }
    static char resp[256 * 1024];
    long sent = (long)CLIENTS * MSGS * SIZE;
    char *body = NULL;
    /* A client may hold its echo before its worker has handled the send's
     * completion (io_uring) and counted it: counters lag the wire a
     * little, so scrape until they have caught up. */
    for (int64_t until = mx_now_ms() + 5000;; mx_sleep_ms(50)) {
        ssize_t n = http(admin, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", resp,
                         sizeof resp);
        MX_REQUIRE(n > 0, "no /metrics response");
        MX_REQUIRE(status_of(resp) == 200, "status: %.40s", resp);
        body = body_of(resp);
        MX_REQUIRE(body != NULL);
        if (sum_samples(body, "muxd_sent_bytes_total") >= sent || mx_now_ms() > until)
            break;
    }
    MX_REQUIRE(strstr(resp, "Content-Type: text/plain; version=0.0.4") != NULL);
    MX_REQUIRE(strstr(resp, "Connection: close\r\n") != NULL);
    MX_REQUIRE(sum_samples(body, "muxd_connections_accepted_total") >= CLIENTS);
    MX_REQUIRE(sum_samples(body, "muxd_received_bytes_total") >= sent);
    MX_REQUIRE(sum_samples(body, "muxd_sent_bytes_total") >= sent);
    MX_REQUIRE(sum_samples(body, "muxd_connections_open") >= CLIENTS);
    int rc = python_check(body, CLIENTS, sent);
    MX_REQUIRE(rc == 0, "check_metrics.py failed (%d): is python3-prometheus-client "
               "installed (scripts/setup.sh)?", rc);
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

/* Admission counts at the acceptor: a client over max_connections is
 * closed, and counted by reason. The admin connection counts against the
 * cap like any other, so the scrape comes after the refused client. */
Test(admin, rejections_are_counted_by_reason)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\n"
                                  "[limits]\nmax_connections = 3\n"
                                  "[admin]\nlisten = 127.0.0.1:0\n");
    int echo = mx_port(d, "echo");
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = mx_connect(echo);
        MX_REQUIRE(fds[i] >= 0);
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "x", 1, 5000) == 0, "client %d served", i);
    }
    int over = mx_connect(echo);
    MX_REQUIRE(over >= 0);
    MX_REQUIRE(mx_wait_closed(over, 5000, NULL) != MX_OPEN, "the 4th client was not closed");
    close(over);
    close(fds[2]);
    char resp[256 * 1024];
    ssize_t n = -1;
    /* the freed slot may take a moment to come back: retry the scrape */
    for (int tries = 0; tries < 50 && n <= 0; tries++, mx_sleep_ms(100))
        n = http(mx_port(d, "admin"), "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
                 resp, sizeof resp);
    MX_REQUIRE(n > 0 && status_of(resp) == 200, "no scrape");
    static const char key[] = "muxd_connections_rejected_total{reason=\"max_connections\"} ";
    const char *at = strstr(resp, key);
    MX_REQUIRE(at != NULL);
    long long rej = atoll(at + sizeof key - 1);
    MX_REQUIRE(rej >= 1, "max_connections rejections: %lld", rej);
    for (int i = 0; i < 2; i++)
        close(fds[i]);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

/* The io_uring backend's own events reach the counters through its
 * upcall: a four-buffer ring under 100 pipelining clients runs dry. */
Test(admin, uring_enobufs_are_counted)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\nuring_buffers = 4\n"
                                  "uring_buffer_size = 512\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\n"
                                  "[admin]\nlisten = 127.0.0.1:0\n");
    struct mx_load_opts o = { .port = mx_port(d, "echo"), .clients = 100, .messages = 16,
                              .min_msg = 2048, .max_msg = 2048, .pipeline = 8,
                              .threads = 2, .timeout_ms = 15000, .seed_base = 7 };
    struct mx_load_result r;
    MX_REQUIRE(mx_load_run_logged(&o, &r) == 0, "load: %s", r.first_error);
    static char resp[256 * 1024];
    MX_REQUIRE(http(mx_port(d, "admin"), "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
                    resp, sizeof resp) > 0);
    char *body = body_of(resp);
    MX_REQUIRE(body != NULL);
    long long enobufs = sum_samples(body, "muxd_uring_enobufs_total");
    if (daemon_wait_log(d, "backend=io_uring", 0))
        MX_REQUIRE(enobufs > 0, "no ENOBUFS counted on a four-buffer ring");
    else
        MX_REQUIRE(enobufs == 0, "ENOBUFS counted without io_uring: %lld", enobufs);
    MX_REQUIRE(sum_samples(body, "muxd_received_bytes_total") >= 100LL * 16 * 2048);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

/* ---- the chat listeners' metrics ---------------------------------------- */

/* Two chat networks: "chat" without flood control, "slow" with a bucket
 * of 3 lines refilled at 1 a second (slow enough that a held line is held
 * once, however late a busy machine runs the timer). */
static const char chat_config[] =
    "[server]\nworkers = 2\n"
    "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
    "server_name = test.muxd\nflood_rate = 0\n"
    "[listener slow]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
    "server_name = slow.muxd\nflood_rate = 1\nflood_burst = 3\n"
    "[limits]\noutput_max = 256k\noutput_high_water = 128k\noutput_low_water = 32k\n"
    "[admin]\nlisten = 127.0.0.1:0\n";

/* The sum of name's samples of listener `ls` (every worker's); -1 if
 * there is none. */
static long long chat_sum(const char *body, const char *name, const char *ls)
{
    char head[160];
    int n = snprintf(head, sizeof head, "%s{listener=\"%s\"", name, ls);
    long long sum = -1;
    for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, head, (size_t)n) == 0 && (l[n] == '}' || l[n] == ','))
            sum = (sum < 0 ? 0 : sum) + atoll(strchr(l, ' ') + 1);
    return sum;
}

/* Scrapes into resp until name of listener ls reads want (counters lag
 * the wire a little: a fan-out to another worker is a post), or 10 s
 * have gone. Returns the body. */
static char *scrape_until(int admin, char *resp, size_t cap, const char *name, const char *ls,
                          long long want)
{
    char *body = NULL;
    for (int64_t until = mx_now_ms() + 10000;; mx_sleep_ms(50)) {
        ssize_t n = http(admin, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", resp, cap);
        MX_REQUIRE(n > 0 && status_of(resp) == 200, "no /metrics");
        body = body_of(resp);
        MX_REQUIRE(body != NULL);
        if (chat_sum(body, name, ls) == want || mx_now_ms() > until)
            return body;
    }
}

#define CHAT_IS(body, name, ls, want)                                                 \
    MX_REQUIRE(chat_sum(body, name, ls) == (want), "%s{listener=\"%s\"} is %lld, not %d", \
               name, ls, chat_sum(body, name, ls), (want))

/* Four users on two workers in two channels, one more connected and not
 * registered; channel and private messages. Returns the deliveries made:
 * every JOIN goes to each member, the joiner included; a channel message
 * to every member but its sender; a private one to its target. */
static int chat_session(int port, struct irc u[4], struct irc *unreg)
{
    enum { M = 5 };
    static const char *const nicks[] = { "ann", "bob", "cat", "dan" };
    for (int i = 0; i < 4; i++)
        IRC_LOGIN(&u[i], port, nicks[i], 5000);
    MX_REQUIRE(irc_open(unreg, port) == 0);
    MX_REQUIRE(irc_send(unreg, "NICK eve") == 0);
    for (int i = 0; i < 3; i++)
        IRC_JOIN(&u[i], "#one", 5000);                  /* 1 + 2 + 3 */
    IRC_JOIN(&u[2], "#two", 5000);
    IRC_JOIN(&u[3], "#two", 5000);                      /* 1 + 2 */
    for (int m = 0; m < M; m++) {
        MX_REQUIRE(irc_send(&u[0], "PRIVMSG #one :one %d", m) == 0);   /* to bob, cat */
        MX_REQUIRE(irc_send(&u[3], "PRIVMSG #two :two %d", m) == 0);   /* to cat */
    }
    MX_REQUIRE(irc_send(&u[1], "PRIVMSG dan :psst") == 0);
    IRC_EXPECT(&u[2], "PRIVMSG", ":two 4", 5000);
    IRC_EXPECT(&u[3], "PRIVMSG", ":psst", 5000);
    return 6 + 3 + 2 * M + M + 1;
}

/* A client that sends 5 lines at once into a bucket of 3: the 4th and
 * the 5th are each held once, for a second. */
static void chat_flood(int port, struct irc *f)
{
    MX_REQUIRE(irc_open(f, port) == 0);
    snprintf(f->nick, sizeof f->nick, "flo");
    static const char lines[] = "NICK flo\r\nUSER uflo 0 * :Flo\r\nPING :k1\r\nPING :k2\r\n"
                                "PING :k3\r\n";
    MX_REQUIRE(irc_send_raw(f, lines, sizeof lines - 1) == 0);
    IRC_EXPECT(f, "PONG", ":k3", 10000);
}

/* A member that never reads (a small receive buffer) in a channel where
 * ann talks until it is cut off over its SendQ: the kernel's buffers
 * take a few MB first. */
static void chat_sendq_cut(int port, struct irc *ann)
{
    struct irc z;
    MX_REQUIRE(irc_open_bufs(&z, port, 4096, 0) == 0);
    MX_REQUIRE(irc_register(&z, "zed", "uzed", 5000) == 0, "%s", irc_recent(&z));
    IRC_JOIN(&z, "#sq", 5000);
    IRC_JOIN(ann, "#sq", 5000);
    static char batch[64 * 480];
    size_t len = 0;
    while (len + 480 < sizeof batch)
        len += (size_t)snprintf(batch + len, sizeof batch - len, "PRIVMSG #sq :%0460d\r\n", 0);
    bool cut = false;
    for (int64_t until = mx_now_ms() + 60000; !cut && mx_now_ms() < until;) {
        MX_REQUIRE(irc_send_raw(ann, batch, len) == 0);
        cut = irc_expect(ann, "QUIT", "SendQ exceeded", 1) != NULL;
    }
    MX_REQUIRE(cut || irc_expect(ann, "QUIT", "SendQ exceeded", 5000), "zed was not cut off");
    irc_close(&z);
}

Test(admin, chat_metrics_agree_with_the_session)
{
    struct mx_daemon *d = mx_boot(chat_config);
    int chat = mx_port(d, "chat"), admin = mx_port(d, "admin");
    struct irc u[4], unreg, f;
    int deliveries = chat_session(chat, u, &unreg);
    chat_flood(mx_port(d, "slow"), &f);
    static char resp[256 * 1024];
    char *body = scrape_until(admin, resp, sizeof resp, "muxd_chat_deliveries_total", "chat",
                              deliveries);
    body = scrape_until(admin, resp, sizeof resp, "muxd_chat_flood_throttled_total", "slow", 2);
    CHAT_IS(body, "muxd_chat_deliveries_total", "chat", deliveries);
    CHAT_IS(body, "muxd_chat_users", "chat", 4);
    CHAT_IS(body, "muxd_chat_channels", "chat", 2);
    CHAT_IS(body, "muxd_chat_flood_throttled_total", "chat", 0);
    CHAT_IS(body, "muxd_chat_sendq_kills_total", "chat", 0);
    CHAT_IS(body, "muxd_chat_users", "slow", 1);
    CHAT_IS(body, "muxd_chat_channels", "slow", 0);
    CHAT_IS(body, "muxd_chat_deliveries_total", "slow", 0);
    CHAT_IS(body, "muxd_chat_flood_throttled_total", "slow", 2);
    int rc = python_check(body, 0, 0);
    MX_REQUIRE(rc == 0, "check_metrics.py failed (%d) on:\n%s", rc, body);

    chat_sendq_cut(chat, &u[0]);
    body = scrape_until(admin, resp, sizeof resp, "muxd_chat_users", "chat", 4);
    CHAT_IS(body, "muxd_chat_sendq_kills_total", "chat", 1);
    CHAT_IS(body, "muxd_chat_users", "chat", 4);        /* zed has gone */
    CHAT_IS(body, "muxd_chat_channels", "chat", 3);     /* ann is still on #sq */
    CHAT_IS(body, "muxd_chat_sendq_kills_total", "slow", 0);
    for (int i = 0; i < 4; i++)
        irc_close(&u[i]);
    irc_close(&unreg);
    irc_close(&f);
    mx_stop_ok(d, 10000);
}

Test(admin, healthz_and_error_statuses)
{
    struct mx_daemon *d = mx_boot(config);
    int admin = mx_port(d, "admin");
    char resp[4096];
    MX_REQUIRE(http(admin, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 200);
    MX_REQUIRE(strcmp(body_of(resp), "ok\n") == 0, "body: %s", body_of(resp));
    MX_REQUIRE(http(admin, "GET /healthz HTTP/1.0\r\n\r\n", resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 200, "HTTP/1.0 without Host");
    MX_REQUIRE(http(admin, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 404);
    MX_REQUIRE(http(admin, "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
                    resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 405);
    MX_REQUIRE(strstr(resp, "\r\nAllow: GET\r\n") != NULL);
    MX_REQUIRE(http(admin, "GET /metrics HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 400, "HTTP/1.1 without Host");
    MX_REQUIRE(http(admin, "hello there\r\n\r\n", resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 400, "garbage");
    MX_REQUIRE(http(admin, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", resp, sizeof resp) > 0);
    MX_REQUIRE(status_of(resp) == 505);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

Test(admin, an_oversized_request_gets_431_and_a_close)
{
    struct mx_daemon *d = mx_boot(config);
    int fd = mx_connect(mx_port(d, "admin"));
    MX_REQUIRE(fd >= 0);
    static char big[9000];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
    MX_REQUIRE(mx_send_all(fd, big, sizeof big) == 0);
    char resp[4096];
    MX_REQUIRE(read_all(fd, resp, sizeof resp) > 0, "no response before the close");
    MX_REQUIRE(status_of(resp) == 431, "status: %.40s", resp);
    close(fd);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

Test(admin, a_slow_request_gets_408_and_a_close)
{
    struct mx_daemon *d = mx_boot(config);   /* request_timeout = 1s */
    int fd = mx_connect(mx_port(d, "admin"));
    MX_REQUIRE(fd >= 0);
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(mx_send_all(fd, "GET /metrics HTTP/1.1\r\n", 23) == 0);
    char resp[4096];
    MX_REQUIRE(read_all(fd, resp, sizeof resp) > 0, "no response before the close");
    int64_t took = mx_now_ms() - t0;
    MX_REQUIRE(status_of(resp) == 408, "status: %.40s", resp);
    MX_REQUIRE(took >= 900 && took < 5000, "closed after %lld ms, want about 1000",
               (long long)took);
    close(fd);
    /* and one that sends nothing at all */
    fd = mx_connect(mx_port(d, "admin"));
    MX_REQUIRE(fd >= 0);
    MX_REQUIRE(read_all(fd, resp, sizeof resp) > 0 && status_of(resp) == 408);
    close(fd);
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}

/* The sum of the samples of name+suffix whose labels hold `with`. */
static double sum_lines(const char *body, const char *name, const char *suffix,
                        const char *with)
{
    char key[128];
    snprintf(key, sizeof key, "%s%s", name, suffix);
    double sum = 0;
    for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *end = strchr(l, ' ');
        if (strncmp(l, key, strlen(key)) != 0 || !end)
            continue;
        if (!with || (strstr(l, with) && strstr(l, with) < end))
            sum += strtod(end + 1, NULL);
    }
    return sum;
}

/* Offloaded jobs are timed on the pool and counted by their connection's
 * worker: 6 SLEEP 30 requests over two workers make 6 samples in the
 * histogram, each of at least 30 ms, none under the 10 ms bound. */
Test(admin, offload_job_durations_are_a_histogram)
{
    enum { JOBS = 6, MS = 30 };
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\n"
                                  "offload = on\n"
                                  "[admin]\nlisten = 127.0.0.1:0\n");
    char line[32], want[32];
    snprintf(line, sizeof line, "SLEEP %d\n", MS);
    snprintf(want, sizeof want, "DONE %d\n", MS);
    for (int i = 0; i < JOBS; i++) {
        int fd = mx_connect(mx_port(d, "work"));
        MX_REQUIRE(fd >= 0);
        char got[32] = { 0 };
        MX_REQUIRE(mx_send_all(fd, line, strlen(line)) == 0);
        MX_REQUIRE(mx_recv_exact(fd, got, strlen(want), 5000) == (ssize_t)strlen(want) &&
                   strcmp(got, want) == 0, "job %d: got '%s'", i, got);
        close(fd);
    }
    static char resp[256 * 1024];
    MX_REQUIRE(http(mx_port(d, "admin"), "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", resp,
                    sizeof resp) > 0 && status_of(resp) == 200);
    char *body = body_of(resp);
    const char *h = "muxd_offload_job_duration_seconds";
    MX_REQUIRE(sum_lines(body, h, "_count{", NULL) == JOBS, "%s", body);
    MX_REQUIRE(sum_lines(body, h, "_sum{", NULL) >= JOBS * MS / 1000.0, "%s", body);
    /* Cumulative up to 10 ms: none; up to 100 ms: all. */
    MX_REQUIRE(sum_lines(body, h, "_bucket{", "le=\"0.01\"") == 0, "%s", body);
    MX_REQUIRE(sum_lines(body, h, "_bucket{", "le=\"0.1\"") == JOBS, "%s", body);
    MX_REQUIRE(python_check(body, 0, 0) == 0, "check_metrics.py failed");
    mx_require_clean_log(d);
    mx_stop_ok(d, 10000);
}
