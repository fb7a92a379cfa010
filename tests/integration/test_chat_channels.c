/* test_chat_channels.c - issue 13's registration and channel rules, line
 * for line: PASS (wrong, missing, behind CAP) and an empty real name, the
 * exact 005 lines, KICK of several (bounded by TARGMAX), PART with a
 * reason and 442, NOTICE never answered, 411/412, STATUSMSG across two
 * workers, TOPIC's numerics and utf8_only's FAIL INVALID_UTF8.
 *
 * Two workers: round-robin puts consecutive connections on different
 * workers. */
#include "harness.h"
#include "irc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(chat_channels, .init = mx_init, .fini = mx_fini, .timeout = 60);

#define T 5000

static struct mx_daemon *boot(const char *extra)
{
    char conf[1024];
    snprintf(conf, sizeof conf,
             "[server]\nworkers = 2\n"
             "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
             "server_name = test.muxd\nflood_rate = 0\nmax_channels_per_client = 20\n%s",
             extra ? extra : "");
    return mx_boot(conf);
}

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

static void join(struct irc *c, const char *chan) { IRC_JOIN(c, chan, T); }

/* The next line c reads is exactly want. */
static void next_is(struct irc *c, const char *want)
{
    MX_REQUIRE(irc_next(c, T) == 1, "%s: nothing instead of '%s'; last lines:\n%s", c->nick,
               want, irc_recent(c));
    MX_REQUIRE(strcmp(c->line, want) == 0, "%s: '%s' instead of '%s'", c->nick, c->line, want);
}

/* c sends line and reads exactly want next. */
static void answer(struct irc *c, const char *line, const char *want)
{
    MX_REQUIRE(irc_send(c, "%s", line) == 0);
    next_is(c, want);
}

/* Nothing more reaches c: the PONG of a PING is the next line. */
static void nothing_more(struct irc *c)
{
    int before = 0;
    MX_REQUIRE(irc_sync(c, "quiet", NULL, NULL, &before, T) == 0, "%s: no PONG; last:\n%s",
               c->nick, irc_recent(c));
    MX_REQUIRE(before == 0, "%s: %d unexpected lines; last:\n%s", c->nick, before,
               irc_recent(c));
}

static void close_all(struct irc **v, int n)
{
    for (int i = 0; i < n; i++)
        irc_close(v[i]);
}

/* ---- registration -------------------------------------------------------- */

Test(chat_channels, pass_wrong_missing_and_behind_cap)
{
    struct mx_daemon *d = boot("password = s3cret\n");
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    MX_REQUIRE(irc_open(&a, port) == 0);
    MX_REQUIRE(irc_send(&a, "PASS wrong") == 0 && irc_send(&a, "NICK a") == 0);
    answer(&a, "USER ua 0 * :A", ":test.muxd 464 a :Password incorrect");
    next_is(&a, "ERROR :Closing Link: a (Bad password)");
    MX_REQUIRE(irc_wait_eof(&a, T), "no EOF after ERROR");
    /* None: the same, with no welcome before it. */
    MX_REQUIRE(irc_open(&b, port) == 0);
    MX_REQUIRE(irc_send(&b, "NICK b") == 0);
    answer(&b, "USER ub 0 * :B", ":test.muxd 464 b :Password incorrect");
    next_is(&b, "ERROR :Closing Link: b (Bad password)");
    MX_REQUIRE(irc_wait_eof(&b, T), "no EOF after ERROR");
    /* Behind CAP the check waits for CAP END; the right one registers. */
    MX_REQUIRE(irc_open(&c, port) == 0);
    answer(&c, "CAP LS 302", ":test.muxd CAP * LS :away-notify batch cap-notify echo-message "
           "extended-join invite-notify labeled-response message-tags multi-prefix server-time "
           "setname userhost-in-names");
    MX_REQUIRE(irc_send(&c, "PASS s3cret") == 0 && irc_send(&c, "NICK c") == 0);
    MX_REQUIRE(irc_send(&c, "USER uc 0 * :C") == 0);
    MX_REQUIRE(irc_quiet(&c, 150), "registered before CAP END: %s", c.line);
    MX_REQUIRE(irc_send(&c, "CAP END") == 0);
    IRC_EXPECT_NEXT(&c, "001", ":test.muxd 001 c :Welcome", T);
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

Test(chat_channels, empty_realname_is_461)
{
    struct mx_daemon *d = boot(NULL);
    struct irc a;
    MX_REQUIRE(irc_open(&a, mx_port(d, "chat")) == 0);
    answer(&a, "USER ua 0 * :", ":test.muxd 461 * USER :Not enough parameters");
    answer(&a, "USER ua 0 *", ":test.muxd 461 * USER :Not enough parameters");
    MX_REQUIRE(irc_send(&a, "NICK a") == 0);
    MX_REQUIRE(irc_quiet(&a, 100), "registered without USER: %s", a.line);
    /* The refused USER left nothing behind: a good one registers. */
    MX_REQUIRE(irc_send(&a, "USER ua 0 * :Real A") == 0);
    IRC_EXPECT_NEXT(&a, "001", ":test.muxd 001 a :Welcome", T);
    irc_close(&a);
    mx_stop_ok(d, 10000);
}

/* ---- 005 ----------------------------------------------------------------- */

#define ISUPPORT_1                                                                          \
    "AWAYLEN=200 CASEMAPPING=rfc1459 CHANLIMIT=#:20 CHANMODES=beI,k,l,imnst CHANNELLEN=50 " \
    "CHANTYPES=# ELIST=MNU EXCEPTS=e INVEX=I KICKLEN=390 MAXLIST=b:100,e:100,I:100 MODES=4 " \
    "NAMELEN=100 :are supported by this server"
#define ISUPPORT_2                                                                          \
    "NETWORK=muxd NICKLEN=30 PREFIX=(ov)@+ STATUSMSG=@+ TARGMAX=JOIN:16,KICK:16,LIST:16,NAMES:16,NOTICE:16," \
    "PART:16,PRIVMSG:16,WHOIS:5 TOPICLEN=390"

static void isupport_is(const char *extra, const char *tail)
{
    struct mx_daemon *d = boot(extra);
    struct irc a;
    MX_REQUIRE(irc_open(&a, mx_port(d, "chat")) == 0);
    MX_REQUIRE(irc_send(&a, "NICK a") == 0 && irc_send(&a, "USER ua 0 * :A") == 0);
    IRC_EXPECT(&a, "004", ":test.muxd 004 a test.muxd muxd-", T);
    MX_REQUIRE(strstr(a.line, " iow Ibeiklmnopstv"), "%s", a.line);
    next_is(&a, ":test.muxd 005 a " ISUPPORT_1);
    char want[512];
    snprintf(want, sizeof want, ":test.muxd 005 a %s%s WHOX :are supported by this server",
             ISUPPORT_2, tail);
    next_is(&a, want);
    IRC_EXPECT_NEXT(&a, "251", NULL, T); /* LUSERS, then the MOTD */
    IRC_EXPECT(&a, "422", NULL, T);
    irc_close(&a);
    mx_stop_ok(d, 10000);
}

Test(chat_channels, isupport_exact) { isupport_is(NULL, ""); }

Test(chat_channels, isupport_utf8only) { isupport_is("utf8_only = on\n", " UTF8ONLY"); }

/* ---- KICK and PART ------------------------------------------------------- */

/* c reads two lines, in either order: one and two. */
static void both_next(struct irc *c, const char *one, const char *two)
{
    char first[IRC_T_LINE];
    MX_REQUIRE(irc_next(c, T) == 1, "%s: nothing; last:\n%s", c->nick, irc_recent(c));
    snprintf(first, sizeof first, "%s", c->line);
    MX_REQUIRE(irc_next(c, T) == 1, "%s: one line only; last:\n%s", c->nick, irc_recent(c));
    bool ok = (!strcmp(first, one) && !strcmp(c->line, two)) ||
              (!strcmp(first, two) && !strcmp(c->line, one));
    MX_REQUIRE(ok, "%s: got '%s' and '%s'", c->nick, first, c->line);
}

Test(chat_channels, kick_several_targets)
{
    struct mx_daemon *d = boot(NULL);
    int port = mx_port(d, "chat");
    struct irc op, a, b, w;
    login(&op, port, "op");
    login(&a, port, "a");
    login(&b, port, "b");
    login(&w, port, "w");
    struct irc *all[] = { &op, &a, &b, &w };
    for (int i = 0; i < 4; i++)
        join(all[i], "#k");
    for (int i = 0; i < 3; i++)
        IRC_EXPECT(all[i], "JOIN", ":w!uw@127.0.0.1 JOIN :#k", T);
    answer(&op, "KICK #k a,ghost,b :enough", ":test.muxd 441 op ghost #k :They aren't on that channel");
    static const char ka[] = ":op!uop@127.0.0.1 KICK #k a :enough";
    static const char kb[] = ":op!uop@127.0.0.1 KICK #k b :enough";
    both_next(&op, ka, kb);
    both_next(&w, ka, kb);
    next_is(&a, ka);
    next_is(&b, kb);
    for (int i = 0; i < 4; i++)
        nothing_more(all[i]);
    /* Past TARGMAX (16) targets are dropped silently: 16 441s, no 17th. */
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "KICK #k ");
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%sg%d", i ? "," : "", i);
    MX_REQUIRE(irc_send(&op, "%s", line) == 0);
    int refused = 0;
    MX_REQUIRE(irc_sync(&op, "t", "441", NULL, &refused, T) == 0);
    MX_REQUIRE(refused == 16, "%d 441s", refused);
    close_all(all, 4);
    mx_stop_ok(d, 10000);
}

Test(chat_channels, part_reason_and_442)
{
    struct mx_daemon *d = boot(NULL);
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "a");
    login(&b, port, "b");
    join(&a, "#p");
    join(&b, "#p");
    IRC_EXPECT(&a, "JOIN", ":b!ub@127.0.0.1 JOIN :#p", T);
    answer(&b, "PART #p :see you later", ":b!ub@127.0.0.1 PART #p :see you later");
    next_is(&a, ":b!ub@127.0.0.1 PART #p :see you later");
    answer(&b, "PART #p", ":test.muxd 442 b #p :You're not on that channel");
    answer(&b, "PART #P :again", ":test.muxd 442 b #P :You're not on that channel");
    answer(&b, "PART #nowhere", ":test.muxd 403 b #nowhere :No such channel");
    answer(&b, "PART", ":test.muxd 461 b PART :Not enough parameters");
    /* An empty reason is none; a list parts each, reason on each. */
    join(&b, "#p");
    IRC_EXPECT(&a, "JOIN", ":b!ub@127.0.0.1 JOIN :#p", T);
    answer(&b, "PART #p :", ":b!ub@127.0.0.1 PART #p");
    next_is(&a, ":b!ub@127.0.0.1 PART #p");
    join(&b, "#p");
    join(&b, "#q");
    IRC_EXPECT(&a, "JOIN", ":b!ub@127.0.0.1 JOIN :#p", T);
    MX_REQUIRE(irc_send(&b, "PART #q,#nope,#p :bye all") == 0);
    next_is(&b, ":b!ub@127.0.0.1 PART #q :bye all");
    next_is(&b, ":test.muxd 403 b #nope :No such channel");
    next_is(&b, ":b!ub@127.0.0.1 PART #p :bye all");
    next_is(&a, ":b!ub@127.0.0.1 PART #p :bye all");
    nothing_more(&a);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* ---- PRIVMSG and NOTICE -------------------------------------------------- */

Test(chat_channels, notice_never_answered_privmsg_411_412)
{
    struct mx_daemon *d = boot(NULL);
    int port = mx_port(d, "chat");
    struct irc a, op, pre;
    MX_REQUIRE(irc_open(&pre, port) == 0);
    snprintf(pre.nick, sizeof pre.nick, "pre");
    MX_REQUIRE(irc_send(&pre, "NOTICE someone :before registering") == 0);
    answer(&pre, "PRIVMSG someone :before registering", ":test.muxd 451 * :You have not registered");
    login(&a, port, "a");
    login(&op, port, "op");
    join(&op, "#n");
    answer(&op, "MODE #n +b a", ":op!uop@127.0.0.1 MODE #n +b a!*@*");
    static const char *const quiet[] = {
        "NOTICE ghost :hello", "NOTICE #nowhere :hello", "NOTICE #n :outside a +n channel",
        "NOTICE", "NOTICE a", "NOTICE a :", "NOTICE %#n :x", "NOTICE @#nowhere :x",
        "NOTICE @#n :banned and outside",
    };
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        MX_REQUIRE(irc_send(&a, "%s", quiet[i]) == 0);
    nothing_more(&a);
    nothing_more(&op);
    answer(&a, "PRIVMSG", ":test.muxd 411 a :No recipient given (PRIVMSG)");
    answer(&a, "PRIVMSG op", ":test.muxd 412 a :No text to send");
    answer(&a, "PRIVMSG op :", ":test.muxd 412 a :No text to send");
    answer(&a, "PRIVMSG ghost :hi", ":test.muxd 401 a ghost :No such nick/channel");
    answer(&a, "PRIVMSG #n :hi", ":test.muxd 404 a #n :Cannot send to channel");
    answer(&a, "PRIVMSG @#n :hi", ":test.muxd 404 a @#n :Cannot send to channel");
    answer(&a, "PRIVMSG %#n :hi", ":test.muxd 401 a %#n :No such nick/channel");
    nothing_more(&op);
    irc_close(&pre);
    irc_close(&a);
    irc_close(&op);
    mx_stop_ok(d, 10000);
}

/* op1, v, p on worker 0 and op2, q on worker 1 (order of login). */
Test(chat_channels, statusmsg_reaches_only_that_status)
{
    struct mx_daemon *d = boot(NULL);
    int port = mx_port(d, "chat");
    struct irc op1, op2, v, p, q;
    login(&op1, port, "op1");
    login(&op2, port, "op2");
    login(&v, port, "v");
    login(&q, port, "q");
    login(&p, port, "p");
    struct irc *all[] = { &op1, &op2, &v, &q, &p };
    for (int i = 0; i < 5; i++)
        join(all[i], "#s");
    MX_REQUIRE(irc_send(&op1, "MODE #s +ov op2 v") == 0);
    for (int i = 0; i < 5; i++) {
        IRC_EXPECT(all[i], "MODE", "MODE #s +ov op2 v", T);
        nothing_more(all[i]);
    }
    /* To operators: op2 only (the sender hears no echo). */
    MX_REQUIRE(irc_send(&op1, "PRIVMSG @#s :ops only") == 0);
    next_is(&op2, ":op1!uop1@127.0.0.1 PRIVMSG @#s :ops only");
    /* From a plain member, to voiced members and up: op1, op2, v. */
    MX_REQUIRE(irc_send(&p, "NOTICE +#s :voices and ops") == 0);
    static const char vo[] = ":p!up@127.0.0.1 NOTICE +#s :voices and ops";
    next_is(&op1, vo);
    next_is(&op2, vo);
    next_is(&v, vo);
    /* "@+" is the lower of the two. */
    MX_REQUIRE(irc_send(&q, "PRIVMSG @+#S :both") == 0);
    next_is(&v, ":q!uq@127.0.0.1 PRIVMSG +#s :both");
    next_is(&op1, ":q!uq@127.0.0.1 PRIVMSG +#s :both");
    next_is(&op2, ":q!uq@127.0.0.1 PRIVMSG +#s :both");
    for (int i = 0; i < 5; i++)
        nothing_more(all[i]);
    close_all(all, 5);
    mx_stop_ok(d, 10000);
}

/* ---- TOPIC --------------------------------------------------------------- */

Test(chat_channels, topic_numerics)
{
    struct mx_daemon *d = boot(NULL);
    int port = mx_port(d, "chat");
    struct irc op, m, out;
    login(&op, port, "op");
    login(&m, port, "m");
    login(&out, port, "out");
    join(&op, "#t");
    join(&m, "#t");
    IRC_EXPECT(&op, "JOIN", ":m!um@127.0.0.1 JOIN :#t", T);
    answer(&m, "TOPIC #t", ":test.muxd 331 m #t :No topic is set");
    answer(&m, "TOPIC #t :by a member", ":test.muxd 482 m #t :You're not channel operator");
    answer(&out, "TOPIC #t :outsider", ":test.muxd 442 out #t :You're not on that channel");
    answer(&out, "TOPIC #nope", ":test.muxd 403 out #nope :No such channel");
    answer(&out, "TOPIC", ":test.muxd 461 out TOPIC :Not enough parameters");
    answer(&op, "TOPIC #t :the topic", ":op!uop@127.0.0.1 TOPIC #t :the topic");
    next_is(&m, ":op!uop@127.0.0.1 TOPIC #t :the topic");
    answer(&out, "TOPIC #t", ":test.muxd 332 out #t :the topic");
    IRC_EXPECT_NEXT(&out, "333", ":test.muxd 333 out #t op!uop@127.0.0.1 ", T);
    /* A secret channel's topic is for members only. */
    answer(&op, "MODE #t +s", ":op!uop@127.0.0.1 MODE #t +s");
    next_is(&m, ":op!uop@127.0.0.1 MODE #t +s");
    answer(&out, "TOPIC #t", ":test.muxd 442 out #t :You're not on that channel");
    answer(&m, "TOPIC #t", ":test.muxd 332 m #t :the topic");
    IRC_EXPECT_NEXT(&m, "333", NULL, T);
    /* -t: members may set it; an empty one clears it. */
    answer(&op, "MODE #t -t", ":op!uop@127.0.0.1 MODE #t -t");
    next_is(&m, ":op!uop@127.0.0.1 MODE #t -t");
    answer(&m, "TOPIC #t :", ":m!um@127.0.0.1 TOPIC #t :");
    next_is(&op, ":m!um@127.0.0.1 TOPIC #t :");
    answer(&op, "TOPIC #t", ":test.muxd 331 op #t :No topic is set");
    irc_close(&op);
    irc_close(&m);
    irc_close(&out);
    mx_stop_ok(d, 10000);
}

/* ---- utf8_only ----------------------------------------------------------- */

#define FAIL_UTF8(cmd)                                                                     \
    ":test.muxd FAIL " cmd " INVALID_UTF8 :Message rejected, your IRC software MUST use " \
    "UTF-8 encoding on this network"

Test(chat_channels, utf8_only_refuses_other_bytes)
{
    struct mx_daemon *d = boot("utf8_only = on\n");
    int port = mx_port(d, "chat");
    struct irc a, b, pre;
    MX_REQUIRE(irc_open(&pre, port) == 0);
    snprintf(pre.nick, sizeof pre.nick, "pre");
    answer(&pre, "USER up 0 * :caf\xe9", FAIL_UTF8("USER"));
    login(&a, port, "a");
    login(&b, port, "b");
    join(&a, "#u");
    join(&b, "#u");
    IRC_EXPECT(&a, "JOIN", ":b!ub@127.0.0.1 JOIN :#u", T);
    answer(&a, "PRIVMSG #u :caf\xe9", FAIL_UTF8("PRIVMSG"));
    answer(&a, "TOPIC #u :caf\xe9", FAIL_UTF8("TOPIC"));
    answer(&a, "KICK #u b :caf\xe9", FAIL_UTF8("KICK"));
    answer(&a, "PART #u :caf\xe9", FAIL_UTF8("PART"));
    answer(&a, "JOIN #caf\xe9", FAIL_UTF8("JOIN"));
    MX_REQUIRE(irc_send(&a, "NOTICE #u :caf\xe9") == 0);
    nothing_more(&a);
    nothing_more(&b);
    /* UTF-8 goes through as it is. */
    MX_REQUIRE(irc_send(&a, "PRIVMSG #u :caf\xc3\xa9 \xe2\x82\xac") == 0);
    next_is(&b, ":a!ua@127.0.0.1 PRIVMSG #u :caf\xc3\xa9 \xe2\x82\xac");
    /* QUIT still quits, without its reason. */
    answer(&b, "QUIT :caf\xe9", FAIL_UTF8("QUIT"));
    next_is(&b, "ERROR :Closing Link: b (Client Quit)");
    next_is(&a, ":b!ub@127.0.0.1 QUIT :Client Quit");
    irc_close(&pre);
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}
