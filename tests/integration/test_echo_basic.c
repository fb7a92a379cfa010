/* test_echo_basic.c - raw echo, half-close, IPv6, several listeners. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(echo_basic, .init = mx_init, .fini = mx_fini, .timeout = 60);

static const char raw_config[] =
    "[server]\n"
    "workers = 2\n"
    "[listener echo]\n"
    "listen = 127.0.0.1:0\n"
    "protocol = echo\n"
    "mode = raw\n"
    "[log]\n"
    "level = info\n";

Test(echo_basic, raw_echo_roundtrips)
{
    struct mx_daemon *d = mx_boot(raw_config);
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    static const char bin[] = "no\nline\0framing\r\xff here";
    MX_REQUIRE(mx_echo_roundtrip(fd, bin, sizeof bin, 5000) == 0, "binary echo");
    for (int i = 0; i < 20; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        MX_REQUIRE(mx_echo_roundtrip(fd, msg, (size_t)n, 5000) == 0, "echo %d", i);
    }
    close(fd);
    mx_stop_ok(d, 10000);
}

Test(echo_basic, half_close_gets_every_echo_then_eof)
{
    struct mx_daemon *d = mx_boot(raw_config);
    int fd = mx_connect(mx_port(d, "echo"));
    MX_REQUIRE(fd >= 0, "connect: %s", strerror(-fd));
    enum { SIZE = 100 * 1024 };
    MX_REQUIRE(mx_send_pattern(fd, 7, SIZE, NULL) == 0, "send 100 KB");
    MX_REQUIRE(shutdown(fd, SHUT_WR) == 0);
    char err[128];
    MX_REQUIRE(mx_recv_pattern(fd, 7, SIZE, 10000, err, sizeof err) == 0, "%s", err);
    size_t extra = 0;
    MX_REQUIRE(mx_wait_closed(fd, 5000, &extra) == MX_EOF, "no EOF after the echoes");
    MX_REQUIRE(extra == 0, "%zu bytes more than sent", extra);
    close(fd);
    mx_stop_ok(d, 10000);
}

static bool ipv6_loopback_usable(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

Test(echo_basic, ipv6_loopback)
{
    if (!ipv6_loopback_usable())
        cr_skip_test("cannot bind [::1] on this machine");
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener v6]\nlisten = [::1]:0\nprotocol = echo\nmode = raw\n");
    MX_REQUIRE(daemon_wait_log(d, "listener v6 on [::1]:", 0), "IPv6 address not "
               "printed as [::1]:PORT");
    int fd = mx_connect6(mx_port(d, "v6"));
    MX_REQUIRE(fd >= 0, "connect [::1]: %s", strerror(-fd));
    MX_REQUIRE(mx_echo_roundtrip(fd, "over ipv6", 9, 5000) == 0);
    MX_REQUIRE(mx_send_pattern(fd, 66, 200000, NULL) == 0);
    char err[128];
    MX_REQUIRE(mx_recv_pattern(fd, 66, 200000, 10000, err, sizeof err) == 0, "%s", err);
    close(fd);
    mx_stop_ok(d, 10000);
}

Test(echo_basic, two_listeners_both_serve)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener plain]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n"
        "[listener shout]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = upper\n");
    int p1 = mx_port(d, "plain"), p2 = mx_port(d, "shout");
    MX_REQUIRE(p1 != p2, "both listeners on port %d", p1);
    MX_REQUIRE(daemon_log_count(d, "(protocol echo)") == 2, "want one line per listener");
    MX_REQUIRE(daemon_wait_log(d, "listeners=2", 0), "started line lacks listeners=2");
    int a = mx_connect(p1), b = mx_connect(p2);
    MX_REQUIRE(a >= 0 && b >= 0, "connect failed");
    for (int round = 0; round < 3; round++) {
        MX_REQUIRE(mx_echo_roundtrip(a, "mixed Case\n", 11, 5000) == 0, "raw listener");
        MX_REQUIRE(mx_send_all(b, "mixed Case\n", 11) == 0);
        char buf[16] = "";
        MX_REQUIRE(mx_recv_exact(b, buf, 11, 5000) == 11 &&
                   memcmp(buf, "MIXED CASE\n", 11) == 0, "upper listener sent '%s'", buf);
    }
    close(a);
    close(b);
    mx_stop_ok(d, 10000);
}
