/* test_chat_basic.c - the chat service's commands one by one: the
 * welcome burst (with and without MOTD, through CAP, behind PASS), the
 * errors, nick collisions across workers, NICK/QUIT/PART/JOIN 0 as the
 * channel peers see them, NAMES, LIST, TOPIC, WHO, WHOIS, PING, AWAY,
 * and the line rules (too long, NUL, bare CR, LF only). */
#include "harness.h"
#include "irc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(chat_basic, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define T 5000 /* ms: the wait for any one expected line */
/* A string literal as pointer and length (NUL bytes inside count). */
#define LIT(s) (s), sizeof(s) - 1

/* A chat daemon with `workers` workers; extra goes into the listener. */
static struct mx_daemon *boot_chat(unsigned workers, const char *extra)
{
    char conf[2048];
    snprintf(conf, sizeof conf,
             "[server]\nworkers = %u\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
             "server_name = test.muxd\nflood_rate = 0\n%s",
             workers, extra ? extra : "");
    return mx_boot(conf);
}

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

static void join(struct irc *c, const char *chan) { IRC_JOIN(c, chan, T); }

/* Reads c up to the PONG of a PING, counting the lines of command cmd
 * that contain text on the way. */
static int count_until_sync(struct irc *c, const char *cmd, const char *text)
{
    int n = 0;
    MX_REQUIRE(irc_sync(c, "sync", cmd, text, &n, T) == 0, "%s: no PONG; last lines:\n%s",
               c->nick, irc_recent(c));
    return n;
}

/* ---- registration -------------------------------------------------------- */

Test(chat_basic, welcome_burst_without_motd)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    struct irc a;
    MX_REQUIRE(irc_open(&a, mx_port(d, "chat")) == 0);
    MX_REQUIRE(irc_send(&a, "NICK alice") == 0 && irc_send(&a, "USER al 0 * :Alice A") == 0);
    IRC_EXPECT_NEXT(&a, "001", ":test.muxd 001 alice :", T);
    MX_REQUIRE(strstr(a.line, "alice!al@127.0.0.1"), "001 without nick!user@host: %s", a.line);
    IRC_EXPECT_NEXT(&a, "002", NULL, T);
    IRC_EXPECT_NEXT(&a, "003", NULL, T);
    IRC_EXPECT_NEXT(&a, "004", " test.muxd ", T);
    /* Two 005 lines (test_chat_channels.c has them word for word). */
    IRC_EXPECT_NEXT(&a, "005", NULL, T);
    static const char *const tokens[] = { " CHANTYPES=# ", " CHANNELLEN=",
                                          " CASEMAPPING=rfc1459 " };
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        MX_REQUIRE(strstr(a.line, tokens[i]), "005 lacks '%s': %s", tokens[i], a.line);
    IRC_EXPECT_NEXT(&a, "005", " NICKLEN=", T);
    /* LUSERS between 005 and the MOTD (test_chat_query.c has its counts). */
    IRC_EXPECT_NEXT(&a, "251", NULL, T);
    IRC_EXPECT_NEXT(&a, "255", NULL, T);
    IRC_EXPECT_NEXT(&a, "265", NULL, T);
    IRC_EXPECT_NEXT(&a, "266", NULL, T);
    IRC_EXPECT_NEXT(&a, "422", NULL, T);
    MX_REQUIRE(irc_quiet(&a, 200), "more after 422: %s", a.line);
    /* Registered: a second USER or PASS is refused. */
    MX_REQUIRE(irc_send(&a, "USER x 0 * :again") == 0);
    IRC_EXPECT_NEXT(&a, "462", NULL, T);
    MX_REQUIRE(irc_send(&a, "PASS foo") == 0);
    IRC_EXPECT_NEXT(&a, "462", NULL, T);
    MX_REQUIRE(irc_send(&a, "MOTD") == 0);
    IRC_EXPECT_NEXT(&a, "422", NULL, T);
    irc_close(&a);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, welcome_burst_with_motd)
{
    char path[] = "/tmp/muxd-motd-XXXXXX";
    int fd = mkstemp(path);
    MX_REQUIRE(fd >= 0);
    static const char motd[] = "Hello there\nsecond line\n";
    MX_REQUIRE(write(fd, motd, sizeof motd - 1) == (ssize_t)(sizeof motd - 1));
    close(fd);
    char extra[128];
    snprintf(extra, sizeof extra, "motd_file = %s\n", path);
    struct mx_daemon *d = boot_chat(1, extra);
    unlink(path);
    struct irc a;
    MX_REQUIRE(irc_open(&a, mx_port(d, "chat")) == 0);
    MX_REQUIRE(irc_send(&a, "NICK m") == 0 && irc_send(&a, "USER m 0 * :M") == 0);
    IRC_EXPECT(&a, "266", NULL, T);
    IRC_EXPECT_NEXT(&a, "375", "test.muxd", T);
    IRC_EXPECT_NEXT(&a, "372", ":- Hello there", T);
    IRC_EXPECT_NEXT(&a, "372", ":- second line", T);
    IRC_EXPECT_NEXT(&a, "376", NULL, T);
    MX_REQUIRE(irc_quiet(&a, 200), "more after 376: %s", a.line);
    irc_close(&a);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, cap_ls_holds_registration_until_end)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    struct irc a;
    MX_REQUIRE(irc_open(&a, mx_port(d, "chat")) == 0);
    MX_REQUIRE(irc_send(&a, "CAP LS 302") == 0);
    MX_REQUIRE(irc_send(&a, "NICK capper") == 0 && irc_send(&a, "USER c 0 * :C") == 0);
    IRC_EXPECT_NEXT(&a, "CAP", " LS :", T);
    MX_REQUIRE(irc_quiet(&a, 300), "registered before CAP END: %s", a.line);
    MX_REQUIRE(irc_send(&a, "CAP END") == 0);
    IRC_EXPECT_NEXT(&a, "001", "capper", T);
    IRC_EXPECT(&a, "422", NULL, T);
    irc_close(&a);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, password_required_when_set)
{
    struct mx_daemon *d = boot_chat(2, "password = s3cret\n");
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    /* Wrong password: 464, then ERROR and EOF. */
    MX_REQUIRE(irc_open(&a, port) == 0);
    MX_REQUIRE(irc_send(&a, "PASS nope") == 0);
    MX_REQUIRE(irc_send(&a, "NICK a") == 0 && irc_send(&a, "USER a 0 * :A") == 0);
    IRC_EXPECT_NEXT(&a, "464", NULL, T);
    IRC_EXPECT_NEXT(&a, "ERROR", ":Closing Link: ", T);
    MX_REQUIRE(irc_wait_eof(&a, T), "no EOF after ERROR");
    /* None at all: the same. */
    MX_REQUIRE(irc_open(&b, port) == 0);
    MX_REQUIRE(irc_send(&b, "NICK b") == 0 && irc_send(&b, "USER b 0 * :B") == 0);
    IRC_EXPECT_NEXT(&b, "464", NULL, T);
    IRC_EXPECT_NEXT(&b, "ERROR", NULL, T);
    MX_REQUIRE(irc_wait_eof(&b, T), "no EOF after ERROR");
    /* The right one: welcome. The failed nick is free again. */
    MX_REQUIRE(irc_open(&c, port) == 0);
    MX_REQUIRE(irc_send(&c, "PASS s3cret") == 0);
    MX_REQUIRE(irc_send(&c, "NICK a") == 0 && irc_send(&c, "USER a 0 * :A") == 0);
    IRC_EXPECT_NEXT(&c, "001", NULL, T);
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, errors_before_and_after_registration)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b;
    MX_REQUIRE(irc_open(&a, port) == 0);
    static const char *const early[] = { "JOIN #x", "PRIVMSG #x :hi", "LIST", "FOO" };
    for (size_t i = 0; i < sizeof early / sizeof early[0]; i++) {
        MX_REQUIRE(irc_send(&a, "%s", early[i]) == 0);
        IRC_EXPECT_NEXT(&a, "451", ":You have not registered", T);
    }
    MX_REQUIRE(irc_send(&a, "USER a 0 *") == 0);
    IRC_EXPECT_NEXT(&a, "461", "USER", T);
    MX_REQUIRE(irc_send(&a, "NICK") == 0);
    IRC_EXPECT_NEXT(&a, "431", NULL, T);
    static const char *const bad_nicks[] = { "1abc", "-x", "a,b", "#chan",
                                             "waytoolongnickname_abcdefghijklmnop" };
    for (size_t i = 0; i < sizeof bad_nicks / sizeof bad_nicks[0]; i++) {
        MX_REQUIRE(irc_send(&a, "NICK %s", bad_nicks[i]) == 0);
        IRC_EXPECT_NEXT(&a, "432", NULL, T);
    }
    MX_REQUIRE(irc_register(&a, "alpha", "al", T) == 0, "%s", irc_recent(&a));
    MX_REQUIRE(irc_send(&a, "FROBNICATE x") == 0);
    IRC_EXPECT_NEXT(&a, "421", "FROBNICATE :Unknown command", T);
    static const char *const short_cmds[] = { "JOIN", "PART", "MODE", "TOPIC", "KICK #x",
                                              "INVITE a", "WHOIS" };
    for (size_t i = 0; i < sizeof short_cmds / sizeof short_cmds[0]; i++) {
        MX_REQUIRE(irc_send(&a, "%s", short_cmds[i]) == 0);
        IRC_EXPECT_NEXT(&a, "461", NULL, T);
    }
    /* 433 on the same worker and from a second client. */
    MX_REQUIRE(irc_open(&b, port) == 0);
    MX_REQUIRE(irc_send(&b, "NICK ALPHA") == 0);
    IRC_EXPECT_NEXT(&b, "433", "ALPHA :Nickname is already in use", T);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* Two workers: consecutive connections go to different workers. */
Test(chat_basic, nick_collision_across_workers)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    login(&a, port, "Nick");
    MX_REQUIRE(irc_open(&b, port) == 0);
    MX_REQUIRE(irc_send(&b, "NICK nick") == 0);
    IRC_EXPECT_NEXT(&b, "433", "nick :Nickname is already in use", T);
    MX_REQUIRE(irc_send(&b, "NICK NICK") == 0);
    IRC_EXPECT_NEXT(&b, "433", NULL, T);
    MX_REQUIRE(irc_register(&b, "[a]", "b", T) == 0, "[a] refused:\n%s", irc_recent(&b));
    MX_REQUIRE(irc_open(&c, port) == 0);
    /* rfc1459: {} are the lower case of [], | of \, ~ of ^. */
    MX_REQUIRE(irc_send(&c, "NICK {A}") == 0);
    IRC_EXPECT_NEXT(&c, "433", NULL, T);
    MX_REQUIRE(irc_send(&c, "NICK {a}") == 0);
    IRC_EXPECT_NEXT(&c, "433", NULL, T);
    /* A registered client changing to a taken nick, across workers. */
    MX_REQUIRE(irc_send(&a, "NICK {A}") == 0);
    IRC_EXPECT_NEXT(&a, "433", NULL, T);
    /* Its own nick in another case is a change, not a collision. */
    MX_REQUIRE(irc_send(&a, "NICK nICK") == 0);
    IRC_EXPECT_NEXT(&a, "NICK", ":Nick!uNick@127.0.0.1 NICK :nICK", T);
    /* Once b gives "[a]" up, c may take "{a}". */
    MX_REQUIRE(irc_send(&b, "NICK other") == 0);
    IRC_EXPECT_NEXT(&b, "NICK", "NICK :other", T);
    MX_REQUIRE(irc_register(&c, "{a}", "c", T) == 0, "{a} refused:\n%s", irc_recent(&c));
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

/* Many clients on both workers race for one nick: exactly one wins. */
Test(chat_basic, nick_race_has_one_winner)
{
    enum { N = 8 };
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc c[N];
    for (int i = 0; i < N; i++) {
        MX_REQUIRE(irc_open(&c[i], port) == 0);
        MX_REQUIRE(irc_send(&c[i], "USER r%d 0 * :R", i) == 0);
    }
    for (int i = 0; i < N; i++)
        MX_REQUIRE(irc_send(&c[i], "NICK Racer") == 0);
    int won = 0, lost = 0;
    for (int i = 0; i < N; i++) {
        MX_REQUIRE(irc_next(&c[i], T) == 1, "client %d: no answer", i);
        if (irc_line_is(c[i].line, "001", NULL))
            won++;
        else if (irc_line_is(c[i].line, "433", NULL))
            lost++;
        else
            MX_REQUIRE(false, "client %d: unexpected %s", i, c[i].line);
    }
    MX_REQUIRE(won == 1 && lost == N - 1, "%d won, %d got 433", won, lost);
    for (int i = 0; i < N; i++)
        irc_close(&c[i]);
    mx_stop_ok(d, 10000);
}

/* ---- what channel peers see ---------------------------------------------- */

Test(chat_basic, nick_change_seen_once_by_every_peer)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b, c, e;
    login(&a, port, "amy");
    login(&b, port, "bob");
    login(&c, port, "cat");
    login(&e, port, "eve"); /* shares nothing with amy */
    join(&a, "#x");
    join(&a, "#y");
    join(&b, "#x");
    join(&b, "#y");
    join(&c, "#y");
    join(&e, "#z");
    MX_REQUIRE(irc_send(&a, "NICK amelia") == 0);
    IRC_EXPECT(&a, "NICK", ":amy!uamy@127.0.0.1 NICK :amelia", T);
    /* amy's next line to #y comes after the NICK on every worker. */
    MX_REQUIRE(irc_send(&a, "PRIVMSG #y :after") == 0);
    struct irc *peers[] = { &b, &c };
    for (int i = 0; i < 2; i++) {
        int nicks = 0;
        for (;;) {
            MX_REQUIRE(irc_next(peers[i], T) == 1, "%s: no marker; last lines:\n%s",
                       peers[i]->nick, irc_recent(peers[i]));
            if (irc_line_is(peers[i]->line, "NICK", NULL)) {
                MX_REQUIRE(strcmp(peers[i]->line, ":amy!uamy@127.0.0.1 NICK :amelia") == 0,
                           "%s", peers[i]->line);
                nicks++;
            }
            if (irc_line_is(peers[i]->line, "PRIVMSG", ":after"))
                break;
        }
        MX_REQUIRE(nicks == 1, "%s saw the NICK %d times", peers[i]->nick, nicks);
        MX_REQUIRE(strncmp(peers[i]->line, ":amelia!uamy@127.0.0.1 PRIVMSG #y", 33) == 0,
                   "old prefix after the change: %s", peers[i]->line);
    }
    MX_REQUIRE(count_until_sync(&a, "NICK", NULL) == 0, "amy saw her NICK twice");
    MX_REQUIRE(count_until_sync(&e, "NICK", NULL) == 0, "eve shares no channel but saw NICK");
    /* The old nick is free, the new one is taken. */
    MX_REQUIRE(irc_send(&b, "WHOIS amy") == 0);
    IRC_EXPECT(&b, "401", NULL, T);
    MX_REQUIRE(irc_send(&b, "NICK Amelia") == 0);
    IRC_EXPECT(&b, "433", NULL, T);
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    irc_close(&e);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, quit_seen_by_every_peer_with_reason)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    login(&a, port, "quitter");
    login(&b, port, "p1");
    login(&c, port, "p2");
    join(&a, "#q");
    join(&a, "#r");
    join(&b, "#q");
    join(&b, "#r");
    join(&c, "#q");
    MX_REQUIRE(irc_send(&a, "PRIVMSG #q :last words") == 0);
    MX_REQUIRE(irc_send(&a, "QUIT :gone fishing") == 0);
    IRC_EXPECT(&a, "ERROR", ":Closing Link: ", T);
    MX_REQUIRE(irc_wait_eof(&a, T), "no EOF after QUIT");
    struct irc *peers[] = { &b, &c };
    for (int i = 0; i < 2; i++) {
        IRC_EXPECT(peers[i], "PRIVMSG", "#q :last words", T);
        IRC_EXPECT_NEXT(peers[i], "QUIT", NULL, T);
        MX_REQUIRE(strncmp(peers[i]->line, ":quitter!uquitter@127.0.0.1 QUIT :", 34) == 0 &&
                   strstr(peers[i]->line, "gone fishing"), "%s", peers[i]->line);
        /* A later QUIT would have been posted before this answer, if at all. */
        MX_REQUIRE(irc_quiet(peers[i], 300), "%s: more after QUIT: %s", peers[i]->nick,
                   peers[i]->line);
    }
    /* The nick is free again and the channel lists are right. */
    MX_REQUIRE(irc_send(&b, "NAMES #q") == 0);
    IRC_EXPECT_NEXT(&b, "353", NULL, T);
    MX_REQUIRE(!strstr(b.line, "quitter"), "quitter still in NAMES: %s", b.line);
    struct irc e;
    login(&e, port, "quitter");
    irc_close(&b);
    irc_close(&c);
    irc_close(&e);
    irc_close(&a);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, part_join0_and_names)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "creator");
    login(&b, port, "second");
    MX_REQUIRE(irc_send(&a, "JOIN #p,#p2") == 0);
    IRC_EXPECT(&a, "JOIN", ":creator!ucreator@127.0.0.1 JOIN :#p", T);
    IRC_EXPECT_NEXT(&a, "353", "= #p :@creator", T);
    IRC_EXPECT_NEXT(&a, "366", "#p :End of NAMES list", T);
    IRC_EXPECT_NEXT(&a, "JOIN", "JOIN :#p2", T);
    IRC_EXPECT(&a, "366", "#p2", T);
    MX_REQUIRE(irc_send(&b, "JOIN #P") == 0); /* case-insensitive: the same channel */
    IRC_EXPECT_NEXT(&b, "JOIN", ":second!usecond@127.0.0.1 JOIN :#p", T);
    IRC_EXPECT_NEXT(&b, "353", NULL, T);
    MX_REQUIRE(strstr(b.line, "@creator") && strstr(b.line, " second") &&
               !strstr(b.line, "@second"), "NAMES: %s", b.line);
    IRC_EXPECT_NEXT(&b, "366", NULL, T);
    IRC_EXPECT(&a, "JOIN", ":second!usecond@127.0.0.1 JOIN :#p", T);
    join(&b, "#p2");
    IRC_EXPECT(&a, "JOIN", "JOIN :#p2", T);
    /* NAMES asked for: the same reply. */
    MX_REQUIRE(irc_send(&a, "NAMES #p") == 0);
    IRC_EXPECT_NEXT(&a, "353", "#p :", T);
    MX_REQUIRE(strstr(a.line, "@creator") && strstr(a.line, "second"), "%s", a.line);
    IRC_EXPECT_NEXT(&a, "366", NULL, T);
    /* PART with a reason, seen by both. */
    MX_REQUIRE(irc_send(&b, "PART #p :see you") == 0);
    IRC_EXPECT_NEXT(&b, "PART", ":second!usecond@127.0.0.1 PART #p :see you", T);
    IRC_EXPECT_NEXT(&a, "PART", ":second!usecond@127.0.0.1 PART #p :see you", T);
    MX_REQUIRE(irc_send(&b, "PART #p") == 0);
    IRC_EXPECT_NEXT(&b, "442", "#p :You're not on that channel", T);
    MX_REQUIRE(irc_send(&b, "PART #nowhere") == 0);
    IRC_EXPECT_NEXT(&b, "403", "#nowhere", T);
    /* JOIN 0: a PART for every channel. */
    join(&b, "#p");
    IRC_EXPECT(&a, "JOIN", "second", T);
    MX_REQUIRE(irc_send(&b, "JOIN 0") == 0);
    int parts = 0;
    for (int i = 0; i < 2; i++) {
        IRC_EXPECT_NEXT(&b, "PART", ":second!usecond@127.0.0.1 PART #p", T);
        parts |= strstr(b.line, "PART #p2") ? 2 : 1;
    }
    MX_REQUIRE(parts == 3, "JOIN 0 did not part both channels");
    for (int i = 0; i < 2; i++)
        IRC_EXPECT_NEXT(&a, "PART", "second!usecond@127.0.0.1 PART #p", T);
    MX_REQUIRE(irc_send(&a, "NAMES #p,#p2") == 0);
    for (int i = 0; i < 2; i++) {
        IRC_EXPECT_NEXT(&a, "353", ":@creator", T);
        MX_REQUIRE(!strstr(a.line, "second"), "%s", a.line);
        IRC_EXPECT_NEXT(&a, "366", NULL, T);
    }
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, list_topic_who_whois)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "lister");
    login(&b, port, "other");
    join(&a, "#lt");
    join(&b, "#lt");
    join(&a, "#solo");
    MX_REQUIRE(irc_send(&b, "LIST") == 0);
    IRC_EXPECT_NEXT(&b, "321", NULL, T);
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        IRC_EXPECT_NEXT(&b, "322", NULL, T);
        seen |= strstr(b.line, " #lt 2 :") ? 1 : strstr(b.line, " #solo 1 :") ? 2 : 4;
    }
    MX_REQUIRE(seen == 3, "LIST entries wrong:\n%s", irc_recent(&b));
    IRC_EXPECT_NEXT(&b, "323", NULL, T);
    MX_REQUIRE(irc_send(&b, "LIST #solo") == 0);
    IRC_EXPECT_NEXT(&b, "321", NULL, T);
    IRC_EXPECT_NEXT(&b, "322", "#solo 1", T);
    IRC_EXPECT_NEXT(&b, "323", NULL, T);
    /* TOPIC: none, set (seen by both), then 332/333. */
    MX_REQUIRE(irc_send(&b, "TOPIC #lt") == 0);
    IRC_EXPECT_NEXT(&b, "331", "#lt :No topic is set", T);
    MX_REQUIRE(irc_send(&a, "TOPIC #lt :the topic here") == 0);
    IRC_EXPECT(&a, "TOPIC", ":lister!ulister@127.0.0.1 TOPIC #lt :the topic here", T);
    IRC_EXPECT(&b, "TOPIC", ":lister!ulister@127.0.0.1 TOPIC #lt :the topic here", T);
    MX_REQUIRE(irc_send(&b, "TOPIC #lt") == 0);
    IRC_EXPECT_NEXT(&b, "332", "#lt :the topic here", T);
    IRC_EXPECT_NEXT(&b, "333", "#lt lister", T);
    MX_REQUIRE(irc_send(&b, "TOPIC #nowhere") == 0);
    IRC_EXPECT_NEXT(&b, "403", NULL, T);
    MX_REQUIRE(irc_send(&b, "TOPIC #solo :mine") == 0);
    IRC_EXPECT_NEXT(&b, "442", NULL, T);
    MX_REQUIRE(irc_send(&b, "LIST #lt") == 0);
    IRC_EXPECT(&b, "322", "#lt 2 :the topic here", T);
    IRC_EXPECT_NEXT(&b, "323", NULL, T);
    /* WHO #lt: one 352 per member, then 315. */
    MX_REQUIRE(irc_send(&b, "WHO #lt") == 0);
    seen = 0;
    for (int i = 0; i < 2; i++) {
        IRC_EXPECT_NEXT(&b, "352", "#lt ", T);
        seen |= strstr(b.line, " #lt ulister 127.0.0.1 test.muxd lister H@ :0 Test lister")
                ? 1 : strstr(b.line, " #lt uother 127.0.0.1 test.muxd other H :0") ? 2 : 4;
    }
    MX_REQUIRE(seen == 3, "WHO lines wrong:\n%s", irc_recent(&b));
    IRC_EXPECT_NEXT(&b, "315", "#lt :End of WHO list", T);
    /* WHOIS: 311 ... 318; unknown nick: 401 and 318. */
    MX_REQUIRE(irc_send(&b, "WHOIS lister") == 0);
    IRC_EXPECT_NEXT(&b, "311", "other lister ulister 127.0.0.1 * :Test lister", T);
    IRC_EXPECT(&b, "318", "lister :End of WHOIS", T);
    MX_REQUIRE(irc_send(&b, "WHOIS nobody") == 0);
    IRC_EXPECT_NEXT(&b, "401", "nobody", T);
    IRC_EXPECT_NEXT(&b, "318", NULL, T);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

Test(chat_basic, messages_ping_away_and_errors)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "sender");
    login(&b, port, "target"); /* on the other worker */
    MX_REQUIRE(irc_send(&a, "PING :tok123") == 0);
    IRC_EXPECT_NEXT(&a, "PONG", ":test.muxd PONG test.muxd :tok123", T);
    /* To a nick, across workers; NOTICE too. */
    MX_REQUIRE(irc_send(&a, "PRIVMSG target :hello there") == 0);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", ":sender!usender@127.0.0.1 PRIVMSG target :hello there", T);
    MX_REQUIRE(irc_send(&b, "NOTICE sender :back at you") == 0);
    IRC_EXPECT_NEXT(&a, "NOTICE", ":target!utarget@127.0.0.1 NOTICE sender :back at you", T);
    /* AWAY: 306, 301 on a PRIVMSG, 305. */
    MX_REQUIRE(irc_send(&b, "AWAY :out to lunch") == 0);
    IRC_EXPECT_NEXT(&b, "306", NULL, T);
    MX_REQUIRE(irc_send(&a, "PRIVMSG target :you there?") == 0);
    IRC_EXPECT_NEXT(&a, "301", "target :out to lunch", T);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", "you there?", T);
    MX_REQUIRE(irc_send(&b, "AWAY") == 0);
    IRC_EXPECT_NEXT(&b, "305", NULL, T);
    MX_REQUIRE(irc_send(&a, "PRIVMSG target :now?") == 0);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", "now?", T);
    MX_REQUIRE(irc_quiet(&a, 200), "301 after AWAY was cleared: %s", a.line);
    /* The errors. */
    MX_REQUIRE(irc_send(&a, "PRIVMSG nobody :x") == 0);
    IRC_EXPECT_NEXT(&a, "401", "nobody :No such nick/channel", T);
    MX_REQUIRE(irc_send(&a, "PRIVMSG #nowhere :x") == 0);
    IRC_EXPECT_NEXT(&a, "401", "#nowhere", T);
    MX_REQUIRE(irc_send(&a, "JOIN nochan") == 0);
    IRC_EXPECT_NEXT(&a, "403", "nochan", T);
    join(&b, "#closed");
    MX_REQUIRE(irc_send(&a, "PRIVMSG #closed :let me in") == 0); /* +n */
    IRC_EXPECT_NEXT(&a, "404", "#closed :Cannot send to channel", T);
    MX_REQUIRE(irc_send(&a, "PRIVMSG") == 0);
    IRC_EXPECT_NEXT(&a, "411", NULL, T);
    MX_REQUIRE(irc_send(&a, "PRIVMSG target") == 0);
    IRC_EXPECT_NEXT(&a, "412", NULL, T);
    MX_REQUIRE(irc_send(&a, "PRIVMSG target :") == 0);
    IRC_EXPECT_NEXT(&a, "412", NULL, T);
    MX_REQUIRE(irc_send(&a, "PART #closed") == 0);
    IRC_EXPECT_NEXT(&a, "442", NULL, T);
    MX_REQUIRE(irc_send(&a, "NOTICE nobody :x") == 0); /* NOTICE: never an error */
    MX_REQUIRE(irc_send(&a, "PING :after") == 0);
    IRC_EXPECT_NEXT(&a, "PONG", ":after", T);
    MX_REQUIRE(irc_quiet(&b, 100), "b got: %s", b.line);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* ---- line rules ---------------------------------------------------------- */

Test(chat_basic, line_rules)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "liner");
    login(&b, port, "peer");
    /* 600 bytes: 417, the rest of the line is dropped, the next one works. */
    char big[700];
    int n = snprintf(big, sizeof big, "PRIVMSG peer :");
    memset(big + n, 'x', 600 - (size_t)n - 2);
    memcpy(big + 598, "\r\n", 2);
    MX_REQUIRE(irc_send_raw(&a, big, 600) == 0);
    IRC_EXPECT_NEXT(&a, "417", NULL, T);
    MX_REQUIRE(irc_send(&a, "PING :alive1") == 0);
    IRC_EXPECT_NEXT(&a, "PONG", ":alive1", T);
    MX_REQUIRE(irc_quiet(&b, 100), "the long line was delivered: %.60s", b.line);
    /* Exactly 512 bytes with CR LF: accepted. */
    n = snprintf(big, sizeof big, "PRIVMSG peer :");
    memset(big + n, 'y', 510 - (size_t)n);
    memcpy(big + 510, "\r\n", 2);
    MX_REQUIRE(irc_send_raw(&a, big, 512) == 0);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", ":liner!uliner@127.0.0.1 PRIVMSG peer :yyyy", T);
    MX_REQUIRE(strlen(b.line) <= 510, "relayed line of %zu bytes", strlen(b.line));
    /* 513 bytes with CR LF: 417. */
    memset(big + n, 'z', 511 - (size_t)n);
    memcpy(big + 511, "\r\n", 2);
    MX_REQUIRE(irc_send_raw(&a, big, 513) == 0);
    IRC_EXPECT_NEXT(&a, "417", NULL, T);
    /* NUL and bare CR: rejected with a NOTICE, the connection goes on. */
    static const char nul[] = "PRIVMSG peer :a\0b\r\n";
    MX_REQUIRE(irc_send_raw(&a, nul, sizeof nul - 1) == 0);
    IRC_EXPECT_NEXT(&a, "NOTICE", "Line rejected", T);
    MX_REQUIRE(irc_send_raw(&a, LIT("PRIVMSG peer :a\rb\r\n")) == 0);
    IRC_EXPECT_NEXT(&a, "NOTICE", "Line rejected", T);
    MX_REQUIRE(irc_send(&a, "PING :alive2") == 0);
    IRC_EXPECT_NEXT(&a, "PONG", ":alive2", T);
    MX_REQUIRE(irc_quiet(&b, 100), "a rejected line was delivered: %s", b.line);
    /* LF-only line endings; bytes that are not UTF-8 pass through. */
    MX_REQUIRE(irc_send_raw(&a, LIT("PRIVMSG peer :lf only\nPING :lf\n")) == 0);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", "PRIVMSG peer :lf only", T);
    IRC_EXPECT_NEXT(&a, "PONG", ":lf", T);
    MX_REQUIRE(irc_send_raw(&a, LIT("PRIVMSG peer :\xff\xfe bytes\r\n")) == 0);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", "PRIVMSG peer :\xff\xfe bytes", T);
    /* A line split over several sends is put together. */
    MX_REQUIRE(irc_send_raw(&a, LIT("PRIV")) == 0);
    mx_sleep_ms(50);
    MX_REQUIRE(irc_send_raw(&a, LIT("MSG peer :in pie")) == 0);
    mx_sleep_ms(50);
    MX_REQUIRE(irc_send_raw(&a, LIT("ces\r\n")) == 0);
    IRC_EXPECT_NEXT(&b, "PRIVMSG", "PRIVMSG peer :in pieces", T);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* ---- closing without QUIT, stopping with members ------------------------- */

Test(chat_basic, closed_connection_seen_as_quit)
{
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc a, b, c, e;
    login(&a, port, "watcher");
    login(&b, port, "closer");
    login(&c, port, "resetter");
    login(&e, port, "nobody2"); /* on no channel: its close reaches no one */
    join(&a, "#gone");
    join(&b, "#gone");
    join(&c, "#gone");
    IRC_EXPECT(&a, "JOIN", ":resetter!", T);
    irc_close(&b); /* FIN */
    IRC_EXPECT_NEXT(&a, "QUIT", ":closer!ucloser@127.0.0.1 QUIT :", T);
    mx_close_rst(c.fd); /* RST */
    c.fd = -1;
    IRC_EXPECT_NEXT(&a, "QUIT", ":resetter!uresetter@127.0.0.1 QUIT :", T);
    irc_close(&e);
    MX_REQUIRE(irc_quiet(&a, 200), "watcher got: %s", a.line);
    /* Both nicks are free again. */
    struct irc b2, c2;
    login(&b2, port, "closer");
    login(&c2, port, "resetter");
    irc_close(&a);
    irc_close(&c);
    irc_close(&b2);
    irc_close(&c2);
    mx_stop_ok(d, 10000);
}

/* SIGTERM while clients on both workers sit in shared channels and one is
 * sending: a clean exit (no sanitizer report, no leak), every client gets
 * ERROR :Closing Link: NICK (Server shutting down), then EOF. */
Test(chat_basic, stop_with_clients_in_channels)
{
    enum { N = 12 };
    struct mx_daemon *d = boot_chat(2, NULL);
    int port = mx_port(d, "chat");
    struct irc c[N];
    for (int i = 0; i < N; i++) {
        char nick[16];
        snprintf(nick, sizeof nick, "st%d", i);
        login(&c[i], port, nick);
        join(&c[i], "#stay");
        join(&c[i], i % 2 ? "#odd" : "#even");
    }
    /* Lines in flight across workers when the stop comes. */
    char burst[200 * 40];
    size_t len = 0;
    for (int k = 0; k < 200; k++)
        len += (size_t)snprintf(burst + len, sizeof burst - len, "PRIVMSG #stay :m%d\r\n", k);
    MX_REQUIRE(irc_send_raw(&c[0], burst, len) == 0);
    MX_REQUIRE(irc_send_raw(&c[1], burst, len) == 0);
    mx_stop_ok(d, 15000);
    for (int i = 0; i < N; i++) {
        char want[64];
        snprintf(want, sizeof want, ":Closing Link: st%d (Server shutting down)", i);
        MX_REQUIRE(irc_expect(&c[i], "ERROR", want, 10000), "st%d: no '%s'; last lines:\n%s", i,
                   want, irc_recent(&c[i]));
        MX_REQUIRE(irc_wait_eof(&c[i], 10000), "st%d: no EOF after the stop", i);
        irc_close(&c[i]);
    }
}
