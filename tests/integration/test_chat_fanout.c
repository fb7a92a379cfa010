/* test_chat_fanout.c - 500 clients on four workers in 10 channels, each
 * sending 50 messages to its channel: every member receives every other
 * member's messages exactly once, in the order sent, with the sender's
 * nick!user@host prefix, and never its own.
 *
 * One epoll loop in the test drives all the sockets at once. Messages
 * are "n<sender> <seq>", so each receiver checks per sender that the
 * next one is exactly the one after the last. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(chat_fanout, .init = mx_init, .fini = mx_fini, .timeout = 240);

#define CLIENTS 500
#define CHANNELS 10
#define MSGS 50
#define MEMBERS (CLIENTS / CHANNELS)
#define EXPECTED ((MEMBERS - 1) * MSGS) /* PRIVMSGs each client must get */
#define DEADLINE_MS 150000              /* generous: TSan on a busy 2-core box */

static const char config[] =
    "[server]\nworkers = 4\n"
    "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
    "server_name = test.muxd\nflood_rate = 0\n";

struct fc {
    int fd;
    int idx;
    bool joined;               /* its 366 came */
    bool eof;
    int got;                   /* channel messages received */
    unsigned char *next;       /* [CLIENTS]: the next seq expected per sender */
    size_t plen;               /* a partial line kept from the last read */
    char part[1024];
};

struct run {
    struct fc c[CLIENTS];
    int ep;
    int joined, done, eofs;
    long errors;
    char first_error[512];
    long lines;
};

static void fail_line(struct run *r, const struct fc *c, const char *why, const char *line,
                      size_t n)
{
    if (r->errors++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "client n%d: %s: '%.*s'", c->idx,
                 why, (int)(n > 300 ? 300 : n), line);
}

/* Parses an unsigned decimal at *p, advancing it; -1 if there is none. */
static long num_at(const char **p, const char *end)
{
    long v = 0;
    const char *s = *p;
    while (*p < end && **p >= '0' && **p <= '9')
        v = v * 10 + (*(*p)++ - '0');
    return *p > s ? v : -1;
}

static bool eat(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

/* ":n<s>!u<s>@127.0.0.1 PRIVMSG #c<k> :n<s> <seq>" */
static void on_privmsg(struct run *r, struct fc *c, const char *line, size_t n)
{
    const char *p = line, *end = line + n;
    long s, s2, s3, k, seq;
    if (!eat(&p, end, ":n") || (s = num_at(&p, end)) < 0 || !eat(&p, end, "!u") ||
        (s2 = num_at(&p, end)) < 0 || !eat(&p, end, "@127.0.0.1 PRIVMSG #c") ||
        (k = num_at(&p, end)) < 0 || !eat(&p, end, " :n") || (s3 = num_at(&p, end)) < 0 ||
        !eat(&p, end, " ") || (seq = num_at(&p, end)) < 0 || p != end) {
        fail_line(r, c, "malformed PRIVMSG", line, n);
        return;
    }
    if (s != s2 || s != s3 || s >= CLIENTS)
        fail_line(r, c, "prefix does not match the sender", line, n);
    else if (s == c->idx)
        fail_line(r, c, "got its own message", line, n);
    else if (k != c->idx % CHANNELS || s % CHANNELS != k)
        fail_line(r, c, "message from the wrong channel", line, n);
    else if (seq != c->next[s])
        fail_line(r, c, seq < c->next[s] ? "duplicate or reordered" : "gap (lost or reordered)",
                  line, n);
    else {
        c->next[s]++;
        if (++c->got == EXPECTED)
            r->done++;
    }
}

static void on_line(struct run *r, struct fc *c, const char *line, size_t n)
{
    r->lines++;
    const char *sp = memchr(line, ' ', n);
    if (!sp)
        return;
    const char *cmd = sp + 1;
    size_t rest = (size_t)(line + n - cmd);
    if (rest >= 8 && memcmp(cmd, "PRIVMSG ", 8) == 0) {
        on_privmsg(r, c, line, n);
    } else if (rest >= 4 && memcmp(cmd, "366 ", 4) == 0) {
        if (!c->joined) {
            c->joined = true;
            r->joined++;
        }
    } else if ((rest >= 4 && memcmp(cmd, "433 ", 4) == 0) ||
               (line[0] == 'E' && n >= 6 && memcmp(line, "ERROR ", 6) == 0) ||
               (rest >= 5 && memcmp(cmd, "QUIT ", 5) == 0)) {
        fail_line(r, c, "unexpected", line, n);
    }
}

/* Reads what c has; lines go to on_line. */
static void on_readable(struct run *r, struct fc *c)
{
    static char buf[1024 + 65536];
    for (;;) {
        memcpy(buf, c->part, c->plen);
        ssize_t got = recv(c->fd, buf + c->plen, sizeof buf - c->plen, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            if (!c->eof) {
                c->eof = true;
                r->eofs++;
                fail_line(r, c, "connection closed", "", 0);
                epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
            return;
        }
        if (got < 0)
            return;
        size_t len = c->plen + (size_t)got, off = 0;
        for (;;) {
            char *lf = memchr(buf + off, '\n', len - off);
            if (!lf)
                break;
            size_t end = (size_t)(lf - buf);
            size_t ll = end - off;
            if (ll && buf[end - 1] == '\r')
                ll--;
            on_line(r, c, buf + off, ll);
            off = end + 1;
        }
        c->plen = len - off;
        if (c->plen > sizeof c->part) {
            fail_line(r, c, "line too long", buf + off, 64);
            c->plen = 0;
        }
        memcpy(c->part, buf + off, c->plen);
        if ((size_t)got < sizeof buf - 1024)
            return;
    }
}

/* Runs the loop until cond(r) or the deadline; false at the deadline. */
static bool pump(struct run *r, bool (*cond)(const struct run *), int64_t deadline)
{
    struct epoll_event ev[256];
    while (!cond(r)) {
        int left = (int)(deadline - mx_now_ms());
        if (left <= 0)
            return false;
        int n = epoll_wait(r->ep, ev, 256, left < 200 ? left : 200);
        for (int i = 0; i < n; i++)
            on_readable(r, &r->c[ev[i].data.u32]);
    }
    return true;
}

static bool all_joined(const struct run *r) { return r->joined == CLIENTS; }
static bool all_done(const struct run *r) { return r->done == CLIENTS || r->errors; }
static bool never(const struct run *r) { (void)r; return false; }

static int send_all_nb(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            mx_sleep_ms(1);
            continue;
        }
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void need_fds(int n)
{
    struct rlimit rl;
    MX_REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur >= (rlim_t)n)
        return;
    if (rl.rlim_max < (rlim_t)n)
        cr_skip_test("RLIMIT_NOFILE hard limit %ld < %d", (long)rl.rlim_max, n);
    rl.rlim_cur = (rlim_t)n;
    MX_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

/* With the epoll backend each worker's epoll instance lists its
 * descriptors in /proc/PID/fdinfo: report how many each one watches
 * (connections plus a few of the worker's own). Other backends show
 * nothing there, so nothing is reported. */
static void report_spread(pid_t pid)
{
    char path[128], line[256], out[512] = "";
    size_t len = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    struct dirent *e;
    int instances = 0;
    while ((e = readdir(dir))) {
        char link[320], target[64];
        snprintf(link, sizeof link, "/proc/%d/fd/%.32s", (int)pid, e->d_name);
        ssize_t t = readlink(link, target, sizeof target - 1);
        if (t <= 0)
            continue;
        target[t] = '\0';
        if (strcmp(target, "anon_inode:[eventpoll]") != 0)
            continue;
        snprintf(link, sizeof link, "/proc/%d/fdinfo/%.32s", (int)pid, e->d_name);
        FILE *f = fopen(link, "r");
        if (!f)
            continue;
        int watched = 0;
        while (fgets(line, sizeof line, f))
            watched += strncmp(line, "tfd:", 4) == 0;
        fclose(f);
        instances++;
        len += (size_t)snprintf(out + len, sizeof out - len, " %d", watched);
        if (len >= sizeof out)
            break;
    }
    closedir(dir);
    if (instances > 1) /* the workers' and the acceptor's */
        cr_log_info("descriptors watched per epoll instance (workers, acceptor):%s", out);
    else
        cr_log_info("spread over workers not observable with this backend");
}

Test(chat_fanout, five_hundred_clients_ten_channels)
{
    need_fds(CLIENTS + 100);
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct run *r = calloc(1, sizeof *r);
    unsigned char *next = calloc((size_t)CLIENTS * CLIENTS, 1);
    MX_REQUIRE(r && next);
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    MX_REQUIRE(r->ep >= 0);

    /* Connect, register and join: the three lines go at once. */
    int64_t t0 = mx_now_ms(), deadline = t0 + DEADLINE_MS;
    for (int i = 0; i < CLIENTS; i++) {
        struct fc *c = &r->c[i];
        c->idx = i;
        c->next = next + (size_t)i * CLIENTS;
        c->fd = mx_connect(port);
        MX_REQUIRE(c->fd >= 0, "connect #%d: %s", i, strerror(-c->fd));
        MX_REQUIRE(mx_set_nonblock(c->fd, true) == 0);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        MX_REQUIRE(epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) == 0);
        char hello[256];
        int n = snprintf(hello, sizeof hello, "NICK n%d\r\nUSER u%d 0 * :fan %d\r\nJOIN #c%d\r\n",
                         i, i, i, i % CHANNELS);
        MX_REQUIRE(send_all_nb(c->fd, hello, (size_t)n) == 0);
        /* Keep the accept queue and the welcome bursts moving. */
        if (i % 50 == 49)
            pump(r, never, mx_now_ms() + 1);
    }
    bool joined = pump(r, all_joined, deadline);
    MX_REQUIRE(joined && !r->errors, "%d of %d joined; %ld errors, first: %s", r->joined,
               CLIENTS, r->errors, r->first_error);
    int64_t t1 = mx_now_ms();

    /* Everyone sends its 50 at once. */
    static char msgs[MSGS * 64];
    for (int i = 0; i < CLIENTS; i++) {
        size_t len = 0;
        for (int s = 0; s < MSGS; s++)
            len += (size_t)snprintf(msgs + len, sizeof msgs - len,
                                    "PRIVMSG #c%d :n%d %d\r\n", i % CHANNELS, i, s);
        MX_REQUIRE(send_all_nb(r->c[i].fd, msgs, len) == 0, "send from n%d", i);
        if (i % 25 == 24)
            pump(r, never, mx_now_ms() + 1);
    }
    bool done = pump(r, all_done, deadline);
    int64_t t2 = mx_now_ms();
    /* Anything more would be a duplicate: give it a moment to show up. */
    pump(r, never, mx_now_ms() + 300);
    int short_by = 0, worst = EXPECTED;
    for (int i = 0; i < CLIENTS; i++) {
        if (r->c[i].got < EXPECTED) {
            short_by++;
            worst = r->c[i].got < worst ? r->c[i].got : worst;
        }
    }
    MX_REQUIRE(!r->errors, "%ld bad deliveries; first: %s", r->errors, r->first_error);
    MX_REQUIRE(done && short_by == 0, "%d clients short of %d messages (worst got %d) after "
               "%lld ms", short_by, EXPECTED, worst, (long long)(t2 - t1));
    for (int i = 0; i < CLIENTS; i++)
        for (int s = i % CHANNELS; s < CLIENTS; s += CHANNELS)
            MX_REQUIRE(s == i || r->c[i].next[s] == MSGS, "n%d got %d of n%d's messages", i,
                       r->c[i].next[s], s);
    cr_log_info("joined %d clients in %lld ms; %d deliveries (%ld lines read) in %lld ms",
                CLIENTS, (long long)(t1 - t0), CLIENTS * EXPECTED, r->lines,
                (long long)(t2 - t1));
    report_spread(d->pid);

    for (int i = 0; i < CLIENTS; i++)
        close(r->c[i].fd);
    close(r->ep);
    free(next);
    free(r);
    mx_stop_ok(d, 20000);
}
