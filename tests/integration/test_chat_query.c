/* test_chat_query.c - the query commands with their exact numerics and
 * parameters: LUSERS (counts, and its place in the welcome burst),
 * WHOWAS after a QUIT and after NICK changes, ISON and USERHOST, WHOIS
 * (several nicks, 319 prefixes, secret channels hidden, idle and signon),
 * WHO (channels, masks, H/G, '*', +i hidden, the 'o' flag, WHOX fields
 * and token), LIST filters, NAMES of several channels and of all, TIME,
 * VERSION, ADMIN, INFO.
 *
 * Two workers: round-robin puts consecutive connections on different
 * workers, so every query here asks about clients on both. The oper
 * password's hash is fixed text (`openssl passwd -6 -salt muxdtest
 * operpass`): no libcrypt needed here. */
#include "harness.h"
#include "irc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

TestSuite(chat_query, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define T 5000
#define OPER_HASH "$6$muxdtest$KDDeyC8Iwb68PeQNAMNDW1/VY5ewt/P3ulUGTU8liq8IYoULdqHQv0XGDOMDM0LgvQqG6dVTRO33J49924eDq."
#define SRV ":test.muxd "

static struct mx_daemon *boot(void)
{
    return mx_boot("[server]\nworkers = 2\n"
                   "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                   "server_name = test.muxd\nflood_rate = 0\n"
                   "[oper boss]\npassword = " OPER_HASH "\nhosts = *!*@127.0.0.1\n");
}

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

/* The next line is exactly want. */
static void next_is(struct irc *c, const char *want)
{
    MX_REQUIRE(irc_next(c, T) == 1 && strcmp(c->line, want) == 0,
               "%s: wanted\n  %s\nlast lines:\n%s", c->nick, want, irc_recent(c));
}

/* Sends line once c has read what its own worker queued before, so that
 * what it reads next answers line. Lines another worker posts to it may
 * come later: the tests wait for those by name. */
static void send_ok(struct irc *c, const char *line)
{
    MX_REQUIRE(irc_sync(c, "drain", NULL, NULL, NULL, T) == 0, "%s: no PONG:\n%s", c->nick,
               irc_recent(c));
    MX_REQUIRE(irc_send(c, "%s", line) == 0);
}

/* c sends line; the next line is exactly want. */
static void asks(struct irc *c, const char *line, const char *want)
{
    send_ok(c, line);
    next_is(c, want);
}

/* The lines up to the one with command end, sorted, joined by '\n'. */
static void collect(struct irc *c, const char *end, char *out, size_t cap)
{
    char lines[32][512];
    int n = 0;
    for (;;) {
        MX_REQUIRE(irc_next(c, T) == 1, "%s: no %s; last lines:\n%s", c->nick, end,
                   irc_recent(c));
        if (irc_line_is(c->line, end, NULL))
            break;
        MX_REQUIRE(n < 32, "too many lines");
        snprintf(lines[n++], sizeof lines[0], "%.511s", c->line);
    }
    qsort(lines, (size_t)n, sizeof lines[0], (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "\n" : "", lines[i]);
}

static void collect_is(struct irc *c, const char *end, const char *want)
{
    char got[8192];
    collect(c, end, got, sizeof got);
    MX_REQUIRE(strcmp(got, want) == 0, "%s: before %s wanted\n%s\ngot\n%s", c->nick, end,
               want, got);
}

static void oper(struct irc *c)
{
    send_ok(c, "OPER boss operpass");
    IRC_EXPECT_NEXT(c, "381", NULL, T);
    IRC_EXPECT_NEXT(c, "MODE", ":+o", T);
}

/* c gets its own MODE line for a user mode change. */
static void umode(struct irc *c, const char *change)
{
    char line[160];
    snprintf(line, sizeof line, "MODE %s %s", c->nick, change);
    send_ok(c, line);
    IRC_EXPECT_NEXT(c, "MODE", change, T);
}

/* ---- LUSERS --------------------------------------------------------------- */

Test(chat_query, lusers_in_the_welcome_burst_and_its_counts)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b, u;
    MX_REQUIRE(irc_open(&a, port) == 0);
    send_ok(&a, "NICK alice");
    send_ok(&a, "USER al 0 * :Alice");
    snprintf(a.nick, sizeof a.nick, "alice");
    IRC_EXPECT(&a, "004", NULL, T);
    IRC_EXPECT_NEXT(&a, "005", NULL, T);
    IRC_EXPECT_NEXT(&a, "005", " WHOX ", T);
    next_is(&a, SRV "251 alice :There are 1 users and 0 invisible on 1 servers");
    next_is(&a, SRV "255 alice :I have 1 clients and 0 servers");
    next_is(&a, SRV "265 alice 1 1 :Current local users 1, max 1");
    next_is(&a, SRV "266 alice 1 1 :Current global users 1, max 1");
    IRC_EXPECT_NEXT(&a, "422", NULL, T);
    /* An invisible operator on the other worker, a channel, a connection
     * that has not registered (its PONG: it is counted by then). */
    login(&b, port, "bob");
    umode(&b, "+i");
    oper(&b);
    IRC_JOIN(&a, "#one", T);
    MX_REQUIRE(irc_open(&u, port) == 0);
    MX_REQUIRE(irc_sync(&u, "up", NULL, NULL, NULL, T) == 0);
    send_ok(&a, "LUSERS");
    next_is(&a, SRV "251 alice :There are 1 users and 1 invisible on 1 servers");
    next_is(&a, SRV "252 alice 1 :operator(s) online");
    next_is(&a, SRV "253 alice 1 :unknown connection(s)");
    next_is(&a, SRV "254 alice 1 :channels formed");
    next_is(&a, SRV "255 alice :I have 2 clients and 0 servers");
    next_is(&a, SRV "265 alice 2 2 :Current local users 2, max 2");
    next_is(&a, SRV "266 alice 2 2 :Current global users 2, max 2");
    /* bob leaves: the counts drop, the maximum stays. */
    send_ok(&b, "QUIT");
    MX_REQUIRE(irc_wait_eof(&b, T));
    send_ok(&a, "LUSERS");
    next_is(&a, SRV "251 alice :There are 1 users and 0 invisible on 1 servers");
    next_is(&a, SRV "253 alice 1 :unknown connection(s)");
    next_is(&a, SRV "254 alice 1 :channels formed");
    next_is(&a, SRV "255 alice :I have 1 clients and 0 servers");
    next_is(&a, SRV "265 alice 1 2 :Current local users 1, max 2");
    next_is(&a, SRV "266 alice 1 2 :Current global users 1, max 2");
    mx_require_clean_log(d);
    irc_close(&a);
    irc_close(&b);
    irc_close(&u);
    mx_stop_ok(d, 10000);
}

/* ---- WHOWAS --------------------------------------------------------------- */

Test(chat_query, whowas_after_nick_change_and_quit)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    login(&a, port, "alice");
    login(&b, port, "bob");
    login(&c, port, "dave");
    send_ok(&b, "NICK bobby");
    IRC_EXPECT_NEXT(&b, "NICK", ":bob!ubob@127.0.0.1 NICK :bobby", T);
    send_ok(&a, "WHOWAS bob");
    next_is(&a, SRV "314 alice bob ubob 127.0.0.1 * :Test bob");
    IRC_EXPECT_NEXT(&a, "312", SRV "312 alice bob test.muxd :", T);
    next_is(&a, SRV "369 alice bob :End of WHOWAS");
    send_ok(&b, "QUIT :bye");
    MX_REQUIRE(irc_wait_eof(&b, T));
    send_ok(&a, "WHOWAS BOBBY");
    next_is(&a, SRV "314 alice bobby ubob 127.0.0.1 * :Test bob");
    IRC_EXPECT_NEXT(&a, "312", NULL, T);
    next_is(&a, SRV "369 alice BOBBY :End of WHOWAS");
    /* dave, tmp, dave, tmp2: two entries for dave, newest first; a count. */
    send_ok(&c, "NICK tmp");
    send_ok(&c, "NICK dave");
    send_ok(&c, "NICK tmp2");
    IRC_EXPECT(&c, "NICK", "NICK :tmp2", T);
    send_ok(&a, "WHOWAS dave");
    next_is(&a, SRV "314 alice dave udave 127.0.0.1 * :Test dave");
    IRC_EXPECT_NEXT(&a, "312", NULL, T);
    next_is(&a, SRV "314 alice dave udave 127.0.0.1 * :Test dave");
    IRC_EXPECT_NEXT(&a, "312", NULL, T);
    next_is(&a, SRV "369 alice dave :End of WHOWAS");
    send_ok(&a, "WHOWAS dave 1");
    next_is(&a, SRV "314 alice dave udave 127.0.0.1 * :Test dave");
    IRC_EXPECT_NEXT(&a, "312", NULL, T);
    next_is(&a, SRV "369 alice dave :End of WHOWAS");
    asks(&a, "WHOWAS nobody", SRV "406 alice nobody :There was no such nickname");
    next_is(&a, SRV "369 alice nobody :End of WHOWAS");
    asks(&a, "WHOWAS", SRV "431 alice :No nickname given");
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

/* ---- ISON and USERHOST ---------------------------------------------------- */

Test(chat_query, ison_and_userhost)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "alice");
    login(&b, port, "bob");
    oper(&b);
    send_ok(&b, "AWAY :gone");
    IRC_EXPECT_NEXT(&b, "306", NULL, T);
    asks(&a, "ISON bob nobody ALICE", SRV "303 alice :bob alice");
    asks(&a, "ISON :BOB alice", SRV "303 alice :bob alice");
    asks(&a, "ISON nobody", SRV "303 alice :");
    asks(&a, "ISON", SRV "461 alice ISON :Not enough parameters");
    asks(&a, "USERHOST bob alice nobody",
         SRV "302 alice :bob*=-ubob@127.0.0.1 alice=+ualice@127.0.0.1");
    asks(&a, "USERHOST nobody", SRV "302 alice :");
    asks(&a, "USERHOST", SRV "461 alice USERHOST :Not enough parameters");
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* ---- WHOIS ---------------------------------------------------------------- */

/* The next line is "317 c->nick nick <idle> <signon> :..." with idle at
 * most max_idle and signon within the last minute. */
static void idle_line(struct irc *c, const char *nick, long max_idle)
{
    char buf[128], idle[32], signon[32];
    snprintf(buf, sizeof buf, SRV "317 %s %s ", c->nick, nick);
    const char *want = buf;
    IRC_EXPECT_NEXT(c, "317", want, T);
    MX_REQUIRE(strstr(c->line, " :seconds idle, signon time"), "%s", c->line);
    MX_REQUIRE(irc_line_param(c->line, 2, idle, sizeof idle) &&
               irc_line_param(c->line, 3, signon, sizeof signon), "%s", c->line);
    long now = (long)time(NULL), on = atol(signon);
    MX_REQUIRE(atol(idle) >= 0 && atol(idle) <= max_idle, "idle: %s", c->line);
    MX_REQUIRE(on <= now && on > now - 60, "signon: %s", c->line);
}

Test(chat_query, whois_prefixes_secret_idle_and_several)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    login(&a, port, "alice");
    login(&b, port, "bob");
    login(&c, port, "carol");
    IRC_JOIN(&b, "#pub", T);
    IRC_JOIN(&b, "#sec", T);
    send_ok(&b, "MODE #sec +s");
    IRC_EXPECT_NEXT(&b, "MODE", "MODE #sec +s", T);
    IRC_JOIN(&c, "#pub", T);
    IRC_EXPECT(&b, "JOIN", ":carol!ucarol@127.0.0.1 JOIN :#pub", T);
    send_ok(&b, "MODE #pub +v carol");
    IRC_EXPECT(&c, "MODE", "MODE #pub +v carol", T);
    send_ok(&b, "PRIVMSG #pub :hello");
    IRC_EXPECT(&c, "PRIVMSG", ":hello", T);
    /* alice shares nothing with bob: #sec is hidden from her. */
    asks(&a, "WHOIS bob", SRV "311 alice bob ubob 127.0.0.1 * :Test bob");
    next_is(&a, SRV "319 alice bob :@#pub");
    next_is(&a, SRV "312 alice bob test.muxd :muxd");
    idle_line(&a, "bob", 2);
    next_is(&a, SRV "318 alice bob :End of WHOIS list");
    /* bob sees both; the optional server parameter is accepted. */
    asks(&b, "WHOIS test.muxd bob", SRV "311 bob bob ubob 127.0.0.1 * :Test bob");
    next_is(&b, SRV "319 bob bob :@#pub @#sec");
    IRC_EXPECT_NEXT(&b, "312", NULL, T);
    idle_line(&b, "bob", 2);
    next_is(&b, SRV "318 bob bob :End of WHOIS list");
    /* Several nicks: each in turn, 401 for the missing, one 318 naming
     * the list as sent. bob as an away operator: 313 and 301. */
    oper(&b);
    send_ok(&b, "AWAY :lunch");
    IRC_EXPECT_NEXT(&b, "306", NULL, T);
    asks(&a, "WHOIS Carol,nobody,bob", SRV "311 alice carol ucarol 127.0.0.1 * :Test carol");
    next_is(&a, SRV "319 alice carol :+#pub");
    next_is(&a, SRV "312 alice carol test.muxd :muxd");
    idle_line(&a, "carol", 60);
    next_is(&a, SRV "401 alice nobody :No such nick/channel");
    next_is(&a, SRV "311 alice bob ubob 127.0.0.1 * :Test bob");
    next_is(&a, SRV "319 alice bob :@#pub");
    next_is(&a, SRV "312 alice bob test.muxd :muxd");
    next_is(&a, SRV "313 alice bob :is an IRC operator");
    next_is(&a, SRV "301 alice bob :lunch");
    idle_line(&a, "bob", 60);
    next_is(&a, SRV "318 alice Carol,nobody,bob :End of WHOIS list");
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

/* ---- WHO ------------------------------------------------------------------ */

Test(chat_query, who_channels_masks_flags_and_invisible)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b, c, e;
    login(&a, port, "alice");
    login(&b, port, "bob");
    login(&c, port, "carol");
    login(&e, port, "dave");
    IRC_JOIN(&b, "#w", T);
    IRC_JOIN(&c, "#w", T);
    IRC_EXPECT(&b, "JOIN", ":carol!ucarol@127.0.0.1 JOIN :#w", T);
    umode(&c, "+i");
    umode(&e, "+i");
    oper(&b);
    send_ok(&b, "AWAY :brb");
    IRC_EXPECT_NEXT(&b, "306", NULL, T);
    /* alice is not on #w: invisible carol is hidden from her. */
    asks(&a, "WHO #w", SRV "352 alice #w ubob 127.0.0.1 test.muxd bob G*@ :0 Test bob");
    next_is(&a, SRV "315 alice #w :End of WHO list");
    /* carol is: she sees everyone. */
    send_ok(&c, "WHO #w");
    collect_is(&c, "315",
               SRV "352 carol #w ubob 127.0.0.1 test.muxd bob G*@ :0 Test bob\n"
               SRV "352 carol #w ucarol 127.0.0.1 test.muxd carol H :0 Test carol");
    /* Everyone alice may see: herself and bob; not the invisible two. */
    send_ok(&a, "WHO *");
    collect_is(&a, "315",
               SRV "352 alice * ualice 127.0.0.1 test.muxd alice H :0 Test alice\n"
               SRV "352 alice * ubob 127.0.0.1 test.muxd bob G* :0 Test bob");
    send_ok(&a, "WHO 0");
    collect_is(&a, "315",
               SRV "352 alice * ualice 127.0.0.1 test.muxd alice H :0 Test alice\n"
               SRV "352 alice * ubob 127.0.0.1 test.muxd bob G* :0 Test bob");
    /* carol shares #w with bob, not with dave. */
    send_ok(&c, "WHO *");
    collect_is(&c, "315",
               SRV "352 carol * ualice 127.0.0.1 test.muxd alice H :0 Test alice\n"
               SRV "352 carol * ubob 127.0.0.1 test.muxd bob G* :0 Test bob\n"
               SRV "352 carol * ucarol 127.0.0.1 test.muxd carol H :0 Test carol");
    /* An exact nick answers, +i or not. */
    asks(&a, "WHO DAVE", SRV "352 alice * udave 127.0.0.1 test.muxd dave H :0 Test dave");
    next_is(&a, SRV "315 alice DAVE :End of WHO list");
    /* Masks on nick, user, host, real name; invisible ones still hidden. */
    asks(&a, "WHO *ob", SRV "352 alice * ubob 127.0.0.1 test.muxd bob G* :0 Test bob");
    next_is(&a, SRV "315 alice *ob :End of WHO list");
    asks(&a, "WHO ubo?", SRV "352 alice * ubob 127.0.0.1 test.muxd bob G* :0 Test bob");
    next_is(&a, SRV "315 alice ubo? :End of WHO list");
    asks(&a, "WHO *carol*", SRV "315 alice *carol* :End of WHO list");
    send_ok(&a, "WHO 127.0.0.*");
    collect_is(&a, "315",
               SRV "352 alice * ualice 127.0.0.1 test.muxd alice H :0 Test alice\n"
               SRV "352 alice * ubob 127.0.0.1 test.muxd bob G* :0 Test bob");
    /* 'o': operators only. */
    asks(&a, "WHO * o", SRV "352 alice * ubob 127.0.0.1 test.muxd bob G* :0 Test bob");
    next_is(&a, SRV "315 alice * :End of WHO list");
    asks(&c, "WHO #w o", SRV "352 carol #w ubob 127.0.0.1 test.muxd bob G*@ :0 Test bob");
    next_is(&c, SRV "315 carol #w :End of WHO list");
    asks(&a, "WHO nobody", SRV "315 alice nobody :End of WHO list");
    mx_require_clean_log(d);
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    irc_close(&e);
    mx_stop_ok(d, 10000);
}

Test(chat_query, whox_fields_in_spec_order_with_token)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "alice");
    login(&b, port, "bob");
    IRC_JOIN(&b, "#x", T);
    IRC_JOIN(&a, "#x", T);
    /* The spec's own example's fields, asked for out of order. */
    asks(&a, "WHO #x %rafnhuct,42", SRV "354 alice 42 #x ubob 127.0.0.1 bob H@ 0 :Test bob");
    next_is(&a, SRV "354 alice 42 #x ualice 127.0.0.1 alice H 0 :Test alice");
    next_is(&a, SRV "315 alice #x :End of WHO list");
    asks(&a, "WHO bob %nf", SRV "354 alice bob H");
    next_is(&a, SRV "315 alice bob :End of WHO list");
    /* No token given: 0; the address (no cloak here); d, l, o. */
    asks(&a, "WHO bob %tisdo", SRV "354 alice 0 127.0.0.1 test.muxd 0 n/a");
    next_is(&a, SRV "315 alice bob :End of WHO list");
    send_ok(&a, "WHO bob %l");
    IRC_EXPECT_NEXT(&a, "354", NULL, T);
    char idle[16];
    MX_REQUIRE(irc_line_param(a.line, 1, idle, sizeof idle) && strlen(idle) > 0 &&
               strspn(idle, "0123456789") == strlen(idle), "%s", a.line);
    next_is(&a, SRV "315 alice bob :End of WHO list");
    asks(&a, "WHO #x o%n,7", SRV "315 alice #x :End of WHO list");
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}

/* ---- LIST and NAMES ------------------------------------------------------- */

Test(chat_query, list_filters_and_names_of_several)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b, c;
    login(&a, port, "alice");
    login(&b, port, "bob");
    login(&c, port, "carol");
    IRC_JOIN(&a, "#big", T);
    IRC_JOIN(&b, "#big", T);
    IRC_EXPECT(&a, "JOIN", ":bob!ubob@127.0.0.1 JOIN :#big", T);
    IRC_JOIN(&c, "#big", T);
    IRC_EXPECT(&b, "JOIN", ":carol!ucarol@127.0.0.1 JOIN :#big", T);
    IRC_JOIN(&a, "#mid", T);
    IRC_JOIN(&b, "#mid", T);
    IRC_EXPECT(&a, "JOIN", ":bob!ubob@127.0.0.1 JOIN :#mid", T);
    IRC_JOIN(&b, "#one", T);
    IRC_JOIN(&b, "#sec", T);
    send_ok(&b, "MODE #sec +s");
    IRC_EXPECT_NEXT(&b, "MODE", "+s", T);
    send_ok(&a, "TOPIC #mid :the middle");
    IRC_EXPECT_NEXT(&a, "TOPIC", NULL, T);
    /* Lines from the other worker come by a post: waited for, not synced. */
    IRC_EXPECT(&b, "TOPIC", "TOPIC #mid :the middle", T);
    asks(&c, "LIST >1", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", SRV "322 carol #big 3 :\n" SRV "322 carol #mid 2 :the middle");
    asks(&c, "LIST <2", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", SRV "322 carol #one 1 :");
    asks(&c, "LIST >1,<3", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", SRV "322 carol #mid 2 :the middle");
    asks(&c, "LIST #B*,#one", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", SRV "322 carol #big 3 :\n" SRV "322 carol #one 1 :");
    asks(&c, "LIST !#b*,>0", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", SRV "322 carol #mid 2 :the middle\n" SRV "322 carol #one 1 :");
    asks(&c, "LIST #sec", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", "");
    /* bob is on the secret channel: he sees it. */
    asks(&b, "LIST #*e* <2", SRV "321 bob Channel :Users  Name");
    collect_is(&b, "323", SRV "322 bob #one 1 :\n" SRV "322 bob #sec 1 :");
    asks(&c, "LIST", SRV "321 carol Channel :Users  Name");
    collect_is(&c, "323", SRV "322 carol #big 3 :\n" SRV "322 carol #mid 2 :the middle\n"
               SRV "322 carol #one 1 :");
    /* NAMES of several: each in turn; the secret one only ends. */
    asks(&c, "NAMES #big,#mid,#sec", SRV "353 carol = #big :@alice bob carol");
    next_is(&c, SRV "366 carol #big :End of NAMES list");
    next_is(&c, SRV "353 carol = #mid :@alice bob");
    next_is(&c, SRV "366 carol #mid :End of NAMES list");
    next_is(&c, SRV "366 carol #sec :End of NAMES list");
    /* NAMES alone: every visible channel, then the end for "*". */
    send_ok(&c, "NAMES");
    int n366 = 0;
    do {
        MX_REQUIRE(irc_next(&c, T) == 1, "no end of NAMES:\n%s", irc_recent(&c));
        MX_REQUIRE(!strstr(c.line, "#sec"), "secret channel in NAMES: %s", c.line);
        n366 += irc_line_is(c.line, "366", NULL);
    } while (!irc_line_is(c.line, "366", " * :End of NAMES list"));
    MX_REQUIRE(n366 == 4, "three channels and the end: %d\n%s", n366, irc_recent(&c));
    /* An invisible member: hidden from outsiders' NAMES, not from its
     * channel's members. */
    umode(&b, "+i");
    asks(&c, "NAMES #mid", SRV "353 carol = #mid :@alice");
    next_is(&c, SRV "366 carol #mid :End of NAMES list");
    asks(&a, "NAMES #mid", SRV "353 alice = #mid :@alice bob");
    next_is(&a, SRV "366 alice #mid :End of NAMES list");
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    mx_stop_ok(d, 10000);
}

/* ---- the server's own ----------------------------------------------------- */

Test(chat_query, time_version_admin_info)
{
    struct mx_daemon *d = boot();
    int port = mx_port(d, "chat");
    struct irc a, b;
    login(&a, port, "alice");
    login(&b, port, "bob");
    send_ok(&a, "TIME");
    IRC_EXPECT_NEXT(&a, "391", SRV "391 alice test.muxd ", T);
    char ts[32];
    MX_REQUIRE(irc_line_param(a.line, 2, ts, sizeof ts), "%s", a.line);
    MX_REQUIRE(labs(atol(ts) - (long)time(NULL)) < 60, "%s", a.line);
    send_ok(&a, "TIME bob");
    IRC_EXPECT_NEXT(&a, "391", NULL, T);
    send_ok(&a, "TIME test.*");
    IRC_EXPECT_NEXT(&a, "391", NULL, T);
    asks(&a, "TIME elsewhere.example", SRV "402 alice elsewhere.example :No such server");
    send_ok(&a, "VERSION");
    IRC_EXPECT_NEXT(&a, "351", " test.muxd :muxd chat", T);
    MX_REQUIRE(strstr(a.line, SRV "351 alice muxd-"), "%s", a.line);
    IRC_EXPECT_NEXT(&a, "005", " CASEMAPPING=rfc1459 ", T);
    asks(&a, "VERSION elsewhere.example", SRV "402 alice elsewhere.example :No such server");
    asks(&a, "ADMIN", SRV "256 alice test.muxd :Administrative info");
    IRC_EXPECT_NEXT(&a, "257", NULL, T);
    IRC_EXPECT_NEXT(&a, "258", NULL, T);
    IRC_EXPECT_NEXT(&a, "259", NULL, T);
    send_ok(&a, "INFO");
    IRC_EXPECT_NEXT(&a, "371", ":muxd-", T);
    IRC_EXPECT_NEXT(&a, "371", NULL, T);
    IRC_EXPECT_NEXT(&a, "371", NULL, T);
    next_is(&a, SRV "374 alice :End of INFO list");
    MX_REQUIRE(irc_quiet(&a, 100), "more after 374: %s", a.line);
    /* LINKS: a network of one. HELP: the index, a command, no such topic. */
    asks(&a, "LINKS", SRV "364 alice test.muxd test.muxd :0 muxd");
    next_is(&a, SRV "365 alice * :End of /LINKS list");
    asks(&a, "HELP", SRV "704 alice index :Commands: ADMIN AWAY CAP DIE HELP INFO INVITE ISON "
         "JOIN KICK KILL");
    IRC_EXPECT_NEXT(&a, "705", NULL, T);
    IRC_EXPECT_NEXT(&a, "705", NULL, T);
    IRC_EXPECT_NEXT(&a, "705", " WHOWAS. ", T);
    next_is(&a, SRV "706 alice index :End of /HELP");
    asks(&a, "HELP privmsg", SRV "704 alice privmsg :PRIVMSG <nick|#chan|@#chan|+#chan>[,...] "
         ":text: sends a message");
    next_is(&a, SRV "706 alice privmsg :End of /HELP");
    asks(&a, "HELP frobnicate", SRV "524 alice frobnicate :No help available on this topic");
    asks(&a, "HELP :two words", SRV "524 alice * :No help available on this topic");
    irc_close(&a);
    irc_close(&b);
    mx_stop_ok(d, 10000);
}
