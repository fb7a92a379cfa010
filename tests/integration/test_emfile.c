/* test_emfile.c - out of descriptors, the acceptor sheds connections
 * without spinning, logs one line when a burst of shedding starts and one
 * with its count when accepts succeed again, and recovers. */
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
#define START "shedding connections until descriptors free up"
#define END "accept: descriptors free again: "

/* Connects CLIENTS clients into fds and sorts them by an echo: served, or
 * shed (closed by the daemon). Returns how many were shed. */
static int connect_and_sort(int port, int fds[CLIENTS], int *served)
{
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = mx_connect(port);
        MX_REQUIRE(fds[i] >= 0, "connect %d: %s", i, strerror(-fds[i]));
    }
    *served = 0;
    int shed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        if (mx_echo_roundtrip(fds[i], "ping", 4, 2000) == 0)
            ++*served;
        else
            shed++;
    }
    return shed;
}

/* Closes them all and has a new client served: the end of the burst,
 * whose line must then say at least `shed` connections were refused. */
static void end_burst(struct mx_daemon *d, int port, int fds[CLIENTS], int nth, int shed)
{
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    mx_sleep_ms(300);
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0 && mx_echo_roundtrip(fd, "back", 4, 5000) == 0,
               "no service after descriptors came back");
    close(fd);
    /* The log is read by another thread: give the line a moment. */
    for (int64_t until = mx_now_ms() + 5000;
         daemon_log_count(d, END) < nth && mx_now_ms() < until;)
        mx_sleep_ms(20);
    MX_REQUIRE(daemon_log_count(d, END) == nth, "%d end-of-burst lines, want %d",
               daemon_log_count(d, END), nth);
    MX_REQUIRE(daemon_log_count(d, START) == nth, "%d start lines after burst %d",
               daemon_log_count(d, START), nth);
    char *text = daemon_log(d), *line = NULL;
    for (char *p = text; (p = strstr(p, END)); p++)
        line = p;
    long count = line ? atol(line + strlen(END)) : -1;
    MX_REQUIRE(line && strstr(line, " connections refused in that burst; admitting again"),
               "the end-of-burst line: %.120s", line ? line : "(none)");
    free(text);
    MX_REQUIRE(count >= shed, "burst %d: the end line counts %ld refusals, the test saw %d",
               nth, count, shed);
    cr_log_info("burst %d: %d shed by the test's count, %ld in the log", nth, shed, count);
}

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
    /* One line for the whole burst, and no end while it lasts. */
    MX_REQUIRE(daemon_log_count(d, START) == 1, "shedding logged %d times in one burst",
               daemon_log_count(d, START));
    MX_REQUIRE(daemon_log_count(d, END) == 0, "an end-of-burst line while still shedding");
    end_burst(d, port, fds, 1, shed);

    /* A second burst gets its own pair of lines. */
    shed = connect_and_sort(port, fds, &served);
    MX_REQUIRE(served > 0 && shed > 0, "second burst: served %d shed %d", served, shed);
    end_burst(d, port, fds, 2, shed);
    mx_stop_ok(d, 10000);
}
