/* test_notify.c - the daemon tells a service manager how it is doing: a
 * Unix datagram socket stands in for systemd ($NOTIFY_SOCKET) and must see
 * READY=1 once the listeners are open, RELOADING=1 then READY=1 around a
 * SIGHUP, and STOPPING=1 on SIGTERM, in that order. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

TestSuite(notify, .init = mx_init, .fini = mx_fini, .timeout = 60);

struct manager {
    int fd;
    char path[108];
};

static void manager_open(struct manager *m)
{
    snprintf(m->path, sizeof m->path, "/tmp/muxd-notify.%d.sock", (int)getpid());
    unlink(m->path);
    m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    MX_REQUIRE(m->fd >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, m->path, strlen(m->path) + 1);
    MX_REQUIRE(bind(m->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind %s", m->path);
    MX_REQUIRE(setenv("NOTIFY_SOCKET", m->path, 1) == 0);
}

/* The next datagram must start with want. */
static void expect_state(struct manager *m, const char *want)
{
    MX_REQUIRE(mx_readable_within(m->fd, 10000), "no notification (waiting for %s)", want);
    char buf[512];
    ssize_t n = recv(m->fd, buf, sizeof buf - 1, 0);
    MX_REQUIRE(n > 0);
    buf[n] = '\0';
    MX_REQUIRE(strncmp(buf, want, strlen(want)) == 0, "got '%s' where '%s' was due", buf, want);
}

Test(notify, ready_reloading_ready_stopping_in_order)
{
    struct manager m;
    manager_open(&m);
    struct mx_daemon *d = mx_boot("[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n");
    expect_state(&m, "READY=1");
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0 && mx_echo_roundtrip(fd, "up", 2, 5000) == 0, "READY=1 before serving");

    MX_REQUIRE(daemon_signal(d, SIGHUP) == 0);
    expect_state(&m, "RELOADING=1\nMONOTONIC_USEC=");
    expect_state(&m, "READY=1");
    MX_REQUIRE(mx_echo_roundtrip(fd, "still", 5, 5000) == 0);

    close(fd);
    mx_stop_ok(d, 10000);
    expect_state(&m, "STOPPING=1");
    MX_REQUIRE(!mx_readable_within(m.fd, 200), "a notification after STOPPING=1");
    close(m.fd);
    unlink(m.path);
    unsetenv("NOTIFY_SOCKET");
}

Test(notify, no_socket_no_harm)
{
    unsetenv("NOTIFY_SOCKET");
    struct mx_daemon *d = mx_boot("[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\n");
    MX_REQUIRE(daemon_signal(d, SIGHUP) == 0);
    MX_REQUIRE(daemon_wait_log(d, "reload:", 10000));
    mx_stop_ok(d, 10000);
    MX_REQUIRE(daemon_log_count(d, "notify") == 0, "a notify complaint without a socket");
}
