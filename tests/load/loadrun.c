/* loadrun.c - running programs and reading JSON for the tests (see
 * loadrun.h). */
#include "loadrun.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct sink {
    int fd;
    char *buf;
    size_t len, cap;
};

/* Reads what is there; false at EOF. */
static bool drain(struct sink *s)
{
    char tmp[4096];
    ssize_t n = read(s->fd, tmp, sizeof tmp);
    if (n <= 0)
        return n < 0 && errno == EINTR;
    if (s->len + (size_t)n + 1 > s->cap) {
        s->cap = (s->len + (size_t)n + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, tmp, (size_t)n);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return true;
}

static _Noreturn void child(char *const argv[], int out, int err, long nofile)
{
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    if (nofile > 0) {
        struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Collects both pipes until EOF on both or the deadline. */
static bool collect(struct sink s[2], long deadline)
{
    bool open[2] = { true, true };
    while (open[0] || open[1]) {
        long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd p[2] = { { .fd = open[0] ? s[0].fd : -1, .events = POLLIN },
                               { .fd = open[1] ? s[1].fd : -1, .events = POLLIN } };
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            return false;
        for (int i = 0; i < 2; i++)
            if (p[i].revents && !drain(&s[i]))
                open[i] = false;
    }
    return true;
}

int lr_run(char *const argv[], int timeout_ms, long nofile, struct lr_out *r)
{
    int po[2], pe[2];
    *r = (struct lr_out){ .status = -1 };
    if (pipe(po) < 0 || pipe(pe) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(po[0]);
        close(pe[0]);
        child(argv, po[1], pe[1], nofile);
    }
    close(po[1]);
    close(pe[1]);
    struct sink s[2] = { { .fd = po[0] }, { .fd = pe[0] } };
    bool finished = pid > 0 && collect(s, now_ms() + timeout_ms);
    int st = 0;
    if (pid > 0 && !finished)
        kill(pid, SIGKILL);
    if (pid > 0)
        waitpid(pid, &st, 0);
    close(po[0]);
    close(pe[0]);
    r->out = s[0].buf ? s[0].buf : strdup("");
    r->err = s[1].buf ? s[1].buf : strdup("");
    if (finished)
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return pid > 0 ? 0 : -1;
}

void lr_free(struct lr_out *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void lr_log(char *const argv[], const struct lr_out *r)
{
    char cmd[1024] = "";
    for (int i = 0; argv[i]; i++) {
        strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 2);
        strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
    }
    cr_log_info("ran: %s\nstatus %d\nstdout: %s\nstderr: %s", cmd, r->status,
                r->out ? r->out : "", r->err ? r->err : "");
}

const char *lr_bin(const char *env)
{
    const char *p = getenv(env);
    cr_assert(p && *p, "%s is not set (run through ctest)", env);
    return p;
}

int lr_server_start(char *const argv[], pid_t *pid)
{
    int po[2];
    if (pipe(po) < 0)
        return -1;
    *pid = fork();
    if (*pid == 0) {
        dup2(po[1], STDOUT_FILENO);
        close(po[0]);
        close(po[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    char line[64] = "";
    size_t n = 0;
    struct pollfd p = { .fd = po[0], .events = POLLIN };
    while (n < sizeof line - 1 && !strchr(line, '\n') && poll(&p, 1, 5000) > 0) {
        ssize_t k = read(po[0], line + n, sizeof line - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        line[n] = '\0';
    }
    close(po[0]);
    int port = -1;
    if (sscanf(line, "port %d", &port) != 1)
        port = -1;
    return port;
}

void lr_server_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

/* Where the value of path starts, or NULL. */
static const char *find_path(const char *json, const char *path)
{
    const char *p = json;
    char part[64];
    while (*path) {
        size_t n = strcspn(path, ".");
        if (n + 4 > sizeof part)
            return NULL;
        snprintf(part, sizeof part, "\"%.*s\":", (int)n, path);
        p = strstr(p, part);
        if (!p)
            return NULL;
        p += strlen(part);
        path += n + (path[n] == '.');
    }
    return p;
}

bool lr_json_num(const char *json, const char *path, double *v)
{
    const char *p = find_path(json, path);
    char *end;
    if (!p)
        return false;
    double d = strtod(p, &end);
    if (end == p)
        return false;
    *v = d;
    return true;
}

bool lr_json_bool(const char *json, const char *path, bool *v)
{
    const char *p = find_path(json, path);
    if (p && strncmp(p, "true", 4) == 0)
        *v = true;
    else if (p && strncmp(p, "false", 5) == 0)
        *v = false;
    else
        return false;
    return true;
}
