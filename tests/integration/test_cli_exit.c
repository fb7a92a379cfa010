/* test_cli_exit.c - exit status and messages of the real binary ($MUXD_BIN)
 * for command-line and config mistakes, --check-config and --version. None
 * of these runs start a server, so each must end at once. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RUN_TIMEOUT_MS 10000

struct run {
    int status;          /* exit status, or -1 if it did not exit on its own */
    char out[16384];
    char err[16384];
};

struct sink {
    int fd;
    char *buf;
    size_t len, cap;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads what is there; false once the pipe is at EOF. Output past cap is
 * drained and dropped so the child never blocks on a full pipe. */
static bool drain(struct sink *s)
{
    char tmp[4096];
    ssize_t n = read(s->fd, tmp, sizeof tmp);

    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    size_t keep = (size_t)n < s->cap - 1 - s->len ? (size_t)n : s->cap - 1 - s->len;
    memcpy(s->buf + s->len, tmp, keep);
    s->len += keep;
    s->buf[s->len] = '\0';
    return true;
}

static void collect(pid_t pid, struct sink *sinks)
{
    long long deadline = now_ms() + RUN_TIMEOUT_MS;
    struct pollfd p[2] = { { sinks[0].fd, POLLIN, 0 }, { sinks[1].fd, POLLIN, 0 } };
    int live = 2;

    while (live > 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            cr_log_error("muxd did not exit within %d ms; killed", RUN_TIMEOUT_MS);
            break;
        }
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            cr_assert_fail("poll: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (p[i].fd >= 0 && p[i].revents && !drain(&sinks[i])) {
                p[i].fd = -1;
                live--;
            }
        }
    }
}

/* Runs $MUXD_BIN with args (NULL-terminated) and waits for it. */
static void run_muxd(struct run *r, const char *const *args)
{
    const char *bin = getenv("MUXD_BIN");
    char *argv[16] = { (char *)bin };
    int out[2], err[2], status;
    posix_spawn_file_actions_t fa;
    pid_t pid;

    cr_assert_not_null(bin, "MUXD_BIN is not set");
    for (int i = 0; args[i]; i++) {
        cr_assert_lt(i + 2, 16);
        argv[i + 1] = (char *)args[i];
    }
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(err), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    cr_assert_eq(rc, 0, "posix_spawn %s: %s", bin, strerror(rc));

    struct sink sinks[2] = {
        { out[0], r->out, 0, sizeof r->out }, { err[0], r->err, 0, sizeof r->err },
    };
    r->out[0] = r->err[0] = '\0';
    collect(pid, sinks);
    close(out[0]);
    close(err[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char conf[64];

static const char *write_conf(const char *text)
{
    strcpy(conf, "/tmp/muxd-cli-XXXXXX");
    int fd = mkstemp(conf);
    cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return conf;
}

#define GOOD_CONF "[server]\nworkers = 2\n[listener echo]\nlisten = 127.0.0.1:0\nmode = line\n"

/* The value of "key = value" in an INI text, or NULL. */
static const char *ini_value(const char *text, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);

    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, key, klen) == 0 && (l[klen] == ' ' || l[klen] == '=')) {
            const char *v = strchr(l, '=');
            if (!v)
                return NULL;
            v += 1 + strspn(v + 1, " ");
            snprintf(out, len, "%.*s", (int)strcspn(v, "\n"), v);
            return out;
        }
    }
    return NULL;
}

Test(cli_exit, bad_config_value)
{
    struct run r;
    char want[256];

    write_conf("[server]\nworkers = 4\n[limits]\nmax_line = abc\n" GOOD_CONF);
    run_muxd(&r, (const char *[]){ "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 2, "exit %d, stderr:\n%s", r.status, r.err);
    snprintf(want, sizeof want, "%s:4: [limits] max_line: expected a size like 8k, got 'abc'\n",
             conf);
    cr_assert_not_null(strstr(r.err, want), "stderr lacks \"%s\":\n%s", want, r.err);
}

Test(cli_exit, unknown_key_and_section)
{
    struct run r;
    char want[256];

    write_conf(GOOD_CONF "[limitz]\n");
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 2, "exit %d, stderr:\n%s", r.status, r.err);
    snprintf(want, sizeof want, "%s:6: [limitz]: unknown section", conf);
    cr_assert_not_null(strstr(r.err, want), "stderr:\n%s", r.err);
    cr_assert_eq(r.out[0], '\0', "stdout:\n%s", r.out);
}

Test(cli_exit, check_config_prints_settings)
{
    struct run r;
    char v[64];

    write_conf(GOOD_CONF);
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_eq(ini_value(r.out, "workers", v, sizeof v), "2", "stdout:\n%s", r.out);
    cr_assert_str_eq(ini_value(r.out, "backend", v, sizeof v), "auto", "stdout:\n%s", r.out);
    cr_assert_str_eq(ini_value(r.out, "mode", v, sizeof v), "line", "stdout:\n%s", r.out);
    cr_assert_not_null(strstr(r.out, "[listener echo]"), "stdout:\n%s", r.out);
}

Test(cli_exit, check_config_with_overrides)
{
    struct run r;
    char v[64];

    write_conf(GOOD_CONF);
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, "-w", "3", "--backend",
                                   "epoll", NULL });
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_eq(ini_value(r.out, "workers", v, sizeof v), "3", "stdout:\n%s", r.out);
    cr_assert_str_eq(ini_value(r.out, "backend", v, sizeof v), "epoll", "stdout:\n%s", r.out);

    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, "-b", "nope", NULL });
    unlink(conf);
    cr_assert_eq(r.status, 2, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "muxd: -b/--backend: expected one of auto, epoll, io_uring, poll, got 'nope'"),
                       "stderr:\n%s", r.err);
}

/* What --check-config prints is a config muxd accepts as it is. */
Test(cli_exit, check_config_output_loads_back)
{
    struct run first, second;

    write_conf(GOOD_CONF);
    run_muxd(&first, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(first.status, 0, "stderr:\n%s", first.err);
    cr_assert_not_null(strstr(first.out, "[listener echo]"), "stdout:\n%s", first.out);
    write_conf(first.out);
    run_muxd(&second, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(second.status, 0, "stderr:\n%s", second.err);
    cr_assert_str_eq(second.out, first.out);
}

/* --check-config output goes to terminals and bug reports. */
Test(cli_exit, check_config_hides_the_password)
{
    struct run r;
    char v[64];

    write_conf("[listener irc]\nlisten = 127.0.0.1:0\nprotocol = chat\npassword = hunter2\n");
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_null(strstr(r.out, "hunter2"), "stdout:\n%s", r.out);
    cr_assert_str_eq(ini_value(r.out, "password", v, sizeof v), "********", "%s", r.out);
}

/* Start-up binds numeric addresses only; --check-config must not pass a
 * file that start-up then refuses. */
Test(cli_exit, check_config_refuses_a_host_name)
{
    struct run r;

    write_conf("[listener echo]\nlisten = localhost:7000\n");
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 2, "exit %d, stdout:\n%s", r.status, r.out);
    cr_assert_not_null(strstr(r.err, "[listener echo] listen: expected a numeric address "
                                     "(host names are not looked up), got 'localhost:7000'"),
                       "stderr:\n%s", r.err);
}

/* Criterion runs each test in a process of its own: the lowered limit is
 * this test's and muxd's only. */
Test(cli_exit, check_config_warns_of_the_fd_ceiling)
{
    struct run r;
    struct rlimit rl = { 256, 256 };

    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
    write_conf(GOOD_CONF "[limits]\nmax_connections = 5000\n");
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "muxd: warning: [limits] max_connections = 5000, but this "
                                     "process may open at most 256 descriptors"),
                       "stderr:\n%s", r.err);

    write_conf(GOOD_CONF "[limits]\nmax_connections = 100\n");
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 0);
    cr_assert_null(strstr(r.err, "warning"), "stderr:\n%s", r.err);
}

/* workers = auto is the CPUs this process may run on, not those online. */
Test(cli_exit, workers_auto_follows_the_affinity_mask)
{
    struct run r;
    cpu_set_t one;

    CPU_ZERO(&one);
    cr_assert_eq(sched_getaffinity(0, sizeof one, &one), 0);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &one)) {
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            break;
        }
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0, "%s", strerror(errno));
    write_conf("[server]\nworkers = auto\n[listener echo]\nlisten = 127.0.0.1:0\n");
    run_muxd(&r, (const char *[]){ "--check-config", "-c", conf, NULL });
    unlink(conf);
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.out, "\n; workers in use: 1\n"), "stdout:\n%s", r.out);
}

Test(cli_exit, version)
{
    struct run r;

    run_muxd(&r, (const char *[]){ "--version", NULL });
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_eq(r.out, "muxd 0.1.0\n");
}

Test(cli_exit, help)
{
    struct run r;

    run_muxd(&r, (const char *[]){ "--help", NULL });
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.out, "usage: muxd"), "stdout:\n%s", r.out);
}

Test(cli_exit, unknown_flag)
{
    struct run r;

    run_muxd(&r, (const char *[]){ "--bogus", NULL });
    cr_assert_eq(r.status, 2, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "unknown option '--bogus'"), "stderr:\n%s", r.err);
    cr_assert_not_null(strstr(r.err, "usage: muxd"), "stderr:\n%s", r.err);
    cr_assert_not_null(strstr(r.err, "--check-config"), "stderr:\n%s", r.err);
}

Test(cli_exit, bad_workers_flag)
{
    struct run r;

    run_muxd(&r, (const char *[]){ "-w", "0", "--check-config", NULL });
    cr_assert_eq(r.status, 2, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "-w/--workers: expected a number from 1 to 256, got '0'"),
                       "stderr:\n%s", r.err);
}

Test(cli_exit, missing_config_file)
{
    struct run r;
    const char *missing = "/tmp/muxd-no-such-dir/none.conf";

    run_muxd(&r, (const char *[]){ "-c", missing, NULL });
    cr_assert_eq(r.status, 2, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "/tmp/muxd-no-such-dir/none.conf: cannot open: "
                              "No such file or directory"), "stderr:\n%s", r.err);
}
