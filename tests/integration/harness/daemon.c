/* daemon.c - run $MUXD_BIN as a child process and collect its log. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MX_MAX_LIVE 8
#define MX_MAX_ARGS 24

/* Daemons not yet cleaned up, for mx_fini and mx_dump_logs. */
static struct mx_daemon *live[MX_MAX_LIVE];

static void live_add(struct mx_daemon *d)
{
    for (int i = 0; i < MX_MAX_LIVE; i++) {
        if (!live[i]) {
            live[i] = d;
            return;
        }
    }
}

static void live_remove(struct mx_daemon *d)
{
    for (int i = 0; i < MX_MAX_LIVE; i++)
        if (live[i] == d)
            live[i] = NULL;
}

/* Each daemon's config sits in a directory of its own: what muxd keeps
 * beside its config (a chat listener's K-line file) stays the test's. */
/* The config and whatever muxd wrote beside it. */
static void remove_config(struct mx_daemon *d)
{
    char dir[sizeof d->conf_path];
    snprintf(dir, sizeof dir, "%s", d->conf_path);
    char *slash = strrchr(dir, '/');
    if (!slash || strncmp(slash, "/muxd.conf", 10) != 0)
        return;
    *slash = '\0';
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[sizeof dir + 260];
    while (dp && (e = readdir(dp)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (dp)
        closedir(dp);
    rmdir(dir);
}

static int write_all(int fd, const char *text, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        off += (size_t)w;
    }
    return 0;
}

/* The test's config, then MUXD_TEST_SERVER_KEYS ("key = value|key =
 * value"; ';' too) in a [server] section of its own: a CTest variant runs a test
 * with a server feature forced off without the test knowing
 * (tests/CMakeLists.txt). Last, so the test's line numbers stay. */
static int write_forced_keys(int fd)
{
    const char *keys = getenv("MUXD_TEST_SERVER_KEYS");
    if (!keys || !*keys)
        return 0;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "\n[server]\n%s\n", keys);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -E2BIG;
    for (char *p = buf; *p; p++)
        if (*p == ';' || *p == '|')
            *p = '\n';
    return write_all(fd, buf, (size_t)n);
}

static int write_config_file(const char *path, int flags, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, text, strlen(text));
    if (rc == 0)
        rc = write_forced_keys(fd);
    close(fd);
    return rc;
}

static int write_config(struct mx_daemon *d, const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(d->conf_path, sizeof d->conf_path, "%s/muxd-it-XXXXXX", dir && *dir ? dir : "/tmp");
    if (!mkdtemp(d->conf_path))
        return -errno;
    strcat(d->conf_path, "/muxd.conf");
    return write_config_file(d->conf_path, O_EXCL, text);
}

static void log_append(struct mx_daemon *d, const char *p, size_t n)
{
    pthread_mutex_lock(&d->mu);
    if (d->log_len + n + 1 > d->log_cap) {
        size_t cap = d->log_cap ? d->log_cap : 65536;
        while (cap < d->log_len + n + 1)
            cap *= 2;
        char *grown = realloc(d->log, cap);
        if (!grown) {
            /* Keep what we have; losing log tail beats crashing the test. */
            pthread_mutex_unlock(&d->mu);
            return;
        }
        d->log = grown;
        d->log_cap = cap;
    }
    memcpy(d->log + d->log_len, p, n);
    d->log_len += n;
    d->log[d->log_len] = '\0';
    pthread_cond_broadcast(&d->grew);
    pthread_mutex_unlock(&d->mu);
}

/* Drains the pipe continuously so the daemon never blocks on a full one. */
static void *log_reader(void *arg)
{
    struct mx_daemon *d = arg;
    char buf[65536];
    for (;;) {
        ssize_t r = read(d->log_fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        log_append(d, buf, (size_t)r);
        if (getenv("MUXD_TEST_ECHO_LOG"))
            (void)!write(2, buf, (size_t)r);
    }
    pthread_mutex_lock(&d->mu);
    d->log_eof = true;
    pthread_cond_broadcast(&d->grew);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static int init_sync(struct mx_daemon *d)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->grew, &ca);
    pthread_condattr_destroy(&ca);
    return pthread_mutex_init(&d->mu, NULL);
}

static int build_argv(char **argv, struct mx_daemon *d, const char *const *prefix,
                      const char *bin, const char *const *extra)
{
    int n = 0;
    for (; prefix && *prefix; prefix++) {
        if (n >= MX_MAX_ARGS - 8)
            return -E2BIG;
        argv[n++] = (char *)*prefix;
    }
    argv[n++] = (char *)bin;
    argv[n++] = "-c";
    argv[n++] = d->conf_path;
    /* CTest runs the suite once per backend: the flag beats the file. */
    const char *backend = getenv("MUXD_TEST_BACKEND");
    if (backend && *backend) {
        argv[n++] = "-b";
        argv[n++] = (char *)backend;
    }
    for (; extra && *extra; extra++) {
        if (n >= MX_MAX_ARGS - 1)
            return -E2BIG;
        argv[n++] = (char *)*extra;
    }
    argv[n] = NULL;
    return 0;
}

static int spawn(struct mx_daemon *d, char **argv)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    /* A descriptor ceiling from birth (MX_TEST_NOFILE): io_uring's accept
     * takes the limit when it is armed, so lowering it later from outside
     * would not reach it. */
    const char *nf = getenv("MX_TEST_NOFILE");
    long nofile = nf ? atol(nf) : 0;
    pid_t pid = mx_child_spawn(argv, p[1], nofile);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return pid;
    }
    d->pid = pid;
    d->log_fd = p[0];
    return 0;
}

int daemon_start_argv(struct mx_daemon *d, const char *config_text,
                      const char *const *extra)
{
    return daemon_start_under(d, config_text, NULL, extra);
}

int daemon_start_under(struct mx_daemon *d, const char *config_text,
                       const char *const *prefix, const char *const *extra)
{
    const char *bin = getenv("MUXD_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "harness: MUXD_BIN is not set\n");
        return -ENOENT;
    }
    memset(d, 0, sizeof *d);
    d->log_fd = -1;
    char *argv[MX_MAX_ARGS];
    int rc = write_config(d, config_text);
    if (rc == 0)
        rc = build_argv(argv, d, prefix, bin, extra);
    if (rc == 0)
        rc = init_sync(d) ? -ENOMEM : 0;
    if (rc == 0 && (rc = spawn(d, argv)) == 0) {
        d->active = true;
        live_add(d);
        if (pthread_create(&d->reader, NULL, log_reader, d) == 0)
            d->reader_running = true;
        else
            rc = -EAGAIN;
    }
    if (rc != 0 && d->conf_path[0])
        remove_config(d);
    return rc;
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool daemon_wait_log_from(struct mx_daemon *d, size_t from, const char *needle,
                          int timeout_ms)
{
    struct timespec until = deadline_after(timeout_ms);
    bool found = false;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        if (d->log && from < d->log_len && strstr(d->log + from, needle)) {
            found = true;
            break;
        }
        if (d->log_eof)
            break;
        if (pthread_cond_timedwait(&d->grew, &d->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&d->mu);
    return found;
}

char *daemon_log(struct mx_daemon *d)
{
    pthread_mutex_lock(&d->mu);
    char *copy = strdup(d->log ? d->log : "");
    pthread_mutex_unlock(&d->mu);
    return copy;
}

size_t daemon_log_len(struct mx_daemon *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->log_len;
    pthread_mutex_unlock(&d->mu);
    return n;
}

int daemon_log_count(struct mx_daemon *d, const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&d->mu);
    for (const char *p = d->log; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* Parses "ADDR:PORT" ending at the first space/newline after line. */
static int port_of(const char *line)
{
    size_t span = strcspn(line, " \n");
    const char *colon = NULL;
    for (const char *p = line; p < line + span; p++)
        if (*p == ':')
            colon = p;
    if (!colon)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return (end == colon + 1 || port <= 0 || port > 65535) ? -1 : (int)port;
}

int daemon_port(struct mx_daemon *d, const char *listener)
{
    char needle[160];
    snprintf(needle, sizeof needle, "listener %s on ", listener);
    int port = -1;
    pthread_mutex_lock(&d->mu);
    const char *hit = d->log ? strstr(d->log, needle) : NULL;
    if (hit)
        port = port_of(hit + strlen(needle));
    pthread_mutex_unlock(&d->mu);
    return port;
}

int daemon_signal(struct mx_daemon *d, int sig)
{
    /* pid 0 would signal our own process group. */
    if (d->pid <= 0)
        return -ESRCH;
    return kill(d->pid, sig) < 0 ? -errno : 0;
}

bool daemon_alive(struct mx_daemon *d)
{
    return daemon_wait_exit(d, 0) == -1;
}

static void wait_log_eof(struct mx_daemon *d, int timeout_ms)
{
    struct timespec until = deadline_after(timeout_ms);
    pthread_mutex_lock(&d->mu);
    while (!d->log_eof &&
           pthread_cond_timedwait(&d->grew, &d->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&d->mu);
}

int daemon_wait_exit(struct mx_daemon *d, int timeout_ms)
{
    if (d->pid <= 0)
        return d->status;
    int64_t until = mx_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid) {
            d->pid = 0;
            d->status = st;
            /* So that the last log lines are in when the caller looks. */
            wait_log_eof(d, 2000);
            return st;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (mx_now_ms() >= until)
            return -1;
        mx_sleep_ms(5);
    }
}

int daemon_stop(struct mx_daemon *d, int timeout_ms)
{
    if (!d->active)
        return -1;
    int st = d->status;
    if (d->pid > 0) {
        daemon_signal(d, SIGTERM);
        st = daemon_wait_exit(d, timeout_ms);
        if (st == -1) {
            fprintf(stderr, "harness: muxd pid %d ignored SIGTERM for %d ms, "
                    "killing it\n", (int)d->pid, timeout_ms);
            daemon_signal(d, SIGKILL);
            st = daemon_wait_exit(d, 10000);
        }
    }
    daemon_cleanup(d);
    return st;
}

void daemon_cleanup(struct mx_daemon *d)
{
    if (!d->active)
        return;
    if (d->pid > 0) {
        daemon_signal(d, SIGKILL);
        int st = -1;
        while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
            ;
        d->pid = 0;
        d->status = st;
    }
    if (d->reader_running)
        pthread_join(d->reader, NULL);
    d->reader_running = false;
    /* Sanitizer reports of a daemon no test looked at would go unseen. */
    if (d->log && strstr(d->log, "Sanitizer"))
        mx_dump_logs();
    close(d->log_fd);
    d->log_fd = -1;
    remove_config(d);
    live_remove(d);
    d->active = false;
    free(d->log);
    d->log = NULL;
    d->log_len = d->log_cap = 0;
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->grew);
}

void mx_dump_logs(void)
{
    for (int i = 0; i < MX_MAX_LIVE; i++) {
        struct mx_daemon *d = live[i];
        if (!d)
            continue;
        char *log = daemon_log(d);
        size_t len = strlen(log);
        /* The tail is where a failure shows; whole logs can be huge. */
        size_t from = len > 16384 ? len - 16384 : 0;
        fprintf(stderr, "---- muxd log (pid %d, last %zu of %zu bytes) ----\n%s"
                "---- end of muxd log ----\n", (int)d->pid, len - from, len,
                log + from);
        free(log);
    }
}

void mx_init(void)
{
    signal(SIGPIPE, SIG_IGN);
}

void mx_fini(void)
{
    for (int i = 0; i < MX_MAX_LIVE; i++)
        if (live[i])
            daemon_cleanup(live[i]);
}

struct mx_daemon *mx_boot(const char *config_text)
{
    return mx_boot_under(config_text, NULL);
}

struct mx_daemon *mx_boot_under(const char *config_text, const char *const *prefix)
{
    static struct mx_daemon pool[MX_MAX_LIVE];
    struct mx_daemon *d = NULL;
    for (int i = 0; i < MX_MAX_LIVE && !d; i++)
        if (!pool[i].active)
            d = &pool[i];
    cr_assert(d, "harness: too many daemons in one test");
    int rc = daemon_start_under(d, config_text, prefix, NULL);
    cr_assert(rc == 0, "daemon_start failed: %s", strerror(-rc));
    bool up = daemon_wait_log(d, " started: ", 10000);
    if (!up && daemon_log_count(d, "cannot run here") > 0) {
        daemon_cleanup(d);
        cr_skip_test("backend %s cannot run on this machine", getenv("MUXD_TEST_BACKEND"));
    }
    MX_REQUIRE(up, "muxd did not log 'started:' within 10 s");
    return d;
}

int mx_port(struct mx_daemon *d, const char *listener)
{
    int port = daemon_port(d, listener);
    MX_REQUIRE(port > 0, "no 'listener %s on ...:PORT' line", listener);
    return port;
}

void mx_require_clean_log(struct mx_daemon *d)
{
    static const char *const marks[] = { "ERROR: AddressSanitizer",
        "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer", "runtime error:" };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        MX_REQUIRE(daemon_log_count(d, marks[i]) == 0, "sanitizer report in the "
                   "muxd log: '%s'", marks[i]);
}

size_t mx_rewrite_and_hup(struct mx_daemon *d, const char *text)
{
    int err = write_config_file(d->conf_path, O_TRUNC, text);
    MX_REQUIRE(err == 0, "cannot rewrite %s: %s", d->conf_path, strerror(-err));
    size_t from = daemon_log_len(d);
    MX_REQUIRE(daemon_signal(d, SIGHUP) == 0, "SIGHUP failed");
    return from;
}

void mx_stop_ok(struct mx_daemon *d, int timeout_ms)
{
    daemon_signal(d, SIGTERM);
    int st = daemon_wait_exit(d, timeout_ms);
    MX_REQUIRE(st != -1, "muxd still running %d ms after SIGTERM", timeout_ms);
    MX_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "muxd exit status: %s %d", WIFEXITED(st) ? "exit" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    mx_require_clean_log(d);
}
