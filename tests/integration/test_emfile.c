/* test_emfile.c - out of descriptors, the acceptor sheds connections
 * without spinning, logs at most once a second, and recovers. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

TestSuite(emfile, .init = mx_init, .fini = mx_fini, .timeout = 60);

#define CLIENTS 60
#define FD_CEILING 32

/* utime + stime of pid, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut, st;
    /* fields after the comm: state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                     &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

Test(emfile, acceptor_sheds_without_spinning_and_recovers)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\n");
    int port = mx_port(d, "echo");
    /* Squeeze the running daemon's descriptor table from outside. */
    struct rlimit rl = { FD_CEILING, FD_CEILING };
    MX_REQUIRE(prlimit(d->pid, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s", strerror(errno));

    int fds[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = mx_connect(port);
        MX_REQUIRE(fds[i] >= 0, "connect %d: %s", i, strerror(-fds[i]));
    }
    mx_sleep_ms(300);
    long t0 = cpu_ticks(d->pid);
    mx_sleep_ms(2000);
    long used = cpu_ticks(d->pid) - t0;
    long hz = sysconf(_SC_CLK_TCK);
    /* A spinning acceptor burns a whole core: ~2 s of CPU in 2 s. */
    MX_REQUIRE(used >= 0 && used < hz / 2, "daemon used %ld ticks of CPU in 2 s idle", used);

    int served = 0, shed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        if (mx_echo_roundtrip(fds[i], "ping", 4, 2000) == 0)
            served++;
        else
            shed++;
    }
    cr_log_info("fd ceiling %d: %d clients served, %d shed", FD_CEILING, served, shed);
    MX_REQUIRE(served > 0 && shed > 0, "served %d shed %d", served, shed);
    int logs = daemon_log_count(d, "shedding connections");
    MX_REQUIRE(logs >= 1 && logs <= 4, "fd exhaustion logged %d times in ~2.5 s", logs);

    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    mx_sleep_ms(300);
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0 && mx_echo_roundtrip(fd, "back", 4, 5000) == 0,
               "no service after descriptors came back");
    close(fd);
    mx_stop_ok(d, 10000);
}
