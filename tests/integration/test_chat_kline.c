/* test_chat_kline.c - K-lines and DIE: KLINE cuts a matching client on
 * the other worker (its channel peer sees the QUIT), a matching newcomer
 * gets 465, others are served, STATS k lists it, UNKLINE lifts it, a
 * temporary one expires, the file survives a restart and is read again
 * by a reload (a bad line there keeps the running list), a bad file stops
 * the start with file:line; DIE refused unless [oper NAME] die = on, and
 * then the daemon exits 0.
 *
 * Clients tell themselves apart by source address: every 127/8 address is
 * this host's, so 127.0.0.5 can be banned while the oper on 127.0.0.1
 * stays. Two workers: consecutive connections land on different ones. */
#include "harness.h"
#include "irc.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(chat_kline, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define T 5000
#define PASSWORD "s3cret-oper"

static char kfile[64];

/* A fresh path for the K-line file (the file itself not made yet). */
static const char *new_kfile(void)
{
    snprintf(kfile, sizeof kfile, "/tmp/muxd-kline-XXXXXX");
    int fd = mkstemp(kfile);
    MX_REQUIRE(fd >= 0);
    close(fd);
    unlink(kfile);
    return kfile;
}

/* The chat listener keeps its K-lines in kfile; [oper boss] from
 * loopback, with die = on when die is set. */
static const char *config(bool die)
{
    static char text[2048];
    const char *hash = crypt(PASSWORD, "$6$muxdtestsalt$");
    MX_REQUIRE(hash && hash[0] == '$', "crypt() cannot make a $6$ hash");
    snprintf(text, sizeof text,
             "[server]\nworkers = 2\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
             "server_name = test.muxd\nflood_rate = 0\nkline_file = %s\n"
             "[oper boss]\npassword = %s\nhosts = *!*@127.0.0.1\n%s",
             kfile, hash, die ? "die = on\n" : "");
    return text;
}

static void open_from(struct irc *c, int port, const char *src)
{
    struct mx_sockopts o = { .src = src };
    MX_REQUIRE(irc_open_opts(c, port, &o) == 0, "cannot connect from %s", src);
}

static void login_from(struct irc *c, int port, const char *nick, const char *src)
{
    char user[64];
    snprintf(user, sizeof user, "u%s", nick);
    open_from(c, port, src);
    MX_REQUIRE(irc_register(c, nick, user, T) == 0, "%s cannot register; last lines:\n%s",
               nick, irc_recent(c));
}

/* A newcomer from src is refused: 465, ERROR, closed. */
static void refused_from(int port, const char *src, const char *reason)
{
    struct irc c;
    open_from(&c, port, src);
    MX_REQUIRE(irc_send(&c, "NICK newbie") == 0 && irc_send(&c, "USER u 0 * :x") == 0);
    IRC_EXPECT(&c, "465", reason, T);
    IRC_EXPECT_NEXT(&c, "ERROR", "(K-lined: ", T);
    MX_REQUIRE(irc_wait_eof(&c, T), "a K-lined newcomer was not closed");
    irc_close(&c);
}

static void served_from(int port, const char *src)
{
    struct irc c;
    login_from(&c, port, "fine", src);
    irc_close(&c);
}

static void answered(struct irc *c, const char *line, const char *cmd, const char *text)
{
    MX_REQUIRE(irc_send(c, "%s", line) == 0);
    MX_REQUIRE(irc_expect_next(c, cmd, text, T), "%s: '%s' did not get %s '%s'; last:\n%s",
               c->nick, line, cmd, text ? text : "", irc_recent(c));
}

static void become_oper(struct irc *c)
{
    answered(c, "OPER boss " PASSWORD, "381", NULL);
    IRC_EXPECT_NEXT(c, "MODE", "+o", T);
}

/* true once the file at path holds needle (present) or not (!present). */
static bool file_has(const char *path, const char *needle, bool present)
{
    for (int i = 0; i < 250; i++) {
        FILE *f = fopen(path, "r");
        char buf[8192] = "";
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        if ((strstr(buf, needle) != NULL) == present)
            return true;
        mx_sleep_ms(20);
    }
    return false;
}

Test(chat_kline, kline_cuts_refuses_lists_and_lifts)
{
    new_kfile();
    struct mx_daemon *d = mx_boot(config(false));
    int port = mx_port(d, "chat");
    struct irc alice, bob, carol;
    login_from(&alice, port, "alice", "127.0.0.1"); /* worker 0 */
    login_from(&bob, port, "bob", "127.0.0.5");     /* worker 1 */
    login_from(&carol, port, "carol", "127.0.0.1"); /* worker 0 */
    IRC_JOIN(&bob, "#c", T);
    IRC_JOIN(&carol, "#c", T);
    answered(&carol, "KLINE *@127.0.0.5 :no", "481", NULL);
    answered(&carol, "STATS k", "481", NULL);
    become_oper(&alice);
    /* Masks refused with the reason. */
    answered(&alice, "KLINE 127.0.0.5 :x", "NOTICE", "user@host");
    answered(&alice, "KLINE *@* :x", "NOTICE", "ban everyone");
    answered(&alice, "KLINE a,b@127.0.0.5 :x", "NOTICE", "bad mask");
    answered(&alice, "KLINE *@127.0.0.5/24 :x", "NOTICE", "bad mask");
    answered(&alice, "KLINE soon *@127.0.0.5 :x", "NOTICE", "not a duration");
    answered(&alice, "KLINE *@127.0.0.5 :go away", "NOTICE", "K-line for *@127.0.0.5 added");
    IRC_EXPECT(&bob, "ERROR", "ERROR :Closing Link: bob (K-lined: go away)", T);
    MX_REQUIRE(irc_wait_eof(&bob, T), "bob was not closed");
    IRC_EXPECT(&carol, "QUIT", ":bob!ubob@127.0.0.5 QUIT :K-lined: go away", T);
    refused_from(port, "127.0.0.5", "You are banned from this server (go away)");
    served_from(port, "127.0.0.6");
    answered(&alice, "STATS k", "216", "K 127.0.0.5 * * :go away [alice]");
    IRC_EXPECT_NEXT(&alice, "219", "k :End", T);
    MX_REQUIRE(file_has(kfile, "*@127.0.0.5 0 ", true), "the K-line is not in %s", kfile);
    answered(&alice, "UNKLINE *@127.0.0.5", "NOTICE", "K-line for *@127.0.0.5 removed");
    answered(&alice, "UNKLINE *@127.0.0.5", "NOTICE", "no K-line for *@127.0.0.5");
    served_from(port, "127.0.0.5");
    MX_REQUIRE(file_has(kfile, "*@127.0.0.5", false), "the K-line stays in %s", kfile);
    MX_REQUIRE(daemon_wait_log(d, "K-lines *@127.0.0.5", T), "the KLINE was not logged");
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
    irc_close(&carol);
    unlink(kfile);
}

Test(chat_kline, a_temporary_kline_expires)
{
    new_kfile();
    struct mx_daemon *d = mx_boot(config(false));
    int port = mx_port(d, "chat");
    struct irc alice;
    login_from(&alice, port, "alice", "127.0.0.1");
    become_oper(&alice);
    answered(&alice, "KLINE 1 *@127.0.0.7 :brief", "NOTICE", "added for 1 s: brief");
    refused_from(port, "127.0.0.7", "(brief)");
    /* Whole seconds: gone within two. */
    mx_sleep_ms(2100);
    served_from(port, "127.0.0.7");
    answered(&alice, "STATS k", "219", "k :End");
    mx_require_clean_log(d);
    irc_close(&alice);
    unlink(kfile);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    MX_REQUIRE(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

Test(chat_kline, the_file_survives_a_restart_and_a_reload_reads_it)
{
    new_kfile();
    const char *conf = config(false);
    struct mx_daemon *d = mx_boot(conf);
    struct irc alice;
    login_from(&alice, mx_port(d, "chat"), "alice", "127.0.0.1");
    become_oper(&alice);
    answered(&alice, "KLINE *@127.0.0.5 :for good", "NOTICE", "added");
    MX_REQUIRE(file_has(kfile, ":for good", true), "the K-line is not in %s", kfile);
    irc_close(&alice);
    mx_stop_ok(d, T);
    daemon_cleanup(d);

    d = mx_boot(conf);
    int port = mx_port(d, "chat");
    refused_from(port, "127.0.0.5", "(for good)");
    /* Edited by hand, read again by SIGHUP's reload: a connected client
     * the new K-line bans is cut. */
    struct irc eve;
    login_from(&eve, port, "eve", "127.0.0.8");
    write_file(kfile, "*@127.0.0.5 0 1 alice :for good\n*@127.0.0.8 0 1 ops :edited\n");
    size_t from = mx_rewrite_and_hup(d, conf);
    IRC_EXPECT(&eve, "ERROR", "(K-lined: edited)", T);
    MX_REQUIRE(daemon_wait_log_from(d, from, "reload: ", T), "no reload in the log");
    /* A bad line: the reload is refused, the running list stays. */
    write_file(kfile, "*@127.0.0.5 0 1 alice :for good\n*@127.0.0.9 soon 1 x :y\n");
    from = mx_rewrite_and_hup(d, conf);
    char want[128];
    snprintf(want, sizeof want, "%s:2: the expiry", kfile);
    MX_REQUIRE(daemon_wait_log_from(d, from, want, T), "no '%s' in the log", want);
    refused_from(port, "127.0.0.8", "(edited)");
    mx_require_clean_log(d);
    irc_close(&eve);
    unlink(kfile);
}

Test(chat_kline, a_bad_file_stops_the_start_with_file_and_line)
{
    new_kfile();
    write_file(kfile, "# a comment\n*@127.0.0.5 0 1 alice :fine\nnot-a-mask 0 1 x :y\n");
    static struct mx_daemon d;
    MX_REQUIRE(daemon_start(&d, config(false)) == 0);
    int st = daemon_wait_exit(&d, 10000);
    char want[128];
    snprintf(want, sizeof want, "kline_file: %s:3: a K-line mask is user@host", kfile);
    MX_REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    MX_REQUIRE(daemon_wait_log(&d, want, T), "no '%s' in the log", want);
    daemon_cleanup(&d);
    unlink(kfile);
}

Test(chat_kline, die_refused_unless_allowed_then_stops_with_0)
{
    new_kfile();
    struct mx_daemon *d = mx_boot(config(false));
    struct irc alice, bob;
    login_from(&alice, mx_port(d, "chat"), "alice", "127.0.0.1");
    answered(&alice, "DIE test.muxd", "481", "not an IRC operator");
    become_oper(&alice);
    answered(&alice, "DIE test.muxd", "481", "die = on");
    MX_REQUIRE(daemon_alive(d));
    irc_close(&alice);
    mx_stop_ok(d, T);
    daemon_cleanup(d);

    d = mx_boot(config(true));
    int port = mx_port(d, "chat");
    login_from(&alice, port, "alice", "127.0.0.1");
    login_from(&bob, port, "bob", "127.0.0.1");
    answered(&bob, "MODE bob +w", "MODE", "+w");
    become_oper(&alice);
    answered(&alice, "DIE", "NOTICE", "DIE test.muxd");
    answered(&alice, "DIE other.server", "NOTICE", "DIE test.muxd");
    MX_REQUIRE(irc_send(&alice, "DIE test.muxd") == 0);
    IRC_EXPECT(&bob, "WALLOPS", "alice (oper boss) used DIE", T);
    int st = daemon_wait_exit(d, 10000);
    MX_REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    MX_REQUIRE(daemon_wait_log(d, "alice!ualice@127.0.0.1 (oper boss) used DIE", T));
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
}
