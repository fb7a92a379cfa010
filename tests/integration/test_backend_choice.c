/* test_backend_choice.c - which backend the daemon runs on: auto prefers
 * io_uring and falls back to epoll (saying why), MUXD_DISABLE_IO_URING=1
 * forces the fallback, -b NAME takes that backend or exits 2, and
 * --check-config names the backend in use. Runs once, not per backend:
 * the suite clears MUXD_TEST_BACKEND so the harness adds no -b. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DISABLE_VAR "MUXD_DISABLE_IO_URING"

static void suite_init(void)
{
    mx_init();
    unsetenv("MUXD_TEST_BACKEND");
    unsetenv(DISABLE_VAR);
}

TestSuite(backend_choice, .init = suite_init, .fini = mx_fini, .timeout = 60);

#define CONF_AUTO                                                       \
    "[server]\nworkers = 2\nbackend = auto\n"                           \
    "[listener echo]\nlisten = 127.0.0.1:0\nmode = raw\n"

/* ---- runs that end by themselves (--check-config, refusals) ----------- */

struct run {
    int status;          /* exit status; -1 if killed or not exited */
    char out[16384];
    char err[4096];
};

static char conf_path[64];

static void conf_cleanup(void)
{
    if (conf_path[0])
        unlink(conf_path);
    conf_path[0] = '\0';
}

static const char *write_conf(const char *text)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/muxd-bc-XXXXXX");
    int fd = mkstemp(conf_path);
    cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
    ssize_t len = (ssize_t)strlen(text);
    cr_assert_eq(write(fd, text, (size_t)len), len);
    close(fd);
    return conf_path;
}

static void sink_read(int fd, char *buf, size_t cap, size_t *len, bool *open_)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        *open_ = false;
        return;
    }
    size_t keep = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
    memcpy(buf + *len, tmp, keep);
    *len += keep;
    buf[*len] = '\0';
}

/* Runs "$MUXD_BIN args..." with MUXD_DISABLE_IO_URING=1 in its environment
 * if disable, without the variable otherwise; stdout and stderr apart.
 * Killed (by pid) if it is not done within 10 s. */
static void run_muxd(struct run *r, bool disable, const char *const *args)
{
    const char *bin = getenv("MUXD_BIN");
    cr_assert(bin && *bin, "MUXD_BIN is not set");
    char *argv[16] = { (char *)bin };
    for (int i = 0; args[i]; i++) {
        cr_assert_lt(i + 2, 16);
        argv[i + 1] = (char *)args[i];
    }
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **envp = calloc(nenv + 2, sizeof *envp);
    cr_assert_not_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], DISABLE_VAR "=", sizeof DISABLE_VAR) != 0)
            envp[k++] = environ[i];
    if (disable)
        envp[k++] = DISABLE_VAR "=1";
    envp[k] = NULL;

    int out[2], err[2];
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(out[1]);
    close(err[1]);
    cr_assert_eq(rc, 0, "posix_spawn %s: %s", bin, strerror(rc));

    size_t olen = 0, elen = 0;
    bool oopen = true, eopen = true;
    r->out[0] = r->err[0] = '\0';
    int64_t until = mx_now_ms() + 10000;
    bool killed = false;
    while (oopen || eopen) {
        int64_t left = until - mx_now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        struct pollfd p[2] = { { oopen ? out[0] : -1, POLLIN, 0 },
                               { eopen ? err[0] : -1, POLLIN, 0 } };
        if (poll(p, 2, (int)left) < 0)
            continue;
        if (p[0].revents)
            sink_read(out[0], r->out, sizeof r->out, &olen, &oopen);
        if (p[1].revents)
            sink_read(err[0], r->err, sizeof r->err, &elen, &eopen);
    }
    close(out[0]);
    close(err[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    r->status = !killed && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The last line of text (without its newline), copied into line. */
static const char *last_line(const char *text, char *line, size_t len)
{
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        n--;
    size_t start = n;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(line, len, "%.*s", (int)(n - start), text + start);
    return line;
}

/* Can io_uring run here? The daemon's own answer, without the variable. */
static bool uring_runs_here(char *why, size_t len)
{
    struct run r;
    run_muxd(&r, false, (const char *[]){ "-c", write_conf(CONF_AUTO), "-b", "io_uring",
                                          "--check-config", NULL });
    conf_cleanup();
    cr_assert(r.status == 0 || r.status == 2, "probe: exit %d, stderr:\n%s", r.status,
              r.err);
    if (r.status != 0) {
        cr_assert_not_null(strstr(r.err, "cannot run here"), "probe stderr:\n%s", r.err);
        snprintf(why, len, "%.400s", r.err);
        why[strcspn(why, "\n")] = '\0';
    }
    return r.status == 0;
}

/* ---- daemons ----------------------------------------------------------- */

/* Static so that mx_fini still reaches it after a failed assertion. */
static struct mx_daemon booted;

/* Starts the daemon with extra arguments (and the variable if disable),
 * waits for its "started:" line. */
static struct mx_daemon *boot_with(const char *config, const char *const *extra, bool disable)
{
    if (disable)
        setenv(DISABLE_VAR, "1", 1);
    int rc = daemon_start_argv(&booted, config, extra);
    /* The child has its copy of the environment by now. */
    unsetenv(DISABLE_VAR);
    cr_assert(rc == 0, "daemon_start failed: %s", strerror(-rc));
    MX_REQUIRE(daemon_wait_log(&booted, " started: ", 10000),
               "muxd did not log 'started:' within 10 s");
    return &booted;
}

static void require_backend(struct mx_daemon *d, const char *name)
{
    char want[64];
    snprintf(want, sizeof want, "started: backend=%s ", name);
    MX_REQUIRE(daemon_log_count(d, want) == 1, "no '%s' in the log", want);
}

static void require_echo(struct mx_daemon *d)
{
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    static const char msg[] = "which backend\0 \xff";
    MX_REQUIRE(mx_echo_roundtrip(fd, msg, sizeof msg, 5000) == 0, "no echo");
    for (uint32_t i = 0; i < 4; i++) {
        char why[160];
        MX_REQUIRE(mx_send_pattern(fd, 40 + i, 16384, NULL) == 0, "send %u", i);
        MX_REQUIRE(mx_recv_pattern(fd, 40 + i, 16384, 5000, why, sizeof why) == 0,
                   "echo %u: %s", i, why);
    }
    close(fd);
}

Test(backend_choice, auto_falls_back_to_epoll_when_disabled)
{
    struct mx_daemon *d = boot_with(CONF_AUTO, NULL, true);
    require_backend(d, "epoll");
    MX_REQUIRE(daemon_log_count(d, "backend epoll: io_uring disabled by "
                                   DISABLE_VAR "=1") == 1,
               "the fallback and its reason are not logged once");
    require_echo(d);
    mx_stop_ok(d, 10000);
}

Test(backend_choice, auto_prefers_io_uring_where_it_runs)
{
    char why[512] = "";
    bool uring = uring_runs_here(why, sizeof why);
    cr_log_info("io_uring %s%s", uring ? "runs here" : "cannot run here: ", why);
    struct mx_daemon *d = boot_with(CONF_AUTO, NULL, false);
    if (uring) {
        require_backend(d, "io_uring");
        MX_REQUIRE(daemon_log_count(d, "backend epoll:") == 0, "fell back to epoll");
    } else {
        require_backend(d, "epoll");
        MX_REQUIRE(daemon_log_count(d, "backend epoll: io_uring unavailable: ") == 1,
                   "the fallback's reason is not logged");
    }
    MX_REQUIRE(daemon_log_count(d, DISABLE_VAR) == 0, "the variable is blamed "
               "although it is not set");
    require_echo(d);
    mx_stop_ok(d, 10000);
}

Test(backend_choice, forced_io_uring_refused_when_disabled)
{
    struct run r;
    run_muxd(&r, true, (const char *[]){ "-c", write_conf(CONF_AUTO), "-b", "io_uring",
                                         NULL });
    conf_cleanup();
    cr_assert_eq(r.status, 2, "exit %d; stderr:\n%s\nstdout:\n%s", r.status, r.err, r.out);
    cr_assert_not_null(strstr(r.err, "muxd: backend io_uring cannot run here: io_uring "
                                     "disabled by " DISABLE_VAR "=1\n"),
                       "stderr:\n%s", r.err);
    cr_assert_null(strstr(r.out, "started"), "stdout:\n%s", r.out);
    cr_assert_null(strstr(r.err, "started"), "stderr:\n%s", r.err);

    /* The config file's backend key is refused the same way. */
    run_muxd(&r, true, (const char *[]){ "-c", write_conf(
        "[server]\nbackend = io_uring\n[listener echo]\nlisten = 127.0.0.1:0\n"), NULL });
    conf_cleanup();
    cr_assert_eq(r.status, 2, "backend = io_uring in the file: exit %d; stderr:\n%s",
                 r.status, r.err);
    cr_assert_not_null(strstr(r.err, "cannot run here"), "stderr:\n%s", r.err);
}

Test(backend_choice, check_config_names_backend_in_use)
{
    char line[256];
    struct run r;
    const char *conf = write_conf(CONF_AUTO);

    run_muxd(&r, true, (const char *[]){ "-c", conf, "--check-config", NULL });
    cr_assert_eq(r.status, 0, "with the variable: exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_eq(last_line(r.out, line, sizeof line),
                     "; backend in use: epoll - io_uring disabled by " DISABLE_VAR "=1",
                     "stdout:\n%s", r.out);

    /* An explicit epoll or poll needs no excuse, with or without it. */
    run_muxd(&r, true, (const char *[]){ "-c", conf, "-b", "epoll", "--check-config",
                                         NULL });
    cr_assert_eq(r.status, 0, "-b epoll: exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_eq(last_line(r.out, line, sizeof line), "; backend in use: epoll",
                     "stdout:\n%s", r.out);
    run_muxd(&r, false, (const char *[]){ "-c", conf, "-b", "poll", "--check-config",
                                          NULL });
    cr_assert_eq(r.status, 0, "-b poll: exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_eq(last_line(r.out, line, sizeof line), "; backend in use: poll",
                     "stdout:\n%s", r.out);

    run_muxd(&r, false, (const char *[]){ "-c", conf, "--check-config", NULL });
    conf_cleanup();
    cr_assert_eq(r.status, 0, "without the variable: exit %d, stderr:\n%s", r.status,
                 r.err);
    last_line(r.out, line, sizeof line);
    char why[512] = "";
    if (uring_runs_here(why, sizeof why))
        cr_assert_str_eq(line, "; backend in use: io_uring", "stdout:\n%s", r.out);
    else {
        static const char want[] = "; backend in use: epoll - io_uring unavailable: ";
        cr_assert(strncmp(line, want, sizeof want - 1) == 0, "stdout:\n%s", r.out);
    }
}

static void explicit_backend(const char *name)
{
    const char *const extra[] = { "-b", name, NULL };
    struct mx_daemon *d = boot_with(CONF_AUTO, extra, false);
    require_backend(d, name);
    MX_REQUIRE(daemon_log_count(d, "backend epoll:") == 0, "an explicit backend "
               "fell back");
    require_echo(d);
    mx_stop_ok(d, 10000);
}

Test(backend_choice, explicit_poll)
{
    explicit_backend("poll");
}

Test(backend_choice, explicit_epoll)
{
    explicit_backend("epoll");
}

Test(backend_choice, explicit_io_uring)
{
    char why[512] = "";
    if (!uring_runs_here(why, sizeof why))
        cr_skip_test("io_uring cannot run here: %s", why);
    explicit_backend("io_uring");
}
