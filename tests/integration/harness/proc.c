/* proc.c - what /proc says about the daemon and its sockets, and the
 * start and end of a test's helper processes. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

long mx_rss_kb(pid_t pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

long mx_cpu_ticks(pid_t pid)
{
    if (pid <= 0)
        return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The comm may hold blanks and parentheses: fields count from the last ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long ut, st;
    /* after the comm: state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                     &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

static int read_comm(pid_t pid, const char *tid, char *out, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
    return ok ? 0 : -1;
}

int mx_thread_names(pid_t pid, char *buf, size_t len)
{
    if (pid <= 0 || len == 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int n = 0;
    size_t used = 0;
    buf[0] = '\0';
    struct dirent *e;
    while ((e = readdir(dir))) {
        char name[64];
        if (e->d_name[0] == '.' || read_comm(pid, e->d_name, name, sizeof name))
            continue;
        int w = snprintf(buf + used, len - used, "%s\n", name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
        n++;
    }
    closedir(dir);
    return n;
}

static void *rss_sampler(void *arg)
{
    struct mx_rss_watch *w = arg;
    while (!w->stop) {
        long kb = mx_rss_kb(w->pid);
        if (kb > w->max_kb)
            w->max_kb = kb;
        w->samples++;
        mx_sleep_ms(20);
    }
    return NULL;
}

int mx_rss_watch_start(struct mx_rss_watch *w, pid_t pid)
{
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->max_kb = -1;
    return -pthread_create(&w->thread, NULL, rss_sampler, w);
}

long mx_rss_watch_stop(struct mx_rss_watch *w)
{
    w->stop = true;
    pthread_join(w->thread, NULL);
    /* A short test may end between two samples. */
    long kb = mx_rss_kb(w->pid);
    if (kb > w->max_kb)
        w->max_kb = kb;
    return w->max_kb;
}

/* rx_queue of the socket local_port -> remote_port in /proc/net/tcp, or -1
 * if there is no such socket. */
static long proc_rx_queue(unsigned local_port, unsigned remote_port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return -1;
    char line[512];
    long rx = -1;
    while (rx < 0 && fgets(line, sizeof line, f)) {
        unsigned la, lp, ra, rp, st;
        unsigned long tx, rq;
        if (sscanf(line, " %*d: %x:%x %x:%x %x %lx:%lx", &la, &lp, &ra, &rp,
                   &st, &tx, &rq) == 7 && lp == local_port && rp == remote_port)
            rx = (long)rq;
    }
    fclose(f);
    return rx;
}

static int ports_of(int fd, unsigned *mine, unsigned *peer)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0 || a.sin_family != AF_INET)
        return -1;
    *mine = ntohs(a.sin_port);
    len = sizeof a;
    if (getpeername(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    *peer = ntohs(a.sin_port);
    return 0;
}

long mx_peer_rx_queue(int fd)
{
    unsigned mine, peer;
    if (ports_of(fd, &mine, &peer) < 0)
        return -1;
    return proc_rx_queue(peer, mine);
}

bool mx_wait_peer_consumed(int fd, int timeout_ms)
{
    unsigned mine, peer;
    if (ports_of(fd, &mine, &peer) < 0)
        return false;
    int64_t until = mx_now_ms() + timeout_ms;
    do {
        int unsent = -1;
        if (ioctl(fd, SIOCOUTQ, &unsent) == 0 && unsent == 0 &&
            proc_rx_queue(peer, mine) == 0)
            return true;
        mx_sleep_ms(10);
    } while (mx_now_ms() < until);
    return false;
}

/* Runs in the forked child: only async-signal-safe calls until exec. */
static void child_exec(pid_t parent, char *const argv[], int out, long nofile)
{
    if (nofile > 0) {
        struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* If the test process dies (timeout, crash), take the child along. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
    }
    /* The test ignores SIGPIPE; the child starts from the defaults and
     * must cope on its own. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    closefrom(3);
    execv(argv[0], argv);
    static const char pre[] = "harness: exec of ", post[] = " failed\n";
    (void)!write(2, pre, sizeof pre - 1);
    (void)!write(2, argv[0], strlen(argv[0]));
    (void)!write(2, post, sizeof post - 1);
    _exit(127);
}

pid_t mx_child_spawn(char *const argv[], int out, long nofile)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_exec(parent, argv, out, nofile);
    return pid;
}

void mx_child_cleanup(struct mx_child *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
    if (c->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", c->dir);
        if (system(cmd) != 0)
            cr_log_info("could not remove %s", c->dir);
        c->dir[0] = '\0';
    }
}
