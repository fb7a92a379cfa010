/* test_echo_modes.c - line and upper echo: framing, CRLF, the max_line
 * limit and partial lines. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(echo_modes, .init = mx_init, .fini = mx_fini, .timeout = 60);

#define MAX_LINE 1024

static const char config[] =
    "[server]\n"
    "workers = 2\n"
    "[listener line]\n"
    "listen = 127.0.0.1:0\n"
    "protocol = echo\n"
    "mode = line\n"
    "[listener upper]\n"
    "listen = 127.0.0.1:0\n"
    "protocol = echo\n"
    "mode = upper\n"
    "[limits]\n"
    "max_line = 1k\n"
    "[log]\n"
    "level = info\n";

static int connect_to(struct mx_daemon *d, const char *listener)
{
    int fd = mx_connect(mx_port(d, listener));
    MX_REQUIRE(fd >= 0, "connect to %s listener failed", listener);
    return fd;
}

/* Sends text and requires exactly want back, nothing more or less. */
static void expect_reply(int fd, const char *text, const char *want)
{
    size_t n = strlen(want);
    char *buf = calloc(1, n + 1);
    MX_REQUIRE(mx_send_all(fd, text, strlen(text)) == 0, "send failed");
    ssize_t r = mx_recv_exact(fd, buf, n, 5000);
    MX_REQUIRE(r == (ssize_t)n && memcmp(buf, want, n) == 0,
               "sent '%s', wanted '%s', got %zd bytes '%s'", text, want, r,
               r > 0 ? buf : "");
    MX_REQUIRE(!mx_readable_within(fd, 50), "more bytes than the echo of '%s'", text);
    free(buf);
}

Test(echo_modes, line_several_lines_in_one_write)
{
    struct mx_daemon *d = mx_boot(config);
    int fd = connect_to(d, "line");
    expect_reply(fd, "one\ntwo\nthree four\n", "one\ntwo\nthree four\n");
    expect_reply(fd, "\n\nx\n", "\n\nx\n");
    close(fd);
    mx_stop_ok(d, 10000);
}

Test(echo_modes, line_split_across_many_writes)
{
    struct mx_daemon *d = mx_boot(config);
    int fd = connect_to(d, "line");
    static const char line[] = "this line arrives one byte at a time";
    for (size_t i = 0; i < strlen(line); i++) {
        MX_REQUIRE(mx_send_all(fd, line + i, 1) == 0);
        if (i % 8 == 0)
            mx_sleep_ms(5);
    }
    /* Line mode must hold an unterminated line back. */
    MX_REQUIRE(!mx_readable_within(fd, 300), "echo came before the newline");
    expect_reply(fd, "\n", "this line arrives one byte at a time\n");
    /* The tail of one line and the head of the next in one write. */
    expect_reply(fd, "first half", "");
    expect_reply(fd, " second half\nnext", "first half second half\n");
    expect_reply(fd, " line\n", "next line\n");
    close(fd);
    mx_stop_ok(d, 10000);
}

Test(echo_modes, line_crlf_echoed_as_is)
{
    struct mx_daemon *d = mx_boot(config);
    int fd = connect_to(d, "line");
    expect_reply(fd, "dos line\r\n", "dos line\r\n");
    expect_reply(fd, "a\r\nb\nc\r\n", "a\r\nb\nc\r\n");
    expect_reply(fd, "split\r", "");
    expect_reply(fd, "\n", "split\r\n");
    close(fd);
    mx_stop_ok(d, 10000);
}

static char *line_of(size_t n, char c)
{
    char *s = malloc(n + 2);
    memset(s, c, n);
    s[n] = '\n';
    s[n + 1] = '\0';
    return s;
}

static void check_max_line(const char *listener, char fill, char echoed)
{
    struct mx_daemon *d = mx_boot(config);
    int other = connect_to(d, listener);
    expect_reply(other, "bystander\n", fill == echoed ? "bystander\n" : "BYSTANDER\n");
    int fd = connect_to(d, listener);
    char *fits = line_of(MAX_LINE, fill), *want = line_of(MAX_LINE, echoed);
    expect_reply(fd, fits, want);

    char *too_long = line_of(MAX_LINE + 1, fill);
    MX_REQUIRE(mx_send_all(fd, too_long, strlen(too_long)) == 0);
    static const char err[] = "ERR line too long\n";
    char buf[sizeof err] = "";
    ssize_t r = mx_recv_exact(fd, buf, sizeof err - 1, 5000);
    MX_REQUIRE(r == (ssize_t)sizeof err - 1 && memcmp(buf, err, sizeof err - 1) == 0,
               "wanted '%s' after a %d byte line, got %zd bytes", err, MAX_LINE + 1, r);
    size_t extra = 0;
    enum mx_close_kind k = mx_wait_closed(fd, 5000, &extra);
    MX_REQUIRE(k != MX_OPEN, "connection still open after ERR line too long");
    MX_REQUIRE(extra == 0, "%zu bytes after ERR line too long", extra);
    MX_REQUIRE(daemon_wait_log(d, "line too long", 5000), "no 'line too long' log");

    expect_reply(other, "still here\n", fill == echoed ? "still here\n" : "STILL HERE\n");
    free(fits);
    free(want);
    free(too_long);
    close(fd);
    close(other);
    mx_stop_ok(d, 10000);
}

Test(echo_modes, line_max_line_boundary)
{
    check_max_line("line", 'q', 'q');
}

Test(echo_modes, upper_max_line_boundary)
{
    check_max_line("upper", 'q', 'Q');
}

Test(echo_modes, line_partial_line_at_eof_dropped)
{
    struct mx_daemon *d = mx_boot(config);
    int fd = connect_to(d, "line");
    MX_REQUIRE(mx_send_all(fd, "whole\npartial", 13) == 0);
    MX_REQUIRE(shutdown(fd, SHUT_WR) == 0);
    char buf[16] = "";
    MX_REQUIRE(mx_recv_exact(fd, buf, 6, 5000) == 6 && memcmp(buf, "whole\n", 6) == 0,
               "got '%s'", buf);
    size_t extra = 0;
    MX_REQUIRE(mx_wait_closed(fd, 5000, &extra) == MX_EOF, "no EOF after half-close");
    MX_REQUIRE(extra == 0, "%zu bytes of the partial line came back", extra);
    close(fd);
    mx_stop_ok(d, 10000);
}

Test(echo_modes, upper_uppercases_ascii_only)
{
    struct mx_daemon *d = mx_boot(config);
    int fd = connect_to(d, "upper");
    expect_reply(fd, "Hello, World! abc xyz 0189 []{}`~\n",
                 "HELLO, WORLD! ABC XYZ 0189 []{}`~\n");
    /* UTF-8 bytes (here e-acute) and CRLF pass through untouched. */
    expect_reply(fd, "caf\xc3\xa9 cr\r\n", "CAF\xc3\xa9 CR\r\n");
    expect_reply(fd, "two\nlines\n", "TWO\nLINES\n");
    for (const char *p = "split upper"; *p; p++)
        MX_REQUIRE(mx_send_all(fd, p, 1) == 0);
    expect_reply(fd, "\n", "SPLIT UPPER\n");
    close(fd);
    mx_stop_ok(d, 10000);
}
