/* echo_bench.c - closed-loop load generator and checker for an echo server.
 *
 *   echo_bench -c CONNS -s SIZE -d DEPTH -t SECONDS [--warmup S] [--threads N]
 *              [--json] [--server-pid PID] HOST:PORT
 *   echo_bench --idle -c N [-s SIZE] [--warm] HOST:PORT
 *
 * Load mode: every connection keeps DEPTH messages of SIZE bytes in flight
 * and sends a new one as each echo completes (closed loop), so the offered
 * load follows what the server (or this client) can do. Each thread runs
 * its own epoll loop over its share of the connections. Every echoed byte
 * is compared with what was sent; latency is taken from the moment a
 * message is issued to the moment its last byte is back. Only messages
 * completed inside the measured window (after the warm-up) are counted.
 * With --server-pid the server's CPU time (utime + stime from
 * /proc/PID/stat) is read at both ends of the window, here, so the window
 * the CPU is charged to is exactly the one the messages are counted in.
 *
 * Idle mode: opens N connections, prints "ready N", holds them until
 * SIGTERM or SIGINT (or EOF on stdin when stdin is a pipe or terminal),
 * then checks each one with a round trip and prints "verified N".
 *
 * Exit status: 0 when everything was echoed intact, 1 on a mismatch, a
 * failed connect, a connection closed early or a stalled echo (with the
 * reason on stderr), 2 on a bad command line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* signalfd, accept4-era socket flags */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define MAX_SIZE (1u << 20)
#define MAX_DEPTH 65536u
#define RXBUF_SIZE (256u * 1024u)
#define MAX_EVENTS 512
#define CONNECT_WINDOW 256     /* connects in flight at once */
#define CONNECT_TIMEOUT_S 30
#define DRAIN_TIMEOUT_S 10     /* after the window: echoes still owed */
#define VERIFY_TIMEOUT_S 30    /* idle mode: the final round trips */
#define UNLIMITED UINT64_MAX

/* --- the byte pattern ------------------------------------------------- */

/* Stream byte o of connection k is pat[(base_k + o) % PAT_LEN]. PAT_LEN is
 * prime, so two different messages of one stream never carry the same
 * bytes (unless SIZE is a multiple of it), and a lost, repeated or
 * reordered message shows up as a mismatch, as do bytes from another
 * connection (each starts at its own base). The table is stored twice
 * over, so any slice of up to PAT_LEN bytes is contiguous: sends go
 * straight from it and checks are one memcmp. */
#define PAT_LEN 65521u
static unsigned char pat[2 * PAT_LEN];

static void pat_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: fixed, reproducible */
    for (unsigned i = 0; i < PAT_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pat[i] = (unsigned char)(x >> 56);
    }
    memcpy(pat + PAT_LEN, pat, PAT_LEN);
}

static const unsigned char *pat_at(uint64_t off)
{
    return pat + off % PAT_LEN;
}

/* --- time and CPU ----------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* utime + stime of every thread of process pid, in seconds; -1 if the
 * process is gone. The command name may hold blanks and parentheses, so
 * fields are counted from the last ')': utime and stime are the 12th and
 * 13th after it (fields 14 and 15 of proc(5)). */
static double proc_cpu_s(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1.0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    for (int field = 0; p && field < 12; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return -1.0;
    char *end;
    unsigned long ut = strtoul(p + 1, &end, 10);
    unsigned long st = strtoul(end, &end, 10);
    if (*end != ' ')
        return -1.0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU seconds of the whole machine (every CPU, every process: user,
 * nice, system, irq, softirq, steal), from the first line of /proc/stat.
 * What is left after the server and this client is other load: the noise
 * a run was measured under. -1 if unreadable. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1.0;
    unsigned long long v[8] = { 0 };
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return -1.0;
    /* user nice system [idle iowait] irq softirq steal */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

/* --- options ---------------------------------------------------------- */

struct opts {
    unsigned conns, depth, threads;
    size_t size;
    double seconds, warmup;
    bool json, idle, warm;
    pid_t server_pid;
    const char *target;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

static void usage(FILE *f)
{
    fputs("usage: echo_bench -c CONNS -s SIZE -d DEPTH -t SECONDS [--warmup S] [--threads N]\n"
          "                  [--json] [--server-pid PID] HOST:PORT\n"
          "       echo_bench --idle -c N [-s SIZE] [--warm] HOST:PORT\n"
          "  -c, --conns N        connections (default 100)\n"
          "  -s, --size N         message size in bytes, k/m suffix allowed (default 64)\n"
          "  -d, --depth N        messages in flight per connection (default 1)\n"
          "  -t, --time S         measured seconds, after the warm-up (default 3)\n"
          "      --warmup S       seconds of load before measuring (default 1)\n"
          "      --threads N      client threads, each with its own epoll loop (default 1)\n"
          "      --json           one JSON object on stdout instead of text\n"
          "      --server-pid PID read that process's CPU time over the measured window\n"
          "      --idle           open N connections, print 'ready N', hold them until\n"
          "                       SIGTERM/SIGINT or stdin EOF, then check each with a round trip\n"
          "      --warm           idle mode: one round trip per connection before 'ready'\n"
          "HOST is a numeric IPv4 address or [IPv6].\n",
          f);
}

__attribute__((format(printf, 1, 2)))
static _Noreturn void bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("echo_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    usage(stderr);
    exit(2);
}

/* A suffix multiplier for sizes: k and m are powers of 1024. */
static unsigned long long suffix_scale(char **end)
{
    unsigned long long scale = 1;
    if (**end == 'k' || **end == 'K')
        scale = 1024;
    else if (**end == 'm' || **end == 'M')
        scale = 1024 * 1024;
    if (scale > 1)
        (*end)++;
    return scale;
}

static unsigned long long parse_count(const char *opt, const char *s, unsigned long long lo,
                                      unsigned long long hi, bool suffix)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = errno == 0 && end != s && *s != '-';
    unsigned long long scale = suffix && ok ? suffix_scale(&end) : 1;
    if (!ok || *end || v > hi / scale || v * scale < lo)
        bad_usage("%s: expected a number from %llu to %llu, got '%s'", opt, lo, hi, s);
    return v * scale;
}

static double parse_seconds(const char *opt, const char *s, double lo)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo) || v > 3600.0)
        bad_usage("%s: expected seconds from %g to 3600, got '%s'", opt, lo, s);
    return v;
}

/* "1.2.3.4:port" or "[v6]:port", numeric only: a benchmark should not
 * depend on name resolution. */
static void parse_target(struct opts *o, const char *s)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        bad_usage("expected HOST:PORT, got '%s'", s);
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    uint16_t port = htons((uint16_t)parse_count("port", colon + 1, 1, 65535, false));
    memset(&o->addr, 0, sizeof o->addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;
    bool bracketed = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    if (bracketed)
        host[hl - 1] = '\0';
    if (!bracketed && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = port;
        o->addrlen = sizeof *a4;
    } else if (bracketed && inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = port;
        o->addrlen = sizeof *a6;
    } else {
        bad_usage("expected a numeric IPv4 address or [IPv6] address, got '%s'", s);
    }
    o->target = s;
}

enum { OPT_WARMUP = 256, OPT_THREADS, OPT_JSON, OPT_PID, OPT_IDLE, OPT_WARM };

static void parse_args(struct opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        { "conns", required_argument, NULL, 'c' },   { "size", required_argument, NULL, 's' },
        { "depth", required_argument, NULL, 'd' },   { "time", required_argument, NULL, 't' },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "json", no_argument, NULL, OPT_JSON },     { "server-pid", required_argument, NULL, OPT_PID },
        { "idle", no_argument, NULL, OPT_IDLE },     { "warm", no_argument, NULL, OPT_WARM },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    *o = (struct opts){ .conns = 100, .depth = 1, .threads = 1, .size = 64, .seconds = 3.0,
                        .warmup = 1.0 };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:s:d:t:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'c': o->conns = (unsigned)parse_count("-c", optarg, 1, 1000000, false); break;
        case 's': o->size = (size_t)parse_count("-s", optarg, 1, MAX_SIZE, true); break;
        case 'd': o->depth = (unsigned)parse_count("-d", optarg, 1, MAX_DEPTH, false); break;
        case 't': o->seconds = parse_seconds("-t", optarg, 0.001); break;
        case OPT_WARMUP: o->warmup = parse_seconds("--warmup", optarg, 0.0); break;
        case OPT_THREADS: o->threads = (unsigned)parse_count("--threads", optarg, 1, 256, false); break;
        case OPT_JSON: o->json = true; break;
        case OPT_PID: o->server_pid = (pid_t)parse_count("--server-pid", optarg, 1, 1u << 30, false); break;
        case OPT_IDLE: o->idle = true; break;
        case OPT_WARM: o->warm = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc - 1)
        bad_usage("%s", optind < argc ? "one HOST:PORT expected" : "HOST:PORT missing");
    parse_target(o, argv[optind]);
    if (o->threads > o->conns)
        o->threads = o->conns; /* a thread without connections has nothing to do */
}

/* The soft descriptor limit is often far below the hard one; take it all,
 * and say so up front if the connections cannot fit. */
static int fit_fd_limit(unsigned conns)
{
    struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)conns + 32 > rl.rlim_cur) {
        fprintf(stderr, "echo_bench: %u connections do not fit the descriptor limit %llu; "
                "use several processes\n", conns, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

/* --- connections ------------------------------------------------------ */

struct conn {
    int fd;
    unsigned id;
    uint64_t base;      /* pattern offset of stream byte 0 */
    uint64_t tx;        /* bytes the kernel took */
    uint64_t rx;        /* bytes echoed and checked */
    uint64_t issued;    /* messages issued (their bytes are owed to tx) */
    uint64_t done;      /* messages echoed in full */
    uint64_t budget;    /* messages still to issue, or UNLIMITED */
    uint64_t *t_issue;  /* issue time of message k at [k % depth] */
};

/* One non-blocking connect; 0 when done, 1 when in progress. */
static int connect_start(const struct opts *o, struct conn *c)
{
    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    /* Small messages with several in flight: Nagle would hold them back
     * waiting for ACKs and measure the delayed-ACK timer, not the server. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) == 0)
        return 0;
    return errno == EINPROGRESS ? 1 : -errno;
}

static int connect_finish(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

static int connect_failed(const struct opts *o, unsigned i, int err)
{
    fprintf(stderr, "echo_bench: connect %u of %u to %s: %s\n", i + 1, o->conns, o->target,
            strerror(-err));
    return -1;
}

/* Waits for one in-progress connect to finish; returns its index. */
static int connect_reap(const struct opts *o, int ep, struct conn *cs, uint64_t deadline)
{
    struct epoll_event ev;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) {
            fprintf(stderr, "echo_bench: connects to %s did not complete in %d s\n", o->target,
                    CONNECT_TIMEOUT_S);
            return -1;
        }
        int n = epoll_wait(ep, &ev, 1, (int)((deadline - now) / NS_PER_MS) + 1);
        if (n < 0 && errno != EINTR) {
            perror("echo_bench: epoll_wait");
            return -1;
        }
        if (n <= 0)
            continue;
        unsigned i = ev.data.u32;
        epoll_ctl(ep, EPOLL_CTL_DEL, cs[i].fd, NULL);
        int err = connect_finish(cs[i].fd);
        return err < 0 ? connect_failed(o, i, err) : (int)i;
    }
}

/* Connects all o->conns, at most CONNECT_WINDOW at a time so a burst
 * cannot overflow the server's SYN or accept backlog (which would turn
 * into one-second SYN retries, not an error). */
static int connect_all(const struct opts *o, struct conn *cs)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("echo_bench: epoll_create1");
        return -1;
    }
    uint64_t deadline = now_ns() + CONNECT_TIMEOUT_S * NS_PER_S;
    unsigned pending = 0, i = 0;
    int rc = 0;
    while (rc == 0 && (i < o->conns || pending > 0)) {
        if (i < o->conns && pending < CONNECT_WINDOW) {
            int r = connect_start(o, &cs[i]);
            struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
            if (r < 0)
                rc = connect_failed(o, i, r);
            else if (r == 1 && epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == 0)
                pending++;
            else if (r == 1)
                rc = connect_failed(o, i, -errno);
            i++;
            continue;
        }
        if (connect_reap(o, ep, cs, deadline) < 0)
            rc = -1;
        pending--;
    }
    close(ep);
    return rc;
}

static struct conn *conns_new(const struct opts *o)
{
    struct conn *cs = calloc(o->conns, sizeof *cs);
    uint64_t *times = calloc((size_t)o->conns * o->depth, sizeof *times);
    if (!cs || !times) {
        free(cs);
        free(times);
        return NULL;
    }
    for (unsigned i = 0; i < o->conns; i++) {
        /* 7919 is prime and far from PAT_LEN: neighbours start far apart. */
        cs[i] = (struct conn){ .fd = -1, .id = i, .base = (uint64_t)i * 7919u,
                               .t_issue = times + (size_t)i * o->depth };
    }
    return cs;
}

static void conns_free(struct conn *cs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    free(cs[0].t_issue);
    free(cs);
}

/* --- the load engine --------------------------------------------------- */

/* One run of the engine: what to send, and when to count and stop. */
struct run {
    size_t size;
    unsigned depth;
    uint64_t budget;     /* messages each connection issues, or UNLIMITED */
    uint64_t t_start;    /* measured window [t_start, t_end) */
    uint64_t t_end;
    uint64_t t_stop;     /* no message is issued from here on */
    uint64_t t_give_up;  /* echoes still owed by now are a failure */
};

struct worker {
    pthread_t thread;
    const struct run *run;
    struct conn *cs;
    unsigned n;
    int ep;
    uint64_t pending;    /* messages issued and not yet echoed */
    uint64_t to_issue;   /* budget left over all connections (limited runs) */
    uint64_t msgs;       /* completed inside the window */
    struct hist hist;
    unsigned char *rxbuf;
    char err[256];
};

/* Set by the first worker that fails, so the others stop at once. */
static atomic_bool g_abort;

__attribute__((format(printf, 2, 3)))
static int fail(struct worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    atomic_store(&g_abort, true);
    return -1;
}

static void issue(struct worker *w, struct conn *c, uint64_t now)
{
    if (c->budget == 0 || now >= w->run->t_stop)
        return;
    if (c->budget != UNLIMITED) {
        c->budget--;
        w->to_issue--;
    }
    c->t_issue[c->issued % w->run->depth] = now;
    c->issued++;
    w->pending++;
}

/* Sends what the issued messages still owe. A short send means the socket
 * buffer is full; the edge-triggered EPOLLOUT says when to go on. */
static int pump_out(struct worker *w, struct conn *c)
{
    uint64_t owed = c->issued * w->run->size;
    while (c->tx < owed) {
        uint64_t left = owed - c->tx;
        size_t len = left < PAT_LEN ? (size_t)left : PAT_LEN;
        ssize_t r = send(c->fd, pat_at(c->base + c->tx), len, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return fail(w, "connection %u: send: %s", c->id, strerror(errno));
        }
        c->tx += (uint64_t)r;
        if ((size_t)r < len)
            return 0;
    }
    return 0;
}

static int mismatch(struct worker *w, const struct conn *c, const unsigned char *got,
                    const unsigned char *want, uint64_t off)
{
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    uint64_t at = off + i;
    return fail(w, "connection %u: echoed byte %llu (message %llu, byte %llu) is 0x%02x, "
                "expected 0x%02x", c->id, (unsigned long long)at,
                (unsigned long long)(at / w->run->size), (unsigned long long)(at % w->run->size),
                got[i], want[i]);
}

static int check_bytes(struct worker *w, const struct conn *c, const unsigned char *p, size_t n)
{
    uint64_t off = c->rx;
    while (n > 0) {
        size_t k = n < PAT_LEN ? n : PAT_LEN;
        const unsigned char *want = pat_at(c->base + off);
        if (memcmp(p, want, k) != 0)
            return mismatch(w, c, p, want, off);
        p += k;
        off += k;
        n -= k;
    }
    return 0;
}

static void complete(struct worker *w, struct conn *c, uint64_t now)
{
    const struct run *r = w->run;
    uint64_t sent_at = c->t_issue[c->done % r->depth];
    c->done++;
    w->pending--;
    if (now >= r->t_start && now < r->t_end) {
        hist_record(&w->hist, now - sent_at);
        w->msgs++;
    }
    issue(w, c, now); /* closed loop: one in, one out */
}

/* n echoed bytes arrived at time now: check them, complete the messages
 * they finish, and send the messages that replace them. */
static int absorb(struct worker *w, struct conn *c, size_t n, uint64_t now)
{
    if (c->rx + n > c->tx)
        return fail(w, "connection %u: %llu bytes echoed but only %llu sent", c->id,
                    (unsigned long long)(c->rx + n), (unsigned long long)c->tx);
    if (check_bytes(w, c, w->rxbuf, n) < 0)
        return -1;
    c->rx += n;
    uint64_t whole = c->rx / w->run->size;
    while (c->done < whole)
        complete(w, c, now);
    return pump_out(w, c);
}

/* Reads until the socket is drained. A read shorter than the buffer
 * drained it: edge-triggered epoll reports any later arrival afresh. */
static int pump_in(struct worker *w, struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, w->rxbuf, RXBUF_SIZE, 0);
        if (r > 0) {
            if (absorb(w, c, (size_t)r, now_ns()) < 0)
                return -1;
            if ((size_t)r < RXBUF_SIZE)
                return 0;
        } else if (r == 0) {
            return fail(w, "connection %u: closed by the server with %llu of %llu bytes "
                        "echoed", c->id, (unsigned long long)c->rx, (unsigned long long)c->tx);
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            return fail(w, "connection %u: recv: %s (after %llu of %llu bytes echoed)", c->id,
                        strerror(errno), (unsigned long long)c->rx, (unsigned long long)c->tx);
        }
    }
}

static int on_event(struct worker *w, struct conn *c, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && pump_in(w, c) < 0)
        return -1;
    if (ev & EPOLLERR) {
        int err = connect_finish(c->fd);
        if (err < 0)
            return fail(w, "connection %u: %s", c->id, strerror(-err));
    }
    return (ev & EPOLLOUT) ? pump_out(w, c) : 0;
}

static bool worker_done(const struct worker *w, uint64_t now)
{
    bool may_issue = now < w->run->t_stop && (w->run->budget == UNLIMITED || w->to_issue > 0);
    return w->pending == 0 && !may_issue;
}

/* How long epoll may sleep: until the next time something changes. */
static int wait_ms(const struct worker *w, uint64_t now)
{
    const struct run *r = w->run;
    uint64_t next = r->t_give_up;
    if (now < r->t_stop && r->t_stop < next)
        next = r->t_stop;
    uint64_t ms = next > now ? (next - now) / NS_PER_MS + 1 : 0;
    return ms > 100 ? 100 : (int)ms;
}

static int worker_start(struct worker *w)
{
    uint64_t now = now_ns();
    for (unsigned i = 0; i < w->n; i++) {
        struct conn *c = &w->cs[i];
        for (unsigned k = 0; k < w->run->depth; k++)
            issue(w, c, now);
        if (pump_out(w, c) < 0)
            return -1;
    }
    return 0;
}

static int worker_loop(struct worker *w)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t now = now_ns();
    while (!worker_done(w, now)) {
        if (atomic_load_explicit(&g_abort, memory_order_relaxed))
            return -1;
        if (now >= w->run->t_give_up)
            return fail(w, "%llu echoes still owed %.1f s after the last message was sent",
                        (unsigned long long)w->pending,
                        (double)(w->run->t_give_up - w->run->t_stop) / NS_PER_S);
        int n = epoll_wait(w->ep, evs, MAX_EVENTS, wait_ms(w, now));
        if (n < 0 && errno != EINTR)
            return fail(w, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            if (on_event(w, &w->cs[evs[i].data.u32], evs[i].events) < 0)
                return -1;
        now = now_ns();
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (worker_start(w) == 0)
        worker_loop(w);
    return NULL;
}

/* Edge-triggered, both directions, registered once: no epoll_ctl on the
 * hot path, which matters because this client shares one core with
 * everything it measures against. */
static int worker_init(struct worker *w, const struct run *r, struct conn *cs, unsigned n)
{
    *w = (struct worker){ .run = r, .cs = cs, .n = n, .ep = -1 };
    if (hist_init(&w->hist) < 0)
        return fail(w, "out of memory setting up a thread");
    if (r->budget != UNLIMITED)
        w->to_issue = r->budget * n;
    for (unsigned i = 0; i < n; i++)
        cs[i].budget = r->budget;
    w->rxbuf = malloc(RXBUF_SIZE);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w->rxbuf || w->ep < 0)
        return fail(w, "setting up a thread: %s", strerror(w->rxbuf ? errno : ENOMEM));
    for (unsigned i = 0; i < n; i++) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = i };
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            return fail(w, "epoll_ctl: %s", strerror(errno));
    }
    return 0;
}

static void worker_fini(struct worker *w)
{
    if (w->ep >= 0)
        close(w->ep);
    free(w->rxbuf);
    hist_free(&w->hist);
}

/* --- running the engine ----------------------------------------------- */

struct result {
    uint64_t msgs;
    struct hist hist;
    /* CPU seconds over the window; < 0 = not measured */
    double server_cpu_s, client_cpu_s, machine_busy_s;
};

/* Sleeps until t, waking early if a worker failed. */
static void sleep_until(uint64_t t)
{
    uint64_t now;
    while (!atomic_load(&g_abort) && (now = now_ns()) < t) {
        uint64_t step = t - now;
        sleep_ns(step < 50 * NS_PER_MS ? step : 50 * NS_PER_MS);
    }
}

/* A CPU-time reading at one end of the measured window. */
struct cpu_mark {
    double server, client, machine;
};

static struct cpu_mark cpu_mark(pid_t server)
{
    return (struct cpu_mark){ .server = server ? proc_cpu_s(server) : -1.0,
                              .client = proc_cpu_s(getpid()),
                              .machine = machine_busy_s() };
}

static double cpu_delta(double a, double b)
{
    return a >= 0 && b >= 0 ? b - a : -1.0;
}

/* Reads the CPU clocks at the window's ends while the workers run. */
static void watch_window(const struct run *r, pid_t server, struct result *res)
{
    res->server_cpu_s = res->client_cpu_s = res->machine_busy_s = -1.0;
    if (r->t_end <= r->t_start)
        return;
    sleep_until(r->t_start);
    struct cpu_mark m0 = cpu_mark(server);
    sleep_until(r->t_end);
    struct cpu_mark m1 = cpu_mark(server);
    if (atomic_load(&g_abort))
        return;
    res->server_cpu_s = cpu_delta(m0.server, m1.server);
    res->client_cpu_s = cpu_delta(m0.client, m1.client);
    res->machine_busy_s = cpu_delta(m0.machine, m1.machine);
}

/* Gives each thread its share of the connections and starts it; returns
 * how many threads were set up (all of them unless something failed, in
 * which case g_abort is set). *started says how many run. */
static unsigned engine_start(struct worker *ws, const struct run *r, struct conn *cs, unsigned n,
                             unsigned threads, unsigned *started)
{
    unsigned first = 0, inited = 0;
    *started = 0;
    for (; inited < threads; inited++) {
        unsigned share = n / threads + (inited < n % threads);
        if (worker_init(&ws[inited], r, cs + first, share) < 0)
            return inited + 1; /* its err and resources are looked at later */
        first += share;
    }
    for (; *started < inited; (*started)++) {
        int err = pthread_create(&ws[*started].thread, NULL, worker_main, &ws[*started]);
        if (err) {
            fail(&ws[*started], "cannot start a thread: %s", strerror(err));
            break;
        }
    }
    return inited;
}

/* Merges what the threads counted and reports the first failure. */
static int engine_collect(struct worker *ws, unsigned inited, struct result *res)
{
    int rc = 0;
    res->msgs = 0;
    for (unsigned t = 0; t < inited; t++) {
        if (ws[t].err[0] && rc == 0) {
            fprintf(stderr, "echo_bench: %s\n", ws[t].err);
            rc = -1;
        }
        if (ws[t].hist.b) {
            hist_merge(&res->hist, &ws[t].hist);
            res->msgs += ws[t].msgs;
        }
        worker_fini(&ws[t]);
    }
    return rc;
}

/* Splits the connections over the threads, runs them, and merges what
 * they counted. Returns 0, or -1 with the first failure on stderr. */
static int engine_run(const struct run *r, struct conn *cs, unsigned n, unsigned threads,
                      pid_t server, struct result *res)
{
    struct worker *ws = calloc(threads, sizeof *ws);
    if (!ws || hist_init(&res->hist) < 0) {
        fprintf(stderr, "echo_bench: out of memory\n");
        free(ws);
        return -1;
    }
    unsigned started;
    unsigned inited = engine_start(ws, r, cs, n, threads, &started);
    if (!atomic_load(&g_abort))
        watch_window(r, server, res);
    for (unsigned t = 0; t < started; t++)
        pthread_join(ws[t].thread, NULL);
    int rc = engine_collect(ws, inited, res);
    free(ws);
    return rc;
}

/* --- reports ----------------------------------------------------------- */

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_json(const struct opts *o, const struct result *res, double window_s)
{
    const struct hist *h = &res->hist;
    double rate = (double)res->msgs / window_s;
    printf("{\"target\":\"%s\",\"conns\":%u,\"size\":%zu,\"depth\":%u,\"threads\":%u,"
           "\"warmup_s\":%.3f,\"window_s\":%.3f,\"messages\":%llu,\"msgs_per_s\":%.1f,"
           "\"mib_per_s\":%.2f,\"lat_min_us\":%.1f,\"lat_mean_us\":%.1f,\"lat_p50_us\":%.1f,"
           "\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,\"lat_max_us\":%.1f,",
           o->target, o->conns, o->size, o->depth, o->threads, o->warmup, window_s,
           (unsigned long long)res->msgs, rate, rate * (double)o->size / (1024.0 * 1024.0),
           us(h->count ? h->min : 0), hist_mean(h) / 1000.0, us(hist_quantile(h, 0.50)),
           us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)), us(h->max));
    if (res->server_cpu_s >= 0 && res->msgs > 0)
        printf("\"server_pid\":%d,\"server_cpu_s\":%.2f,\"server_cpu_s_per_mmsg\":%.3f,",
               (int)o->server_pid, res->server_cpu_s,
               res->server_cpu_s / ((double)res->msgs / 1e6));
    else
        printf("\"server_pid\":null,\"server_cpu_s\":null,\"server_cpu_s_per_mmsg\":null,");
    printf("\"client_cpu_s\":%.2f,\"machine_busy_s\":%.2f}\n", res->client_cpu_s,
           res->machine_busy_s);
}

static void print_text(const struct opts *o, const struct result *res, double window_s)
{
    const struct hist *h = &res->hist;
    double rate = (double)res->msgs / window_s;
    printf("%s: %u conns x depth %u x %zu B, %u thread(s), warm-up %.1f s, measured %.3f s\n",
           o->target, o->conns, o->depth, o->size, o->threads, o->warmup, window_s);
    printf("messages  %llu  (%.0f/s, %.2f MiB/s each way), every byte checked\n",
           (unsigned long long)res->msgs, rate, rate * (double)o->size / (1024.0 * 1024.0));
    printf("latency   min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us\n",
           us(h->count ? h->min : 0), us(hist_quantile(h, 0.50)), us(hist_quantile(h, 0.99)),
           us(hist_quantile(h, 0.999)), us(h->max), hist_mean(h) / 1000.0);
    if (res->server_cpu_s >= 0 && res->msgs > 0)
        printf("server    %.2f CPU s over the window, %.3f CPU s per million messages\n",
               res->server_cpu_s, res->server_cpu_s / ((double)res->msgs / 1e6));
    if (res->client_cpu_s >= 0)
        printf("client    %.2f CPU s over the window\n", res->client_cpu_s);
    if (res->machine_busy_s >= 0)
        printf("machine   %.2f CPU s busy over the window, all CPUs and processes\n",
               res->machine_busy_s);
}

/* --- the two modes ----------------------------------------------------- */

static int load_mode(const struct opts *o, struct conn *cs)
{
    uint64_t t0 = now_ns();
    uint64_t window = (uint64_t)(o->seconds * (double)NS_PER_S);
    struct run r = { .size = o->size, .depth = o->depth, .budget = UNLIMITED };
    r.t_start = t0 + (uint64_t)(o->warmup * (double)NS_PER_S);
    r.t_end = r.t_stop = r.t_start + window;
    r.t_give_up = r.t_stop + DRAIN_TIMEOUT_S * NS_PER_S;
    struct result res = { 0 };
    int rc = engine_run(&r, cs, o->conns, o->threads, o->server_pid, &res);
    if (rc == 0 && o->server_pid && res.server_cpu_s < 0) {
        fprintf(stderr, "echo_bench: cannot read /proc/%d/stat\n", (int)o->server_pid);
        rc = -1;
    }
    if (rc == 0 && res.msgs == 0) {
        fprintf(stderr, "echo_bench: no message completed inside the window\n");
        rc = -1;
    }
    if (rc == 0)
        (o->json ? print_json : print_text)(o, &res, (double)window / NS_PER_S);
    hist_free(&res.hist);
    return rc;
}

/* One message per connection and back, nothing measured. */
static int round_trip(const struct opts *o, struct conn *cs)
{
    struct run r = { .size = o->size, .depth = 1, .budget = 1, .t_stop = UINT64_MAX };
    r.t_give_up = now_ns() + VERIFY_TIMEOUT_S * NS_PER_S;
    struct result res = { 0 };
    int rc = engine_run(&r, cs, o->conns, 1, 0, &res);
    hist_free(&res.hist);
    return rc;
}

/* stdin counts only when it can really reach EOF on request: a pipe, a
 * socket or a terminal. /dev/null or a file would end the hold at once. */
static bool stdin_is_control(void)
{
    struct stat st;
    if (fstat(STDIN_FILENO, &st) < 0)
        return false;
    return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

/* Blocks until SIGTERM/SIGINT (blocked since start, read from a signalfd)
 * or EOF on a controlling stdin. */
static int hold(const sigset_t *sigs)
{
    int sfd = signalfd(-1, sigs, SFD_CLOEXEC);
    if (sfd < 0) {
        perror("echo_bench: signalfd");
        return -1;
    }
    struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
                           { .fd = stdin_is_control() ? STDIN_FILENO : -1, .events = POLLIN } };
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents) {
            char buf[512];
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
    }
    close(sfd);
    return 0;
}

static int idle_mode(const struct opts *o, struct conn *cs, const sigset_t *sigs)
{
    if (o->warm && round_trip(o, cs) < 0)
        return -1;
    printf("ready %u\n", o->conns);
    fflush(stdout);
    if (hold(sigs) < 0 || round_trip(o, cs) < 0)
        return -1;
    printf("verified %u\n", o->conns);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(&o, argc, argv);
    /* Blocked before any thread exists so every thread inherits the mask
     * and idle mode can take the signal from a signalfd; load mode keeps
     * the default action (die) by not blocking. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (o.idle)
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (fit_fd_limit(o.conns) < 0)
        return 1;
    pat_init();
    struct conn *cs = conns_new(&o);
    if (!cs) {
        fprintf(stderr, "echo_bench: out of memory for %u connections\n", o.conns);
        return 1;
    }
    int rc = connect_all(&o, cs);
    if (rc == 0)
        rc = o.idle ? idle_mode(&o, cs, &sigs) : load_mode(&o, cs);
    conns_free(cs, o.conns);
    return rc == 0 ? 0 : 1;
}
