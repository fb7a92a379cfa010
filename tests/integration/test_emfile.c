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

Test(emfile, acceptor_sheds_without_spinning_and_recovers)
{
    /* A small descriptor table from birth: the daemon cannot raise a hard
     * limit, and io_uring's accept keeps the limit it was armed with. */
    char ceiling[16];
    snprintf(ceiling, sizeof ceiling, "%d", FD_CEILING);
    setenv("MX_TEST_NOFILE", ceiling, 1);
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\n");
    unsetenv("MX_TEST_NOFILE");
    int port = mx_port(d, "echo");
    char want[32];
    snprintf(want, sizeof want, "fd-limit=%d", FD_CEILING);
    MX_REQUIRE(daemon_log_count(d, want) == 1, "daemon did not start with the ceiling");

    int fds[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = mx_connect(port);
        MX_REQUIRE(fds[i] >= 0, "connect %d: %s", i, strerror(-fds[i]));
    }
    mx_sleep_ms(300);
    long t0 = mx_cpu_ticks(d->pid);
    mx_sleep_ms(2000);
    long used = mx_cpu_ticks(d->pid) - t0;
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
