/* test_chat_modes.c - channel operators and modes: +n +t +s +i +k +l +m
 * +b +o +v, their refusals (482, 471, 473, 474, 475), INVITE, KICK across
 * workers, 441, 443, 472, user modes (221, 501, 502), MODE queries
 * (324/329) and the ban list (367/368); what a MODE line may carry: +l
 * and ban mask validation (696), MODES and MAXLIST (478), one ban list per
 * command; ban exceptions (+e, 348/349) and invite exceptions (+I,
 * 346/347).
 *
 * Two workers: round-robin puts consecutive connections on different
 * workers, so op (1st) and bob (2nd) never share one. */
#include "harness.h"
#include "irc.h"

#include <stdio.h>
#include <string.h>

TestSuite(chat_modes, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define T 5000
#define CHAT_TEST_MAXLIST 100 /* 005 MAXLIST=b:100,e:100,I:100 */

static const char config[] =
    "[server]\nworkers = 2\n"
    "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
    "server_name = test.muxd\nflood_rate = 0\n";

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

static void join(struct irc *c, const char *chan, const char *key)
{
    MX_REQUIRE(irc_join(c, chan, key, T) == 0, "%s cannot join %s; last lines:\n%s",
               c->nick, chan, irc_recent(c));
}

/* c sends line and the next thing it reads is numeric num. */
static void refused(struct irc *c, const char *line, const char *num)
{
    MX_REQUIRE(irc_send(c, "%s", line) == 0);
    MX_REQUIRE(irc_expect_next(c, num, NULL, T), "%s: '%s' did not get %s; last lines:\n%s",
               c->nick, line, num, irc_recent(c));
}

/* op sets mode on #m; every client in `seen` gets the MODE line. */
static void set_mode(struct irc *op, const char *modes, const char *echo,
                     struct irc **seen, int nseen)
{
    MX_REQUIRE(irc_send(op, "MODE #m %s", modes) == 0);
    char want[256];
    snprintf(want, sizeof want, ":op!uop@127.0.0.1 MODE #m %s", echo);
    for (int i = 0; i < nseen; i++)
        MX_REQUIRE(irc_expect(seen[i], "MODE", want, T), "%s: no '%s'; last lines:\n%s",
                   seen[i]->nick, want, irc_recent(seen[i]));
}

/* The next line c reads is exactly want. */
static void next_is(struct irc *c, const char *want)
{
    MX_REQUIRE(irc_next(c, T) == 1, "%s: nothing instead of '%s'; last lines:\n%s", c->nick,
               want, irc_recent(c));
    MX_REQUIRE(strcmp(c->line, want) == 0, "%s: '%s' instead of '%s'", c->nick, c->line, want);
}

/* op sends "MODE #m modes"; it and bob each read exactly the MODE line
 * ":op!uop@127.0.0.1 MODE #m echo" next. */
static void mode_seen(struct irc *op, struct irc *bob, const char *modes, const char *echo)
{
    char want[512];
    snprintf(want, sizeof want, ":op!uop@127.0.0.1 MODE #m %s", echo);
    MX_REQUIRE(irc_send(op, "MODE #m %s", modes) == 0);
    next_is(op, want);
    next_is(bob, want);
}

/* op sends "MODE #m modes" and reads exactly the 696 for it. */
static void invalid(struct irc *op, const char *modes, const char *param, const char *why)
{
    char want[512];
    snprintf(want, sizeof want, ":test.muxd 696 op #m %s :%s", param, why);
    MX_REQUIRE(irc_send(op, "MODE #m %s", modes) == 0);
    next_is(op, want);
}

/* c's MODE #m answer: 324 is exactly "#m modes", then 329. */
static void modes_are(struct irc *c, const char *modes)
{
    char want[256];
    snprintf(want, sizeof want, ":test.muxd 324 %s #m %s", c->nick, modes);
    MX_REQUIRE(irc_send(c, "MODE #m") == 0);
    next_is(c, want);
    IRC_EXPECT_NEXT(c, "329", NULL, T);
}

Test(chat_modes, first_member_is_op_and_modes_need_it)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob, out;
    login(&op, port, "op");
    login(&bob, port, "bob");
    login(&out, port, "out");
    join(&op, "#m", NULL);
    join(&bob, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":bob!ubob@127.0.0.1 JOIN :#m", T);
    /* bob's own NAMES on joining showed @op. */
    MX_REQUIRE(irc_send(&bob, "NAMES #m") == 0);
    IRC_EXPECT_NEXT(&bob, "353", "@op", T);
    MX_REQUIRE(!strstr(bob.line, "@bob"), "%s", bob.line);
    IRC_EXPECT_NEXT(&bob, "366", NULL, T);
    /* Queries: 324 (+nt by default) and 329. */
    MX_REQUIRE(irc_send(&bob, "MODE #m") == 0);
    IRC_EXPECT_NEXT(&bob, "324", "bob #m +nt", T);
    IRC_EXPECT_NEXT(&bob, "329", "bob #m ", T);
    refused(&bob, "MODE #nowhere", "403");
    /* Not an operator: 482 for modes, topic (+t), kick, +i invite. */
    refused(&bob, "MODE #m +s", "482");
    refused(&bob, "MODE #m +o bob", "482");
    refused(&bob, "MODE #m -t", "482");
    refused(&bob, "TOPIC #m :bob's topic", "482");
    refused(&bob, "KICK #m op", "482");
    MX_REQUIRE(irc_quiet(&op, 100), "op saw something: %s", op.line);
    /* +n: an outsider cannot speak, +t is off -> members can set topics. */
    refused(&out, "PRIVMSG #m :hi from outside", "404");
    struct irc *both[] = { &op, &bob };
    set_mode(&op, "-t", "-t", both, 2);
    MX_REQUIRE(irc_send(&bob, "TOPIC #m :bob's topic") == 0);
    IRC_EXPECT(&op, "TOPIC", ":bob!ubob@127.0.0.1 TOPIC #m :bob's topic", T);
    IRC_EXPECT(&bob, "TOPIC", "TOPIC #m :bob's topic", T);
    set_mode(&op, "+t-n", "+t-n", both, 2);
    MX_REQUIRE(irc_send(&out, "PRIVMSG #m :now I can") == 0);
    IRC_EXPECT(&bob, "PRIVMSG", ":out!uout@127.0.0.1 PRIVMSG #m :now I can", T);
    IRC_EXPECT(&op, "PRIVMSG", "now I can", T);
    set_mode(&op, "+n", "+n", both, 2);
    /* 472 for an unknown letter; the known ones still apply. */
    MX_REQUIRE(irc_send(&op, "MODE #m +zm") == 0);
    IRC_EXPECT_NEXT(&op, "472", "z :is unknown mode char", T);
    IRC_EXPECT_NEXT(&op, "MODE", ":op!uop@127.0.0.1 MODE #m +m", T);
    IRC_EXPECT(&bob, "MODE", "MODE #m +m", T);
    /* +m: bob (no voice) is refused; +v lets him speak; -v again. */
    refused(&bob, "PRIVMSG #m :muted?", "404");
    set_mode(&op, "+v bob", "+v bob", both, 2);
    MX_REQUIRE(irc_send(&bob, "PRIVMSG #m :voiced") == 0);
    IRC_EXPECT(&op, "PRIVMSG", ":bob!ubob@127.0.0.1 PRIVMSG #m :voiced", T);
    MX_REQUIRE(irc_send(&bob, "NAMES #m") == 0);
    IRC_EXPECT_NEXT(&bob, "353", "+bob", T);
    IRC_EXPECT_NEXT(&bob, "366", NULL, T);
    set_mode(&op, "-v+o bob bob", "-v+o bob bob", both, 2);
    /* Now an operator, bob can set modes: -m, seen by op. */
    MX_REQUIRE(irc_send(&bob, "MODE #m -m") == 0);
    IRC_EXPECT(&op, "MODE", ":bob!ubob@127.0.0.1 MODE #m -m", T);
    IRC_EXPECT(&bob, "MODE", "MODE #m -m", T);
    MX_REQUIRE(irc_send(&op, "MODE #m +o out") == 0);
    IRC_EXPECT_NEXT(&op, "441", "out #m :They aren't on that channel", T);
    MX_REQUIRE(irc_send(&op, "MODE #m +o ghost") == 0);
    IRC_EXPECT_NEXT(&op, "401", "ghost", T);
    irc_close(&op);
    irc_close(&bob);
    irc_close(&out);
    mx_stop_ok(d, 10000);
}

Test(chat_modes, join_refusals_invite_key_limit_ban)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob, cat;
    login(&op, port, "op");
    login(&bob, port, "bob");
    login(&cat, port, "cat");
    join(&op, "#m", NULL);
    struct irc *ops[] = { &op };
    /* +i: 473, INVITE (341 + INVITE line), then the join works. */
    set_mode(&op, "+i", "+i", ops, 1);
    refused(&bob, "JOIN #m", "473");
    refused(&bob, "INVITE cat #m", "442");
    refused(&op, "INVITE ghost #m", "401");
    MX_REQUIRE(irc_send(&op, "INVITE bob #m") == 0);
    IRC_EXPECT_NEXT(&op, "341", "op bob #m", T);
    IRC_EXPECT_NEXT(&bob, "INVITE", ":op!uop@127.0.0.1 INVITE bob :#m", T);
    join(&bob, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":bob!ubob@127.0.0.1 JOIN :#m", T);
    refused(&op, "INVITE bob #m", "443");
    refused(&bob, "INVITE cat #m", "482"); /* +i: only operators invite */
    struct irc *both[] = { &op, &bob };
    set_mode(&op, "-i", "-i", both, 2);
    /* +k: 475 without or with a wrong key. */
    set_mode(&op, "+k sesame", "+k sesame", both, 2);
    refused(&cat, "JOIN #m", "475");
    refused(&cat, "JOIN #m wrong", "475");
    MX_REQUIRE(irc_send(&cat, "MODE #m") == 0); /* an outsider does not see the key */
    IRC_EXPECT_NEXT(&cat, "324", "#m +ntk *", T);
    IRC_EXPECT_NEXT(&cat, "329", NULL, T);
    join(&cat, "#m", "sesame");
    MX_REQUIRE(irc_send(&cat, "MODE #m") == 0);
    IRC_EXPECT_NEXT(&cat, "324", "#m +ntk sesame", T);
    IRC_EXPECT_NEXT(&cat, "329", NULL, T);
    MX_REQUIRE(irc_send(&cat, "PART #m") == 0);
    IRC_EXPECT(&cat, "PART", NULL, T);
    struct irc *all3[] = { &op, &bob };
    set_mode(&op, "-k *", "-k *", all3, 2);
    /* +l 2 with two members: 471. */
    set_mode(&op, "+l 2", "+l 2", both, 2);
    refused(&cat, "JOIN #m", "471");
    set_mode(&op, "-l", "-l", both, 2);
    /* +b on cat's mask: 474; the ban list shows it; -b lets cat in. */
    set_mode(&op, "+b cat!*@*", "+b cat!*@*", both, 2);
    refused(&cat, "JOIN #m", "474");
    MX_REQUIRE(irc_send(&op, "MODE #m +b *!ubob@127.0.0.1") == 0); /* bans a member too */
    IRC_EXPECT(&op, "MODE", "MODE #m +b *!ubob@127.0.0.1", T);
    MX_REQUIRE(irc_send(&op, "MODE #m +b") == 0);
    int bans = 0;
    for (;;) {
        MX_REQUIRE(irc_next(&op, T) == 1, "no 368; last lines:\n%s", irc_recent(&op));
        if (irc_line_is(op.line, "368", "#m :End of channel ban list"))
            break;
        MX_REQUIRE(irc_line_is(op.line, "367", NULL), "not a 367: %s", op.line);
        MX_REQUIRE(strstr(op.line, " #m cat!*@*") || strstr(op.line, " #m *!ubob@127.0.0.1"),
                   "%s", op.line);
        bans++;
    }
    MX_REQUIRE(bans == 2, "%d bans listed", bans);
    /* A banned member without voice cannot speak. */
    IRC_EXPECT(&bob, "MODE", "+b *!ubob", T);
    refused(&bob, "PRIVMSG #m :banned?", "404");
    set_mode(&op, "-b *!ubob@127.0.0.1", "-b *!ubob@127.0.0.1", both, 2);
    set_mode(&op, "-b CAT!*@*", "-b CAT!*@*", both, 2);
    join(&cat, "#m", NULL);
    /* +s: hidden from outsiders in LIST and NAMES, shown to members. */
    set_mode(&op, "+s", "+s", both, 2);
    struct irc dan;
    login(&dan, port, "dan");
    MX_REQUIRE(irc_send(&dan, "LIST") == 0);
    IRC_EXPECT_NEXT(&dan, "321", NULL, T);
    IRC_EXPECT_NEXT(&dan, "323", NULL, T);
    MX_REQUIRE(irc_send(&dan, "NAMES #m") == 0);
    IRC_EXPECT_NEXT(&dan, "366", NULL, T);
    MX_REQUIRE(irc_send(&cat, "LIST") == 0);
    IRC_EXPECT(&cat, "322", "#m 3", T);
    MX_REQUIRE(irc_send(&cat, "NAMES #m") == 0);
    IRC_EXPECT(&cat, "353", "@ #m :", T);
    irc_close(&op);
    irc_close(&bob);
    irc_close(&cat);
    irc_close(&dan);
    mx_stop_ok(d, 10000);
}

/* The kicker (op) and the target (bob) live on different workers. */
Test(chat_modes, kick_across_workers)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob, cat, dan;
    login(&op, port, "op");
    login(&bob, port, "bob");
    login(&cat, port, "cat");
    login(&dan, port, "dan");
    join(&op, "#m", NULL);
    join(&bob, "#m", NULL);
    join(&cat, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":cat!", T);
    IRC_EXPECT(&bob, "JOIN", ":cat!", T);
    refused(&op, "KICK #m dan", "441");
    refused(&op, "KICK #nowhere bob", "403");
    refused(&dan, "KICK #m bob", "442");
    refused(&cat, "KICK #m bob", "482");
    MX_REQUIRE(irc_send(&op, "KICK #m bob :behave") == 0);
    struct irc *all[] = { &op, &bob, &cat };
    for (int i = 0; i < 3; i++)
        MX_REQUIRE(irc_expect(all[i], "KICK", ":op!uop@127.0.0.1 KICK #m bob :behave", T),
                   "%s: no KICK; last lines:\n%s", all[i]->nick, irc_recent(all[i]));
    /* bob is out: +n refuses his message, NAMES lacks him, the KICK came
     * once to each (a second would have come before this PONG). */
    refused(&bob, "PRIVMSG #m :still here?", "404");
    refused(&bob, "PART #m", "442");
    for (int i = 0; i < 3; i++) {
        int kicks = 0;
        MX_REQUIRE(irc_sync(all[i], "k", "KICK", NULL, &kicks, T) == 0);
        MX_REQUIRE(kicks == 0, "%s: KICK seen again", all[i]->nick);
    }
    MX_REQUIRE(irc_send(&cat, "NAMES #m") == 0);
    IRC_EXPECT_NEXT(&cat, "353", NULL, T);
    MX_REQUIRE(!strstr(cat.line, "bob"), "bob still listed: %s", cat.line);
    IRC_EXPECT_NEXT(&cat, "366", NULL, T);
    MX_REQUIRE(irc_quiet(&cat, 200), "cat got: %s", cat.line);
    /* A kick without a reason, and bob can come back. */
    join(&bob, "#m", NULL);
    MX_REQUIRE(irc_send(&op, "KICK #m bob") == 0);
    IRC_EXPECT(&bob, "KICK", ":op!uop@127.0.0.1 KICK #m bob :", T);
    IRC_EXPECT(&cat, "KICK", "KICK #m bob", T);
    /* Kicking the operator on its own worker too (cat is on op's). */
    struct irc *pair[] = { &op, &cat };
    set_mode(&op, "+o cat", "+o cat", pair, 2);
    MX_REQUIRE(irc_send(&cat, "KICK #m op :coup") == 0);
    IRC_EXPECT(&op, "KICK", ":cat!ucat@127.0.0.1 KICK #m op :coup", T);
    IRC_EXPECT(&cat, "KICK", "KICK #m op :coup", T);
    refused(&op, "MODE #m +m", "482");
    irc_close(&op);
    irc_close(&bob);
    irc_close(&cat);
    irc_close(&dan);
    mx_stop_ok(d, 10000);
}

Test(chat_modes, user_modes)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "ann");
    login(&b, port, "ben");
    refused(&a, "MODE ann", "221");
    MX_REQUIRE(strstr(a.line, "221 ann +"), "%s", a.line);
    MX_REQUIRE(irc_send(&a, "MODE ann +i") == 0);
    IRC_EXPECT_NEXT(&a, "MODE", "ann MODE ann :+i", T);
    refused(&a, "MODE ANN", "221");
    MX_REQUIRE(strstr(a.line, "+i"), "%s", a.line);
    refused(&a, "MODE ann +x", "501");
    refused(&a, "MODE ben +i", "502");
    refused(&a, "MODE ben", "502");
    refused(&a, "MODE nobody +i", "401");
    MX_REQUIRE(irc_send(&a, "MODE ann -i") == 0);
    IRC_EXPECT_NEXT(&a, "MODE", "MODE ann :-i", T);
    refused(&a, "MODE ann", "221");
    MX_REQUIRE(!strstr(a.line, "+i"), "%s", a.line);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* Issue 13: what +l stores is what it announces, and junk is refused. */
Test(chat_modes, limit_is_validated_and_announced_as_stored)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob;
    login(&op, port, "op");
    login(&bob, port, "bob");
    join(&op, "#m", NULL);
    join(&bob, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":bob!", T);
    static const char why[] = "Invalid limit: 1 to 1000000";
    invalid(&op, "+l 4294967297", "l 4294967297", why);
    invalid(&op, "+l 99999999999999999999", "l 99999999999999999999", why);
    invalid(&op, "+l 7junk", "l 7junk", why);
    invalid(&op, "+l -5", "l -5", why);
    invalid(&op, "+l 0", "l 0", why);
    invalid(&op, "+l 1000001", "l 1000001", why);
    invalid(&op, "+l :", "l *", why);
    invalid(&op, "+l :7 junk", "l *", why);
    modes_are(&op, "+nt");
    /* bob's next line is the first change made: nothing went out before. */
    mode_seen(&op, &bob, "+l 007", "+l 7");
    modes_are(&bob, "+ntl 7");
    mode_seen(&op, &bob, "+l 1000000", "+l 1000000");
    modes_are(&op, "+ntl 1000000");
    /* A refused +l leaves the limit as it was, and the rest still applies. */
    MX_REQUIRE(irc_send(&op, "MODE #m +lm 12x") == 0);
    next_is(&op, ":test.muxd 696 op #m l 12x :Invalid limit: 1 to 1000000");
    next_is(&op, ":op!uop@127.0.0.1 MODE #m +m");
    next_is(&bob, ":op!uop@127.0.0.1 MODE #m +m");
    mode_seen(&op, &bob, "-l", "-l");
    modes_are(&bob, "+ntm");
    irc_close(&op);
    irc_close(&bob);
    mx_stop_ok(d, 10000);
}

/* Issue 13: ban masks are stored in their full form, and one that would
 * break the lines carrying it is refused. */
Test(chat_modes, ban_masks_normalised_or_refused)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob;
    login(&op, port, "op");
    login(&bob, port, "bob");
    join(&op, "#m", NULL);
    join(&bob, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":bob!", T);
    static const char why[] = "Invalid ban mask";
    invalid(&op, "+b :", "b *", why);
    invalid(&op, "+b ::evil", "b *", why);
    invalid(&op, "+b :two words", "b *", why);
    invalid(&op, "-b ::evil", "b *", why);
    invalid(&op, "+k ::x", "k *", "Invalid key");
    invalid(&op, "+k :a key", "k *", "Invalid key");
    MX_REQUIRE(irc_send(&op, "MODE #m +b") == 0);
    next_is(&op, ":test.muxd 368 op #m :End of channel ban list");
    mode_seen(&op, &bob, "+b cat", "+b cat!*@*");
    mode_seen(&op, &bob, "+bb *@evil.example u@h", "+bb *!*@evil.example *!u@h");
    mode_seen(&op, &bob, "+b 10.0.0.*", "+b *!*@10.0.0.*");
    /* The same ban in another form changes nothing; removal normalises. */
    MX_REQUIRE(irc_send(&op, "MODE #m +bb-b CAT!*@* cat! u@h") == 0);
    next_is(&op, ":op!uop@127.0.0.1 MODE #m -b *!u@h");
    next_is(&bob, ":op!uop@127.0.0.1 MODE #m -b *!u@h");
    MX_REQUIRE(irc_send(&bob, "MODE #m b") == 0);
    next_is(&bob, ":test.muxd 367 bob #m cat!*@*");
    next_is(&bob, ":test.muxd 367 bob #m *!*@evil.example");
    next_is(&bob, ":test.muxd 367 bob #m *!*@10.0.0.*");
    next_is(&bob, ":test.muxd 368 bob #m :End of channel ban list");
    /* The stored form bans: cat cannot join. */
    struct irc cat;
    login(&cat, port, "cat");
    refused(&cat, "JOIN #m", "474");
    irc_close(&op);
    irc_close(&bob);
    irc_close(&cat);
    mx_stop_ok(d, 10000);
}

/* Issue 13: one ban list per command however many b's ask for it, at
 * most MODES changes with a parameter per line, at most MAXLIST bans, and
 * 005 says so. */
Test(chat_modes, ban_list_once_modes_and_maxlist)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob;
    MX_REQUIRE(irc_open(&op, port) == 0);
    MX_REQUIRE(irc_send(&op, "NICK op") == 0 && irc_send(&op, "USER uop 0 * :Op") == 0);
    IRC_EXPECT(&op, "005", " MAXLIST=b:100,e:100,I:100 MODES=4 ", T);
    IRC_EXPECT(&op, "422", NULL, T);
    snprintf(op.nick, sizeof op.nick, "op");
    login(&bob, port, "bob");
    join(&op, "#m", NULL);
    join(&bob, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":bob!", T);
    /* Five b's with parameters: the fifth is dropped, the flag after it
     * still applies. */
    mode_seen(&op, &bob, "+bbbbbm m1 m2 m3 m4 m5", "+bbbbm m1!*@* m2!*@* m3!*@* m4!*@*");
    mode_seen(&op, &bob, "+ooooo bob bob bob bob bob", "+o bob");
    /* 96 more long bans make 100, four to a line. */
    char line[512], want[512];
    static const char host[] = "a-rather-long-host-name-for-a-ban.example.org";
    for (int i = 0; i < 96; i += 4) {
        snprintf(line, sizeof line, "+bbbb n%d!*@%s n%d!*@%s n%d!*@%s n%d!*@%s", i, host, i + 1,
                 host, i + 2, host, i + 3, host);
        MX_REQUIRE(irc_send(&op, "MODE #m %s", line) == 0);
        IRC_EXPECT_NEXT(&op, "MODE", " MODE #m +bbbb ", T);
        IRC_EXPECT_NEXT(&bob, "MODE", " MODE #m +bbbb ", T);
    }
    MX_REQUIRE(irc_send(&op, "MODE #m +b one!too@many") == 0);
    next_is(&op, ":test.muxd 478 op #m b :Channel ban list is full");
    /* A line of b's, by an operator and by anyone: one list each. */
    memset(want, 'b', 400);
    want[400] = '\0';
    struct irc *who[] = { &op, &bob };
    for (int w = 0; w < 2; w++) {
        MX_REQUIRE(irc_send(who[w], "MODE #m +%s", want) == 0);
        int listed = 0;
        for (;;) {
            MX_REQUIRE(irc_next(who[w], T) == 1, "no 368; last lines:\n%s", irc_recent(who[w]));
            if (irc_line_is(who[w]->line, "368", NULL))
                break;
            MX_REQUIRE(irc_line_is(who[w]->line, "367", " #m "), "%s", who[w]->line);
            MX_REQUIRE(!strstr(who[w]->line, "m5!"), "m5 was banned: %s", who[w]->line);
            listed++;
        }
        MX_REQUIRE(listed == CHAT_TEST_MAXLIST, "%d bans listed", listed);
        int more = 0;
        MX_REQUIRE(irc_sync(who[w], "once", NULL, NULL, &more, T) == 0);
        MX_REQUIRE(more == 0, "%s: %d more lines after the list", who[w]->nick, more);
    }
    /* Nothing was changed: no MODE went out. */
    mode_seen(&op, &bob, "-b m1", "-b m1!*@*");
    irc_close(&op);
    irc_close(&bob);
    mx_stop_ok(d, 10000);
}

/* Issue 13: +e lets a banned client in and lets it speak; +I lets a
 * client into a +i channel without an INVITE. Both are lists like +b:
 * normalised, listed once per command, counted under MODES. */
Test(chat_modes, ban_and_invite_exceptions)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc op, bob, cat;
    login(&op, port, "op");
    login(&bob, port, "bob");
    login(&cat, port, "cat");
    join(&op, "#m", NULL);
    struct irc *ops[] = { &op };
    set_mode(&op, "+b bob", "+b bob!*@*", ops, 1);
    refused(&bob, "JOIN #m", "474");
    set_mode(&op, "+e bob", "+e bob!*@*", ops, 1);
    join(&bob, "#m", NULL);
    IRC_EXPECT(&op, "JOIN", ":bob!ubob@127.0.0.1 JOIN :#m", T);
    /* Banned but excepted: bob speaks; without the exception, 404. */
    MX_REQUIRE(irc_send(&bob, "PRIVMSG #m :excepted") == 0);
    next_is(&op, ":bob!ubob@127.0.0.1 PRIVMSG #m :excepted");
    mode_seen(&op, &bob, "-e BOB", "-e BOB!*@*");
    refused(&bob, "PRIVMSG #m :still?", "404");
    /* +i with an invite exception for cat's address: no INVITE needed. */
    mode_seen(&op, &bob, "+iI *!ucat@127.0.0.1", "+iI *!ucat@127.0.0.1");
    join(&cat, "#m", NULL);
    next_is(&op, ":cat!ucat@127.0.0.1 JOIN :#m");
    next_is(&bob, ":cat!ucat@127.0.0.1 JOIN :#m");
    MX_REQUIRE(irc_send(&cat, "PART #m") == 0);
    IRC_EXPECT(&cat, "PART", NULL, T);
    next_is(&op, ":cat!ucat@127.0.0.1 PART #m");
    next_is(&bob, ":cat!ucat@127.0.0.1 PART #m");
    mode_seen(&op, &bob, "-I *!ucat@127.0.0.1", "-I *!ucat@127.0.0.1");
    refused(&cat, "JOIN #m", "473");
    /* The lists, each once per command, in the order asked; anyone may ask. */
    mode_seen(&op, &bob, "+eeI x y@h z", "+eeI x!*@* *!y@h z!*@*");
    MX_REQUIRE(irc_send(&cat, "MODE #m eIbeI") == 0);
    next_is(&cat, ":test.muxd 348 cat #m x!*@*");
    next_is(&cat, ":test.muxd 348 cat #m *!y@h");
    next_is(&cat, ":test.muxd 349 cat #m :End of channel exception list");
    next_is(&cat, ":test.muxd 346 cat #m z!*@*");
    next_is(&cat, ":test.muxd 347 cat #m :End of channel invite list");
    next_is(&cat, ":test.muxd 367 cat #m bob!*@*");
    next_is(&cat, ":test.muxd 368 cat #m :End of channel ban list");
    int more = 0;
    MX_REQUIRE(irc_sync(&cat, "lists", NULL, NULL, &more, T) == 0 && more == 0,
               "%d more lines", more);
    /* Invalid masks: 696 with the list's words. MODES counts e and I too. */
    invalid(&op, "+e :", "e *", "Invalid exception mask");
    invalid(&op, "+I ::x", "I *", "Invalid invite exception mask");
    mode_seen(&op, &bob, "+IeIeb m1 m2 m3 m4 m5", "+IeIe m1!*@* m2!*@* m3!*@* m4!*@*");
    irc_close(&op);
    irc_close(&bob);
    irc_close(&cat);
    mx_stop_ok(d, 10000);
}
