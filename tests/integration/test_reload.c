/* test_reload.c - SIGHUP: the daemon rereads its config file and applies
 * the live settings to connections already open, on every worker, without
 * dropping any; chat takes its new settings (MOTD reread, password) for
 * clients already registered and new ones; a broken file changes nothing;
 * settings that need a restart are kept and said so. */
#include "harness.h"
#include "irc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

TestSuite(reload, .init = mx_init, .fini = mx_fini, .timeout = 90);

#define CLIENTS 16
#define BASE "[server]\nworkers = 2\n" \
             "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = line\n"


static void expect_log(struct mx_daemon *d, size_t from, const char *needle)
{
    MX_REQUIRE(daemon_wait_log_from(d, from, needle, 10000), "no '%s' in the log", needle);
}

static void connect_all(int port, int *fds)
{
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = mx_connect(port);
        MX_REQUIRE(fds[i] >= 0, "connect %d: %s", i, strerror(-fds[i]));
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "hello\n", 6, 5000) == 0, "client %d: no echo", i);
    }
}

/* A line of n bytes (LF included) from each client, echoed whole. */
static void all_echo_lines_of(int *fds, size_t n)
{
    char *line = malloc(n);
    MX_REQUIRE(line);
    memset(line, 'x', n - 1);
    line[n - 1] = '\n';
    for (int i = 0; i < CLIENTS; i++)
        MX_REQUIRE(mx_echo_roundtrip(fds[i], line, n, 5000) == 0,
                   "client %d: a %zu-byte line was not echoed", i, n);
    free(line);
}

Test(reload, live_limits_reach_open_connections_on_every_worker)
{
    struct mx_daemon *d = mx_boot(BASE "[limits]\nmax_line = 256\n");
    int port = mx_port(d, "echo");
    int fds[CLIENTS];
    connect_all(port, fds);

    /* Over the old max_line: refused, and the connection closed. */
    int probe = mx_connect(port);
    MX_REQUIRE(probe >= 0);
    char big[1001];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\n';
    MX_REQUIRE(mx_send_all(probe, big, sizeof big) == 0);
    MX_REQUIRE(mx_wait_closed(probe, 5000, NULL) != MX_OPEN, "a 1001-byte line was taken");
    close(probe);

    size_t from = mx_rewrite_and_hup(d, BASE "[limits]\nmax_line = 4k\n[log]\nlevel = debug\n");
    expect_log(d, from, "reload: applied: [limits] max_line 256 -> 4k, [log] level info -> "
                        "debug; kept until a restart: none");
    /* Clients of both workers, connected before the reload, now take the
     * longer line: each worker switched to the new set. */
    all_echo_lines_of(fds, sizeof big);

    /* Unchanged file: said so, nothing touched. */
    from = mx_rewrite_and_hup(d, BASE "[limits]\nmax_line = 4k\n[log]\nlevel = debug\n");
    expect_log(d, from, "unchanged");
    all_echo_lines_of(fds, 3000);
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    mx_stop_ok(d, 10000);
}

Test(reload, idle_timeout_lowered_closes_idle_clients_on_both_workers)
{
    struct mx_daemon *d = mx_boot(BASE "[limits]\nidle_timeout = 300s\n");
    int fds[CLIENTS];
    connect_all(mx_port(d, "echo"), fds);
    size_t from = mx_rewrite_and_hup(d, BASE "[limits]\nidle_timeout = 1s\n");
    expect_log(d, from, "[limits] idle_timeout 300s -> 1s");
    for (int i = 0; i < CLIENTS; i++) {
        size_t extra = 0;
        MX_REQUIRE(mx_wait_closed(fds[i], 10000, &extra) != MX_OPEN,
                   "client %d still open 10 s after idle_timeout went to 1s", i);
        MX_REQUIRE(extra == 0, "client %d got %zu bytes", i, extra);
        close(fds[i]);
    }
    mx_stop_ok(d, 10000);
}

Test(reload, a_broken_file_changes_nothing)
{
    struct mx_daemon *d = mx_boot(BASE "[limits]\nmax_connections = 4\n");
    int port = mx_port(d, "echo");
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = mx_connect(port);
        MX_REQUIRE(fds[i] >= 0 && mx_echo_roundtrip(fds[i], "hi\n", 3, 5000) == 0);
    }
    size_t from = mx_rewrite_and_hup(d, BASE "[limits]\nmax_connections = 40\nmax_line = lots\n");
    expect_log(d, from, "reload refused, nothing changed: ");
    expect_log(d, from, ":9: [limits] max_line: expected a size like 8k, got 'lots'");
    /* The old limit still holds: a fifth client is turned away. */
    int extra_fd = mx_connect(port);
    MX_REQUIRE(extra_fd >= 0);
    (void)mx_send_all(extra_fd, "hi\n", 3);
    MX_REQUIRE(mx_wait_closed(extra_fd, 5000, NULL) != MX_OPEN,
               "a fifth client was admitted after a refused reload");
    close(extra_fd);
    for (int i = 0; i < 4; i++)
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "still\n", 6, 5000) == 0, "client %d lost", i);

    /* Fixed, the same change goes through and admits more. */
    from = mx_rewrite_and_hup(d, BASE "[limits]\nmax_connections = 40\n");
    expect_log(d, from, "[limits] max_connections 4 -> 40");
    int fifth = mx_connect(port);
    MX_REQUIRE(fifth >= 0 && mx_echo_roundtrip(fifth, "in\n", 3, 5000) == 0,
               "max_connections 40 still turns a fifth client away");
    close(fifth);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    mx_stop_ok(d, 10000);
}

/* The port a listener was (re)opened on after log offset from, or -1. */
static int port_after(struct mx_daemon *d, size_t from, const char *name, const char *host)
{
    char needle[128];
    snprintf(needle, sizeof needle, "listener %s on %s:", name, host);
    MX_REQUIRE(daemon_wait_log_from(d, from, needle, 10000), "no '%s'", needle);
    char *log = daemon_log(d);
    int port = -1;
    /* Not "listener NAME on HOST:PORT closed": an old one going away. */
    for (const char *hit = strstr(log + from, needle); hit && port < 0;
         hit = strstr(hit + 1, needle)) {
        char *end;
        long p = strtol(hit + strlen(needle), &end, 10);
        if (strncmp(end, " (protocol", 10) == 0)
            port = (int)p;
    }
    free(log);
    return port;
}

/* A blocking connect to host:port: the fd, or -errno. */
static int connect_to(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    int e = errno;
    if (fd >= 0)
        close(fd);
    return -e;
}

static void expect_refused(const char *host, int port)
{
    int fd = connect_to(host, port);
    if (fd >= 0)
        close(fd);
    MX_REQUIRE(fd == -ECONNREFUSED, "%s:%d still accepts", host, port);
}

#define LSN(name, host) "[listener " name "]\nlisten = " host ":0\nprotocol = echo\nmode = line\n"

/* Listeners come, go and move while clients of every one keep talking. */
Test(reload, listeners_added_removed_and_moved)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n" LSN("a", "127.0.0.1")
                                  LSN("b", "127.0.0.1") LSN("c", "127.0.0.1"));
    int pa = mx_port(d, "a"), pb = mx_port(d, "b"), pc = mx_port(d, "c");
    int fa = mx_connect(pa), fb = mx_connect(pb), fc = mx_connect(pc);
    MX_REQUIRE(fa >= 0 && fb >= 0 && fc >= 0);
    size_t from = mx_rewrite_and_hup(d, "[server]\nworkers = 2\n" LSN("a", "127.0.0.1")
                                     LSN("c", "127.0.0.2") LSN("d", "127.0.0.1"));
    expect_log(d, from, "reload: applied: [listener b] removed, [listener c] listen 127.0.0.1:0 "
                        "-> 127.0.0.2:0, [listener d] added; kept until a restart: none");
    expect_log(d, from, "closed; its connections stay until they end");
    int pc2 = port_after(d, from, "c", "127.0.0.2"), pd = port_after(d, from, "d", "127.0.0.1");
    /* (d may have been given a port b or c just gave up.) */
    if (pd != pb)
        expect_refused("127.0.0.1", pb);
    if (pd != pc)
        expect_refused("127.0.0.1", pc);
    /* Clients of the closed and the moved listener go on; new ones come
     * in where the listeners are now. */
    int fds[] = { fa, fb, fc, connect_to("127.0.0.2", pc2), mx_connect(pd), mx_connect(pa) };
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
        MX_REQUIRE(fds[i] >= 0, "connect %zu", i);
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "still here\n", 11, 5000) == 0, "client %zu", i);
        close(fds[i]);
    }
    mx_stop_ok(d, 10000);
}

/* A reload that reaches the acceptor before its loop runs (accept_late
 * holds the loop until a listener change is asked, as a busy machine may
 * start it late): the listener it drops is let go, not waited for in
 * vain. */
Test(reload, listener_removed_before_the_acceptor_runs)
{
    MX_REQUIRE(setenv("MUXD_FAULTS", "accept_late=1", 1) == 0);
    struct mx_daemon *d = mx_boot("[server]\nworkers = 2\n" LSN("a", "127.0.0.1")
                                  LSN("b", "127.0.0.1"));
    unsetenv("MUXD_FAULTS");
    int pa = mx_port(d, "a");
    size_t from = mx_rewrite_and_hup(d, "[server]\nworkers = 2\n" LSN("a", "127.0.0.1")
                                     LSN("d", "127.0.0.1"));
    expect_log(d, from, "reload: applied: [listener b] removed, [listener d] added; "
                        "kept until a restart: none");
    MX_REQUIRE(daemon_log_count(d, "did not take the listener change") == 0,
               "the reload waited on the acceptor in vain");
    int fds[] = { mx_connect(pa), mx_connect(port_after(d, from, "d", "127.0.0.1")) };
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
        MX_REQUIRE(fds[i] >= 0, "connect %zu", i);
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "still here\n", 11, 5000) == 0, "client %zu", i);
        close(fds[i]);
    }
    mx_stop_ok(d, 10000);
}

Test(reload, settings_that_need_a_restart_are_kept_and_said_so)
{
    struct mx_daemon *d = mx_boot(BASE);
    int fds[CLIENTS];
    connect_all(mx_port(d, "echo"), fds);
    size_t from = mx_rewrite_and_hup(
        d, "[server]\nworkers = 2\nlisten_backlog = 100\n"
           "[listener echo]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = upper\n"
           "[listener more]\nlisten = 127.0.0.1:0\nprotocol = echo\n");
    expect_log(d, from, "reload: applied: [listener more] added; kept until a restart: "
                        "[server] listen_backlog 4096 -> 100, [listener echo] mode line -> upper");
    /* Still line mode (not upper) and nobody dropped. */
    for (int i = 0; i < CLIENTS; i++)
        MX_REQUIRE(mx_echo_roundtrip(fds[i], "abc\n", 4, 5000) == 0, "client %d lost", i);
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    mx_stop_ok(d, 10000);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    MX_REQUIRE(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

#define CHAT_CONF(extra)                                                               \
    "[server]\nworkers = 2\n[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n" \
    "server_name = test.muxd\n" extra

/* The MOTD file is named relative to the config file, which the harness
 * keeps in a temporary directory: found there, not in the working one. */
Test(reload, chat_rereads_its_motd_and_takes_a_password)
{
    struct mx_daemon *d = mx_boot(CHAT_CONF(""));
    int port = mx_port(d, "chat");
    struct irc a, b;
    IRC_LOGIN(&a, port, "alice", 5000);
    IRC_LOGIN(&b, port, "bob", 5000); /* the other worker */
    MX_REQUIRE(irc_send(&a, "MOTD") == 0);
    IRC_EXPECT(&a, "422", NULL, 5000);

    char motd[300], conf[600];
    const char *slash = strrchr(d->conf_path, '/');
    MX_REQUIRE(slash, "%s", d->conf_path);
    snprintf(motd, sizeof motd, "%.*s/muxd-motd.%d", (int)(slash - d->conf_path), d->conf_path,
             (int)getpid());
    write_file(motd, "second words\n");
    snprintf(conf, sizeof conf,
             CHAT_CONF("motd_file = %s\npassword = sesame\nflood_rate = 0\n"), strrchr(motd, '/') + 1);
    size_t from = mx_rewrite_and_hup(d, conf);
    expect_log(d, from, "[listener chat] password changed, [listener chat] flood_rate 10 -> 0; "
                        "kept until a restart: none");
    char *log = daemon_log(d);
    bool leaked = strstr(log, "sesame") != NULL;
    free(log);
    MX_REQUIRE(!leaked, "the password is in the log");
    /* Both, registered before the reload, see the new MOTD. */
    struct irc *both[2] = { &a, &b };
    for (int i = 0; i < 2; i++) {
        MX_REQUIRE(irc_send(both[i], "MOTD") == 0);
        IRC_EXPECT(both[i], "372", "second words", 5000);
    }
    /* A newcomer without the password is refused; one with it gets in. */
    struct irc c;
    MX_REQUIRE(irc_open(&c, port) == 0);
    MX_REQUIRE(irc_send(&c, "NICK carol") == 0 && irc_send(&c, "USER c 0 * :C") == 0);
    IRC_EXPECT(&c, "464", NULL, 5000);
    irc_close(&c);
    MX_REQUIRE(irc_open(&c, port) == 0);
    MX_REQUIRE(irc_send(&c, "PASS sesame") == 0);
    MX_REQUIRE(irc_register(&c, "carol", "c", 5000) == 0, "%s", irc_recent(&c));
    /* Nobody was dropped. */
    for (int i = 0; i < 2; i++) {
        MX_REQUIRE(irc_send(both[i], "PING :still") == 0);
        IRC_EXPECT(both[i], "PONG", ":still", 5000);
    }
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    unlink(motd);
    mx_stop_ok(d, 10000);
}

/* share_with across a reload that moves the owner: a moved listener gets a
 * new chat state, so its sharer reopens with it (reload.c move_sharers)
 * and the two are still one network: a member on each hears the other,
 * and one nick table refuses the second alice. */
#define SHARED(host)                                                                   \
    "[server]\nworkers = 2\n[listener irc]\nlisten = " host ":0\nprotocol = chat\n"    \
    "[listener web]\nlisten = 127.0.0.1:0\nprotocol = chat\nshare_with = irc\n"

Test(reload, a_moved_listener_takes_its_sharer_along)
{
    struct mx_daemon *d = mx_boot(SHARED("127.0.0.2"));
    size_t from = mx_rewrite_and_hup(d, SHARED("127.0.0.1"));
    expect_log(d, from, "[listener irc] listen 127.0.0.2:0 -> 127.0.0.1:0");
    int pi = port_after(d, from, "irc", "127.0.0.1"), pw = port_after(d, from, "web", "127.0.0.1");
    struct irc a, b, c;
    IRC_LOGIN(&a, pi, "alice", 5000);
    IRC_LOGIN(&b, pw, "bob", 5000);
    IRC_JOIN(&a, "#s", 5000);
    IRC_JOIN(&b, "#s", 5000);
    IRC_EXPECT(&a, "JOIN", "bob", 5000);
    MX_REQUIRE(irc_send(&a, "PRIVMSG #s :across the reload") == 0);
    IRC_EXPECT(&b, "PRIVMSG", "across the reload", 5000);
    MX_REQUIRE(irc_open(&c, pw) == 0);
    MX_REQUIRE(irc_send(&c, "NICK alice") == 0 && irc_send(&c, "USER c 0 * :C") == 0);
    IRC_EXPECT(&c, "433", "alice", 5000);
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

/* [log] format: logfmt lines a shipper can parse, and back to text by a
 * reload. */
Test(reload, log_format_logfmt_and_back)
{
    struct mx_daemon *d = mx_boot(BASE "[log]\nformat = logfmt\n");
    MX_REQUIRE(daemon_wait_log(d, " level=info thread=muxd msg=\"listener echo on 127.0.0.1:", 5000),
               "no logfmt listener line");
    char *log = daemon_log(d);
    bool ts_first = strncmp(log, "ts=", 3) == 0;
    free(log);
    MX_REQUIRE(ts_first, "a logfmt line does not start with ts=");
    size_t from = mx_rewrite_and_hup(d, BASE);
    expect_log(d, from, "msg=\"signal 1 (Hangup): reloading\"");
    expect_log(d, from, "INFO  muxd: reload: applied: [log] format logfmt -> text");
    mx_stop_ok(d, 10000);
}
