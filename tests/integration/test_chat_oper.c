/* test_chat_oper.c - IRC operators: OPER (381 and +o, 464, 491), 313 in
 * WHOIS and '*' in WHO, KILL across workers (the victim's ERROR, the QUIT
 * its peers see, 481, 401), WALLOPS to +w users on both workers, REHASH
 * (382, then the reload SIGHUP runs: a new MOTD), STATS u / m / l, and
 * host cloaks (others see the cloak, the client itself and opers the
 * address).
 *
 * Two workers: round-robin puts consecutive connections on different
 * workers, so the 1st and 2nd client never share one. The oper password's
 * hash is made here with crypt(3), as `mkpasswd -m sha-512` would. */
#include "harness.h"
#include "irc.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(chat_oper, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define T 5000
#define PASSWORD "s3cret-oper"
#define SECRET "a-cloak-secret-of-some-length"

/* [oper boss] from anywhere on loopback, [oper far] from nowhere we are;
 * extra goes into the chat listener. */
static const char *config_with(const char *extra)
{
    static char text[2048];
    const char *hash = crypt(PASSWORD, "$6$muxdtestsalt$");
    MX_REQUIRE(hash && hash[0] == '$', "crypt() cannot make a $6$ hash");
    snprintf(text, sizeof text,
             "[server]\nworkers = 2\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
             "server_name = test.muxd\nflood_rate = 0\n%s"
             "[oper boss]\npassword = %s\nhosts = *!*@127.0.0.1,*!*@::1\n"
             "[oper far]\npassword = %s\nhosts = *!*@10.9.9.9\n",
             extra, hash, hash);
    return text;
}

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

/* c sends line and the next thing it reads is numeric num. */
static void answered(struct irc *c, const char *line, const char *num, const char *text)
{
    MX_REQUIRE(irc_send(c, "%s", line) == 0);
    MX_REQUIRE(irc_expect_next(c, num, text, T), "%s: '%s' did not get %s; last lines:\n%s",
               c->nick, line, num, irc_recent(c));
}

static void become_oper(struct irc *c)
{
    answered(c, "OPER boss " PASSWORD, "381", ":You are now an IRC operator");
    char buf[200];
    snprintf(buf, sizeof buf, ":%s MODE %s :+o", c->nick, c->nick);
    const char *want = buf;
    IRC_EXPECT_NEXT(c, "MODE", want, T);
}

Test(chat_oper, oper_refusals_then_success_shows_in_whois_and_who)
{
    struct mx_daemon *d = mx_boot(config_with(""));
    int port = mx_port(d, "chat");
    struct irc alice, bob;
    login(&alice, port, "alice");
    login(&bob, port, "bob");
    answered(&alice, "OPER boss wrong", "464", ":Password incorrect");
    answered(&alice, "OPER nobody " PASSWORD, "491", NULL);
    answered(&alice, "OPER far " PASSWORD, "491", NULL);
    answered(&alice, "OPER boss", "461", NULL);
    answered(&alice, "MODE alice", "221", "alice +");
    MX_REQUIRE(!strstr(alice.line, "o"), "%s", alice.line);
    /* Not an oper yet: the oper-only commands are refused. */
    answered(&alice, "KILL bob :no", "481", NULL);
    answered(&alice, "WALLOPS :no", "481", NULL);
    answered(&alice, "REHASH", "481", NULL);
    become_oper(&alice);
    answered(&alice, "MODE alice", "221", "alice +o");
    /* bob, on the other worker, sees it. */
    answered(&bob, "WHOIS alice", "311", "alice ualice 127.0.0.1");
    IRC_EXPECT(&bob, "313", "alice :is an IRC operator", T);
    IRC_EXPECT(&bob, "318", NULL, T);
    answered(&bob, "WHO alice", "352", " H* :0 ");
    IRC_EXPECT_NEXT(&bob, "315", NULL, T);
    /* MODE -o drops it; +o does not come back that way. */
    MX_REQUIRE(irc_send(&alice, "MODE alice -o+o") == 0);
    IRC_EXPECT_NEXT(&alice, "MODE", ":alice MODE alice :-o", T);
    answered(&bob, "WHOIS alice", "311", NULL);
    IRC_EXPECT_NEXT(&bob, "312", NULL, T);
    IRC_EXPECT_NEXT(&bob, "317", NULL, T);
    IRC_EXPECT_NEXT(&bob, "318", NULL, T);
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
}

Test(chat_oper, kill_across_workers)
{
    struct mx_daemon *d = mx_boot(config_with(""));
    int port = mx_port(d, "chat");
    struct irc alice, bob, carol;
    login(&alice, port, "alice"); /* worker 0 */
    login(&bob, port, "bob");     /* worker 1 */
    login(&carol, port, "carol"); /* worker 0 */
    IRC_JOIN(&bob, "#c", T);
    IRC_JOIN(&carol, "#c", T);
    become_oper(&alice);
    answered(&alice, "KILL nobody :x", "401", "nobody :No such nick/channel");
    answered(&carol, "KILL bob :x", "481", NULL);
    MX_REQUIRE(irc_send(&alice, "KILL bob :spamming") == 0);
    IRC_EXPECT(&bob, "ERROR", "ERROR :Closing Link: bob (Killed (alice (spamming)))", T);
    MX_REQUIRE(irc_wait_eof(&bob, T), "bob was not closed");
    IRC_EXPECT(&carol, "QUIT", ":bob!ubob@127.0.0.1 QUIT :Killed (alice (spamming))", T);
    answered(&alice, "WHOIS bob", "401", NULL);
    /* A victim on the killer's own worker: carol. */
    MX_REQUIRE(irc_send(&alice, "KILL carol :bye") == 0);
    IRC_EXPECT(&carol, "ERROR", "(Killed (alice (bye)))", T);
    MX_REQUIRE(irc_wait_eof(&carol, T), "carol was not closed");
    MX_REQUIRE(daemon_wait_log(d, "KILLs bob", T), "the KILL was not logged");
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
    irc_close(&carol);
}

Test(chat_oper, wallops_reach_plus_w_on_both_workers)
{
    struct mx_daemon *d = mx_boot(config_with(""));
    int port = mx_port(d, "chat");
    struct irc alice, bob, carol, dave;
    login(&alice, port, "alice"); /* worker 0 */
    login(&bob, port, "bob");     /* worker 1 */
    login(&carol, port, "carol"); /* worker 0 */
    login(&dave, port, "dave");   /* worker 1 */
    answered(&bob, "MODE bob +w", "MODE", ":bob MODE bob :+w");
    answered(&carol, "MODE carol +wi", "MODE", ":carol MODE carol :+iw");
    answered(&carol, "MODE carol", "221", "carol +iw");
    become_oper(&alice);
    MX_REQUIRE(irc_send(&alice, "WALLOPS :the server restarts at noon") == 0);
    const char *want = ":alice!ualice@127.0.0.1 WALLOPS :the server restarts at noon";
    IRC_EXPECT(&bob, "WALLOPS", want, T);
    IRC_EXPECT(&carol, "WALLOPS", want, T);
    /* dave (no +w) and alice (no +w either) get nothing. */
    int n = 0;
    MX_REQUIRE(irc_sync(&dave, "d", "WALLOPS", NULL, &n, T) == 0 && n == 0, "dave: %d", n);
    MX_REQUIRE(irc_sync(&alice, "a", "WALLOPS", NULL, &n, T) == 0 && n == 0, "alice: %d", n);
    answered(&dave, "WALLOPS :me too", "481", NULL);
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
    irc_close(&carol);
    irc_close(&dave);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    MX_REQUIRE(f, "cannot write %s", path);
    MX_REQUIRE(fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

/* REHASH is SIGHUP's reload: the MOTD file is read again for everyone. */
Test(chat_oper, rehash_applies_a_new_motd)
{
    char motd[] = "/tmp/muxd-oper-motd-XXXXXX";
    int fd = mkstemp(motd);
    MX_REQUIRE(fd >= 0);
    close(fd);
    write_file(motd, "the old motd\n");
    char extra[128];
    snprintf(extra, sizeof extra, "motd_file = %s\n", motd);
    struct mx_daemon *d = mx_boot(config_with(extra));
    int port = mx_port(d, "chat");
    struct irc alice, bob;
    login(&alice, port, "alice");
    login(&bob, port, "bob");
    answered(&bob, "MOTD", "375", NULL);
    IRC_EXPECT_NEXT(&bob, "372", "the old motd", T);
    IRC_EXPECT_NEXT(&bob, "376", NULL, T);
    become_oper(&alice);
    write_file(motd, "the new motd\n");
    size_t from = daemon_log_len(d);
    char want[300];
    snprintf(want, sizeof want, "%s :Rehashing", d->conf_path);
    answered(&alice, "REHASH", "382", want);
    /* The line SIGHUP's reload logs: no key changed, only the MOTD file's
     * text, which every reload reads again. */
    MX_REQUIRE(daemon_wait_log_from(d, from, "reload: ", T), "no reload in the log");
    MX_REQUIRE(daemon_wait_log_from(d, from, "unchanged", T), "not the SIGHUP reload");
    answered(&bob, "MOTD", "375", NULL);
    IRC_EXPECT_NEXT(&bob, "372", "the new motd", T);
    struct irc carol;
    login(&carol, port, "carol");
    answered(&carol, "MOTD", "375", NULL);
    IRC_EXPECT_NEXT(&carol, "372", "the new motd", T);
    unlink(motd);
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
    irc_close(&carol);
}

Test(chat_oper, stats_u_m_l)
{
    struct mx_daemon *d = mx_boot(config_with(""));
    int port = mx_port(d, "chat");
    struct irc alice, bob;
    login(&alice, port, "alice");
    login(&bob, port, "bob");
    answered(&bob, "STATS u", "242", ":Server Up 0 days 0:");
    IRC_EXPECT_NEXT(&bob, "219", "u :End of STATS report", T);
    MX_REQUIRE(irc_send(&alice, "PRIVMSG bob :one") == 0);
    MX_REQUIRE(irc_send(&bob, "PRIVMSG alice :two") == 0);
    IRC_EXPECT(&alice, "PRIVMSG", "two", T);
    IRC_EXPECT(&bob, "PRIVMSG", "one", T);
    /* Counted on both workers: two PRIVMSGs, one STATS before this. */
    answered(&bob, "STATS m", "212", NULL);
    bool privmsg = false, stats = false;
    do {
        privmsg |= strstr(bob.line, " PRIVMSG 2") != NULL;
        stats |= strstr(bob.line, " STATS 1") != NULL;
        MX_REQUIRE(irc_next(&bob, T) == 1, "no end of STATS m:\n%s", irc_recent(&bob));
    } while (irc_line_is(bob.line, "212", NULL));
    MX_REQUIRE(privmsg && stats, "STATS m:\n%s", irc_recent(&bob));
    MX_REQUIRE(irc_line_is(bob.line, "219", "m :End of STATS report"), "%s", bob.line);
    answered(&bob, "STATS l", "481", NULL);
    IRC_EXPECT_NEXT(&bob, "219", "l :End", T);
    become_oper(&alice);
    answered(&alice, "STATS l", "211", NULL);
    bool saw_bob = false;
    do {
        saw_bob |= strstr(alice.line, " bob[ubob@127.0.0.1] ") != NULL;
        MX_REQUIRE(irc_next(&alice, T) == 1, "no end of STATS l");
    } while (irc_line_is(alice.line, "211", NULL));
    MX_REQUIRE(saw_bob, "STATS l:\n%s", irc_recent(&alice));
    MX_REQUIRE(irc_line_is(alice.line, "219", "l :End"), "%s", alice.line);
    answered(&alice, "STATS x", "219", "x :End");
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
}

Test(chat_oper, cloaks_hide_addresses_but_not_from_opers_or_self)
{
    struct mx_daemon *d = mx_boot(config_with("cloak_hosts = on\ncloak_secret = " SECRET "\n"));
    int port = mx_port(d, "chat");
    struct irc alice, bob, carol;
    login(&alice, port, "alice");
    login(&bob, port, "bob");
    login(&carol, port, "carol");
    IRC_JOIN(&alice, "#c", T);
    IRC_JOIN(&bob, "#c", T);
    /* bob sees alice's cloak, never her address. */
    MX_REQUIRE(irc_send(&alice, "PRIVMSG #c :hello") == 0);
    IRC_EXPECT(&bob, "PRIVMSG", ".cloak PRIVMSG #c :hello", T);
    char cloak[64];
    const char *at = strchr(bob.line, '@');
    MX_REQUIRE(at, "%s", bob.line);
    snprintf(cloak, sizeof cloak, "%.*s", (int)strcspn(at + 1, " "), at + 1);
    MX_REQUIRE(strlen(cloak) == 23 && !strstr(cloak, "127.0.0.1"), "cloak '%s'", cloak);
    answered(&bob, "WHOIS alice", "311", cloak);
    IRC_EXPECT_NEXT(&bob, "319", NULL, T);
    IRC_EXPECT_NEXT(&bob, "312", NULL, T);
    IRC_EXPECT_NEXT(&bob, "317", NULL, T);
    IRC_EXPECT_NEXT(&bob, "318", NULL, T);
    answered(&bob, "WHO #c", "352", cloak);
    IRC_EXPECT(&bob, "315", NULL, T);
    /* The same address, the same cloak: bob's own is alice's. */
    answered(&bob, "WHOIS bob", "311", cloak);
    IRC_EXPECT(&bob, "338", "bob 127.0.0.1 :actually using host", T);
    /* An oper sees the address. */
    become_oper(&carol);
    answered(&carol, "WHOIS alice", "311", cloak);
    IRC_EXPECT(&carol, "338", "alice 127.0.0.1 :actually using host", T);
    char *log = daemon_log(d);
    MX_REQUIRE(!strstr(log, SECRET), "the cloak secret is in the log");
    free(log);
    mx_require_clean_log(d);
    irc_close(&alice);
    irc_close(&bob);
    irc_close(&carol);
}
