/* redis.c - a real redis-server as a child of the test, and a hand-made
 * RESP client (see redis.h). */
#include "redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REDIS_UP_MS 5000       /* the new server must answer PING by then */
#define REDIS_STOP_MS 3000     /* SIGTERM's grace before SIGKILL */
#define REDIS_CMD_MS 2000      /* one command's whole round trip */
#define REDIS_MAX_LIVE 4
#define REDIS_MAX_ARGS 32

/* ---- the server -------------------------------------------------------- */

/* Servers started and not stopped yet, for redis_fini. */
static struct mx_redis *live[REDIS_MAX_LIVE];

static void live_add(struct mx_redis *r)
{
    for (int i = 0; i < REDIS_MAX_LIVE; i++)
        if (live[i] == r)
            return;
    for (int i = 0; i < REDIS_MAX_LIVE; i++) {
        if (!live[i]) {
            live[i] = r;
            return;
        }
    }
}

static void live_remove(struct mx_redis *r)
{
    for (int i = 0; i < REDIS_MAX_LIVE; i++)
        if (live[i] == r)
            live[i] = NULL;
}

static int spawn(struct mx_redis *r)
{
    char port[16], out[sizeof r->child.dir + 16];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(out, sizeof out, "%s/stdout.log", r->child.dir);
    /* Redis takes each address after --bind as an argument of its own. */
    char *argv[24];
    int n = 0;
    argv[n++] = MX_REDIS_BIN;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    if (r->also_on[0])
        argv[n++] = r->also_on;
    char *const rest[] = {
        "--save",       "",                "--appendonly", "no",  "--protected-mode",
        "no",           "--daemonize",     "no",   "--logfile",   r->logfile,
        "--dir",        r->child.dir,      NULL,
    };
    memcpy(&argv[n], rest, sizeof rest);
    /* Redis writes its log to --logfile; what it says before that is
     * open (a bad argument) lands in out. */
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid = mx_child_spawn(argv, fd, 0);
    if (fd >= 0)
        close(fd);
    if (pid < 0)
        return pid;
    r->child.pid = pid;
    return 0;
}

/* Has the server exited? Reaps it if so. */
static bool exited(struct mx_redis *r)
{
    if (r->child.pid <= 0)
        return true;
    pid_t w = waitpid(r->child.pid, NULL, WNOHANG);
    if (w == r->child.pid || (w < 0 && errno == ECHILD)) {
        r->child.pid = 0;
        return true;
    }
    return false;
}

static bool log_says(const struct mx_redis *r, const char *needle)
{
    char *tail = redis_log_tail(r, 8192);
    bool hit = tail && strstr(tail, needle);
    free(tail);
    return hit;
}

char *redis_log_tail(const struct mx_redis *r, size_t max)
{
    if (!r->logfile[0])
        return NULL;
    FILE *f = fopen(r->logfile, "r");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = 0;
    if (buf) {
        if (fseek(f, 0, SEEK_END) == 0) {
            long size = ftell(f);
            if (size > (long)max)
                fseek(f, size - (long)max, SEEK_SET);
            else
                fseek(f, 0, SEEK_SET);
        }
        n = fread(buf, 1, max, f);
        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

static void log_failure(const struct mx_redis *r, const char *why)
{
    char *tail = redis_log_tail(r, 4096), out[sizeof r->child.dir + 16];
    cr_log_error("redis on 127.0.0.1:%d %s; the end of its log (%s):\n%s", r->port, why,
                 r->logfile, tail ? tail : "(none)");
    free(tail);
    /* What it said before its log was open (a bad argument). */
    snprintf(out, sizeof out, "%s/stdout.log", r->child.dir);
    FILE *f = fopen(out, "r");
    if (f) {
        char buf[2048];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        if (n)
            cr_log_error("redis's stdout and stderr:\n%s", buf);
    }
}

/* SIGTERM (and SIGCONT: a stopped server would hold the TERM pending),
 * up to REDIS_STOP_MS for it to go, then SIGKILL. The directory stays. */
static void stop_process(struct mx_redis *r)
{
    if (r->child.pid <= 0)
        return;
    kill(r->child.pid, SIGTERM);
    kill(r->child.pid, SIGCONT);
    for (int64_t end = mx_now_ms() + REDIS_STOP_MS; mx_now_ms() < end; mx_sleep_ms(10))
        if (exited(r))
            return;
    cr_log_warn("redis pid %d ignored SIGTERM for %d ms, killing it", (int)r->child.pid,
                REDIS_STOP_MS);
    kill(r->child.pid, SIGKILL);
    while (waitpid(r->child.pid, NULL, 0) < 0 && errno == EINTR)
        ;
    r->child.pid = 0;
}

/* Runs the server on r->port and waits for its PONG. 0; -EADDRINUSE if
 * the port was taken (the server has exited); -1 otherwise. */
static int run_and_wait(struct mx_redis *r)
{
    int rc = spawn(r);
    if (rc < 0)
        return rc;
    char reply[64];
    for (int64_t end = mx_now_ms() + REDIS_UP_MS; mx_now_ms() < end; mx_sleep_ms(20)) {
        if (exited(r))
            return log_says(r, "ddress already in use") ? -EADDRINUSE : -1;
        if (redis_cmd(r->port, reply, sizeof reply, "PING", NULL) == 0 &&
            strcmp(reply, "PONG") == 0)
            return 0;
    }
    return -1;
}

int redis_start(struct mx_redis *r)
{
    return redis_start_also_on(r, NULL);
}

int redis_start_also_on(struct mx_redis *r, const char *addr)
{
    /* A server still running in r would be lost track of. */
    for (int i = 0; i < REDIS_MAX_LIVE; i++)
        if (live[i] == r)
            redis_stop(r);
    memset(r, 0, sizeof *r);
    if (addr && strlen(addr) >= sizeof r->also_on)
        return -EINVAL;
    if (addr)
        snprintf(r->also_on, sizeof r->also_on, "%s", addr);
    if (access(MX_REDIS_BIN, X_OK) != 0)
        return -ENOENT;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) + sizeof "/muxd-redis-XXXXXX" > sizeof r->child.dir)
        tmp = "/tmp";
    snprintf(r->child.dir, sizeof r->child.dir, "%s/muxd-redis-XXXXXX", tmp);
    if (!mkdtemp(r->child.dir)) {
        int e = -errno;
        r->child.dir[0] = '\0';
        return e;
    }
    snprintf(r->logfile, sizeof r->logfile, "%s/redis.log", r->child.dir);
    live_add(r);
    /* A free port is only free until someone takes it: try a few. */
    int rc = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = mx_free_port();
        if (r->port <= 0)
            break;
        rc = run_and_wait(r);
        if (rc != -EADDRINUSE)
            break;
        unlink(r->logfile);
    }
    if (rc != 0) {
        log_failure(r, "did not answer PING within 5 s");
        redis_stop(r);
        return rc < 0 ? rc : -1;
    }
    return 0;
}

int redis_restart(struct mx_redis *r)
{
    if (!r->child.dir[0] || r->port <= 0)
        return -EINVAL;
    stop_process(r);
    live_add(r);
    int rc = run_and_wait(r);
    if (rc != 0) {
        log_failure(r, "did not come back on its port within 5 s");
        stop_process(r);
        return rc < 0 ? rc : -1;
    }
    return 0;
}

void redis_stop(struct mx_redis *r)
{
    stop_process(r);
    mx_child_cleanup(&r->child);  /* pid is 0 by now: removes the directory */
    live_remove(r);
}

int redis_signal(struct mx_redis *r, int sig)
{
    /* pid 0 would signal our own process group. */
    if (r->child.pid <= 0)
        return -ESRCH;
    return kill(r->child.pid, sig) < 0 ? -errno : 0;
}

void redis_fini(void)
{
    for (int i = 0; i < REDIS_MAX_LIVE; i++)
        if (live[i])
            redis_stop(live[i]);
}

/* ---- the client --------------------------------------------------------- */

/* Text rendered so far; cut (never overrun) at cap - 1. */
struct out {
    char *p;
    size_t len, cap;
};

static void out_add(struct out *o, const char *s, size_t n)
{
    if (o->len + 1 >= o->cap)
        return;
    size_t room = o->cap - 1 - o->len;
    if (n > room)
        n = room;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* The line at b[*pos] up to CR LF: its length, or -1 if not whole yet. */
static long line_at(const char *b, size_t n, size_t pos)
{
    for (size_t i = pos; i + 1 < n; i++)
        if (b[i] == '\r' && b[i + 1] == '\n')
            return (long)(i - pos);
    return -1;
}

static bool parse_long(const char *s, size_t n, long *v)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    *v = strtol(tmp, &end, 10);
    return errno == 0 && *end == '\0';
}

/* One reply at b[*pos], rendered into o: 1 when whole (*pos moves past
 * it), 0 if more bytes are needed, -1 if malformed. */
static int parse_reply(const char *b, size_t n, size_t *pos, struct out *o, int depth)
{
    if (depth > 8)
        return -1;
    long ll = line_at(b, n, *pos);
    if (ll < 0)
        return 0;
    if (ll < 1)
        return -1;
    const char *line = b + *pos + 1;
    size_t len = (size_t)ll - 1, next = *pos + (size_t)ll + 2;
    long v;
    switch (b[*pos]) {
    case '+': case '-': case ':':
        out_add(o, line, len);
        *pos = next;
        return 1;
    case '$':
        if (!parse_long(line, len, &v) || v < -1)
            return -1;
        if (v == -1) {
            out_add(o, "(nil)", 5);
            *pos = next;
            return 1;
        }
        if (n < next + (size_t)v + 2)
            return 0;
        if (b[next + (size_t)v] != '\r' || b[next + (size_t)v + 1] != '\n')
            return -1;
        out_add(o, b + next, (size_t)v);
        *pos = next + (size_t)v + 2;
        return 1;
    case '*':
        if (!parse_long(line, len, &v) || v < -1)
            return -1;
        *pos = next;
        if (v == -1) {
            out_add(o, "(nil)", 5);
            return 1;
        }
        for (long i = 0; i < v; i++) {
            if (i > 0)
                out_add(o, " ", 1);
            int rc = parse_reply(b, n, pos, o, depth + 1);
            if (rc != 1)
                return rc;
        }
        return 1;
    default:
        return -1;
    }
}

static int connect_loopback(int port, int64_t deadline)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int left = (int)(deadline - mx_now_ms());
    int err = 0;
    socklen_t elen = sizeof err;
    if (left <= 0 || poll(&p, 1, left) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits for fd to be ready for events until deadline: true if it is. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int left = (int)(deadline - mx_now_ms());
        if (left <= 0)
            return false;
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, left);
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
    }
}

/* The command as RESP: *N, then $len and the bytes of each argument.
 * malloc'ed, its length in *n; NULL if it cannot be built. */
static char *encode(const char *const *args, int nargs, size_t *n)
{
    size_t cap = 32;
    for (int i = 0; i < nargs; i++)
        cap += strlen(args[i]) + 32;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t len = (size_t)snprintf(buf, cap, "*%d\r\n", nargs);
    for (int i = 0; i < nargs; i++) {
        size_t al = strlen(args[i]);
        len += (size_t)snprintf(buf + len, cap - len, "$%zu\r\n", al);
        memcpy(buf + len, args[i], al);
        len += al;
        buf[len++] = '\r';
        buf[len++] = '\n';
    }
    *n = len;
    return buf;
}

int redis_cmd(int port, char *reply, size_t len, const char *arg0, ...)
{
    if (!reply || len == 0 || !arg0)
        return -1;
    reply[0] = '\0';
    const char *args[REDIS_MAX_ARGS];
    int nargs = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        if (nargs == REDIS_MAX_ARGS) {
            va_end(ap);
            return -1;
        }
        args[nargs++] = a;
    }
    va_end(ap);
    size_t reqlen;
    char *req = encode(args, nargs, &reqlen);
    if (!req)
        return -1;

    int64_t deadline = mx_now_ms() + REDIS_CMD_MS;
    int rc = -1;
    char *in = NULL;
    int fd = connect_loopback(port, deadline);
    if (fd < 0)
        goto out;
    for (size_t off = 0; off < reqlen;) {
        ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                goto out;
        } else {
            goto out;
        }
    }
    size_t cap = 4096, have = 0;
    if (!(in = malloc(cap)))
        goto out;
    for (;;) {
        struct out o = { reply, 0, len };
        size_t pos = 0;
        reply[0] = '\0';
        int p = have ? parse_reply(in, have, &pos, &o, 0) : 0;
        if (p == 1)
            rc = 0;
        if (p != 0)
            break;
        if (have == cap) {
            char *grown = cap < (64u << 20) ? realloc(in, cap * 2) : NULL;
            if (!grown)
                break;
            in = grown;
            cap *= 2;
        }
        if (!wait_fd(fd, POLLIN, deadline))
            break;
        ssize_t r = recv(fd, in + have, cap - have, 0);
        if (r > 0)
            have += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            break;
    }
out:
    if (rc != 0)
        reply[0] = '\0';
    if (fd >= 0)
        close(fd);
    free(in);
    free(req);
    return rc;
}
