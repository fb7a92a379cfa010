/* test_chat_caps.c - IRCv3 capabilities: CAP LS 302 / LIST / REQ (ACK
 * and NAK all or nothing) / END, server-time, message-tags and TAGMSG,
 * echo-message, labeled-response with batch, away-notify, extended-join,
 * setname, invite-notify. Exact lines; a member without a capability
 * never sees what it brings.
 *
 * Two workers: round-robin puts consecutive connections on different
 * workers, so the 1st and 3rd client share one, the 2nd and 4th the
 * other. Lines from one sender arrive in order on every worker, so a
 * "marker" message after an event proves what came (or not) before it. */
#include "harness.h"
#include "irc.h"

#include <stdio.h>
#include <string.h>

TestSuite(chat_caps, .init = mx_init, .fini = mx_fini, .timeout = 60);

#define T 5000
#define LS ":test.muxd CAP * LS :away-notify batch cap-notify echo-message extended-join " \
           "invite-notify labeled-response message-tags multi-prefix server-time setname " \
           "userhost-in-names"

static const char config[] =
    "[server]\nworkers = 2\n"
    "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
    "server_name = test.muxd\nflood_rate = 0\n";

/* The next line c reads is exactly want. */
static void next_is(struct irc *c, const char *want)
{
    MX_REQUIRE(irc_next(c, T) == 1, "%s: nothing instead of '%s'; last lines:\n%s", c->nick,
               want, irc_recent(c));
    MX_REQUIRE(strcmp(c->line, want) == 0, "%s: '%s' instead of '%s'", c->nick, c->line, want);
}

static bool digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* "@time=2026-12-03T12:34:56.789Z" then rest ("" or ";tags..." or " :..."):
 * the stamp's exact shape, UTC with milliseconds. */
static bool timed(const char *line, const char *rest)
{
    const char *t = line + 6;
    return strncmp(line, "@time=", 6) == 0 && strlen(line) >= 30 && digits(t, 4) &&
           t[4] == '-' && digits(t + 5, 2) && t[7] == '-' && digits(t + 8, 2) && t[10] == 'T' &&
           digits(t + 11, 2) && t[13] == ':' && digits(t + 14, 2) && t[16] == ':' &&
           digits(t + 17, 2) && t[19] == '.' && digits(t + 20, 3) && t[23] == 'Z' &&
           strcmp(t + 24, rest) == 0;
}

/* The next line c reads is "@time=<now>" followed by rest. */
static void next_timed(struct irc *c, const char *rest)
{
    MX_REQUIRE(irc_next(c, T) == 1, "%s: nothing instead of '@time=...%s'", c->nick, rest);
    MX_REQUIRE(timed(c->line, rest), "%s: '%s' instead of '@time=...%s'", c->nick, c->line,
               rest);
}

/* Reads up to the line exactly want; every line before it must not
 * start with '@' nor hold `never`. */
static void upto(struct irc *c, const char *want, const char *never)
{
    for (;;) {
        MX_REQUIRE(irc_next(c, T) == 1, "%s: no '%s'; last lines:\n%s", c->nick, want,
                   irc_recent(c));
        if (strcmp(c->line, want) == 0)
            return;
        MX_REQUIRE(c->line[0] != '@' && (!never || !strstr(c->line, never)),
                   "%s: '%s' before '%s'", c->nick, c->line, want);
    }
}

/* Registers nick with CAP LS 302, REQ caps (NULL: none), CAP END. */
static void cap_login(struct irc *c, int port, const char *nick, const char *caps)
{
    MX_REQUIRE(irc_open(c, port) == 0);
    snprintf(c->nick, sizeof c->nick, "%s", nick);
    MX_REQUIRE(irc_send(c, "CAP LS 302") == 0);
    next_is(c, LS);
    if (caps) {
        char want[256];
        snprintf(want, sizeof want, ":test.muxd CAP * ACK :%s", caps);
        MX_REQUIRE(irc_send(c, "CAP REQ :%s", caps) == 0);
        next_is(c, want);
    }
    MX_REQUIRE(irc_send(c, "NICK %s", nick) == 0 && irc_send(c, "USER u%s 0 * :Test %s", nick,
                                                             nick) == 0);
    MX_REQUIRE(irc_send(c, "CAP END") == 0);
    IRC_EXPECT(c, "422", NULL, T);
}

static void join_all(struct irc **v, int n, const char *chan)
{
    for (int i = 0; i < n; i++)
        IRC_JOIN(v[i], chan, T);
    /* Everyone has seen the last one's JOIN: nothing older is pending. */
    char want[128];
    snprintf(want, sizeof want, "!u%s@127.0.0.1 JOIN", v[n - 1]->nick);
    for (int i = 0; i < n - 1; i++)
        MX_REQUIRE(irc_expect(v[i], NULL, want, T), "%s: no '%s'", v[i]->nick, want);
}

Test(chat_caps, negotiation)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc c, old;
    MX_REQUIRE(irc_open(&c, port) == 0);
    snprintf(c.nick, sizeof c.nick, "c");
    MX_REQUIRE(irc_send(&c, "CAP LS 302") == 0);
    next_is(&c, LS);
    MX_REQUIRE(irc_send(&c, "NICK c") == 0 && irc_send(&c, "USER uc 0 * :Test c") == 0);
    MX_REQUIRE(irc_quiet(&c, 150), "registered during negotiation: %s", c.line);
    /* Replies name the client by its nick once it has one. */
    /* One unknown name NAKs the whole request; nothing changes. */
    MX_REQUIRE(irc_send(&c, "CAP REQ :server-time bogus") == 0);
    next_is(&c, ":test.muxd CAP c NAK :server-time bogus");
    MX_REQUIRE(irc_send(&c, "CAP LIST") == 0);
    next_is(&c, ":test.muxd CAP c LIST :cap-notify");
    /* 302 made cap-notify permanent. */
    MX_REQUIRE(irc_send(&c, "CAP REQ :-cap-notify") == 0);
    next_is(&c, ":test.muxd CAP c NAK :-cap-notify");
    MX_REQUIRE(irc_send(&c, "CAP REQ :server-time echo-message batch") == 0);
    next_is(&c, ":test.muxd CAP c ACK :server-time echo-message batch");
    MX_REQUIRE(irc_send(&c, "CAP REQ :-batch cap-notify") == 0);
    next_is(&c, ":test.muxd CAP c ACK :-batch cap-notify");
    MX_REQUIRE(irc_send(&c, "CAP LIST") == 0);
    next_is(&c, ":test.muxd CAP c LIST :cap-notify echo-message server-time");
    MX_REQUIRE(irc_send(&c, "CAP FOO") == 0);
    next_is(&c, ":test.muxd 410 c FOO :Invalid CAP command");
    MX_REQUIRE(irc_send(&c, "CAP END") == 0);
    IRC_EXPECT_NEXT(&c, "001", NULL, T);
    IRC_EXPECT(&c, "422", NULL, T);
    /* After registration: the nick, and no hold. */
    MX_REQUIRE(irc_send(&c, "CAP LIST") == 0);
    next_is(&c, ":test.muxd CAP c LIST :cap-notify echo-message server-time");
    /* A client without 302: one line, no implied cap-notify. */
    MX_REQUIRE(irc_open(&old, port) == 0);
    snprintf(old.nick, sizeof old.nick, "old");
    MX_REQUIRE(irc_send(&old, "CAP LS") == 0);
    next_is(&old, LS);
    MX_REQUIRE(irc_send(&old, "CAP LIST") == 0);
    next_is(&old, ":test.muxd CAP * LIST :");
    MX_REQUIRE(irc_send(&old, "CAP REQ :cap-notify") == 0);
    next_is(&old, ":test.muxd CAP * ACK :cap-notify");
    MX_REQUIRE(irc_send(&old, "CAP REQ :-cap-notify") == 0);
    next_is(&old, ":test.muxd CAP * ACK :-cap-notify");
    MX_REQUIRE(irc_send(&old, "NICK old") == 0 && irc_send(&old, "USER uold 0 * :x") == 0);
    MX_REQUIRE(irc_quiet(&old, 100), "registered during negotiation: %s", old.line);
    MX_REQUIRE(irc_send(&old, "CAP END") == 0);
    IRC_EXPECT_NEXT(&old, "001", NULL, T);
    irc_close(&c);
    irc_close(&old);
    mx_require_clean_log(d);
}

Test(chat_caps, tags_time_echo_tagmsg)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc a, b, c, e;
    cap_login(&a, port, "a", "message-tags server-time echo-message"); /* worker 0 */
    cap_login(&b, port, "b", "message-tags");                           /* worker 1 */
    cap_login(&c, port, "c", NULL);                                     /* worker 0 */
    cap_login(&e, port, "e", "server-time");                            /* worker 1 */
    struct irc *all[] = { &a, &b, &c, &e };
    join_all(all, 4, "#t");
    /* Only client tags travel (label and a bad key do not), in canonical
     * form; each member gets what it asked for. */
    MX_REQUIRE(irc_send(&a, "@+draft/react=x\\sy;label=q;+bad_k=1;+e=\\z PRIVMSG #t :hello") == 0);
    const char *msg = " :a!ua@127.0.0.1 PRIVMSG #t :hello";
    char want[256];
    snprintf(want, sizeof want, ";+draft/react=x\\sy;+e=z%s", msg);
    next_timed(&a, want); /* echo-message: as the others see it */
    snprintf(want, sizeof want, "@+draft/react=x\\sy;+e=z%s", msg);
    next_is(&b, want);
    next_is(&c, msg + 1);
    next_timed(&e, msg);
    /* TAGMSG: only to message-tags members (and the echo). */
    MX_REQUIRE(irc_send(&a, "@+typing=active TAGMSG #t") == 0);
    next_timed(&a, ";+typing=active :a!ua@127.0.0.1 TAGMSG #t");
    next_is(&b, "@+typing=active :a!ua@127.0.0.1 TAGMSG #t");
    MX_REQUIRE(irc_send(&a, "PRIVMSG #t :marker") == 0);
    upto(&c, ":a!ua@127.0.0.1 PRIVMSG #t :marker", "TAGMSG");
    next_timed(&e, " :a!ua@127.0.0.1 PRIVMSG #t :marker");
    /* Tags from a client without message-tags are dropped. */
    MX_REQUIRE(irc_send(&c, "@+x=1 PRIVMSG #t :plain") == 0);
    MX_REQUIRE(irc_expect(&b, NULL, "PRIVMSG #t :plain", T));
    MX_REQUIRE(strcmp(b.line, ":c!uc@127.0.0.1 PRIVMSG #t :plain") == 0, "%s", b.line);
    /* To a nick across workers, with tags, no echo for b. */
    MX_REQUIRE(irc_send(&b, "@+x=1 PRIVMSG a :hi") == 0);
    MX_REQUIRE(irc_expect(&a, NULL, "PRIVMSG a :hi", T));
    MX_REQUIRE(timed(a.line, ";+x=1 :b!ub@127.0.0.1 PRIVMSG a :hi"), "%s", a.line);
    MX_REQUIRE(irc_send(&b, "TAGMSG c") == 0);
    MX_REQUIRE(irc_send(&b, "PRIVMSG c :marker2") == 0);
    upto(&c, ":b!ub@127.0.0.1 PRIVMSG c :marker2", "TAGMSG");
    /* Over 4094 bytes of tag data: 417, and the line is not acted on. */
    static char big[4200];
    memset(big, 'v', 4095);
    MX_REQUIRE(irc_send(&a, "@+k=%s PRIVMSG #t :big", big) == 0);
    IRC_EXPECT_NEXT(&a, "417", NULL, T);
    MX_REQUIRE(strcmp(a.line, ":test.muxd 417 a :Input line was too long") == 0, "%s", a.line);
    /* 4094 exactly is fine: the same tag, a shorter value. */
    big[4094 - 3] = '\0';
    MX_REQUIRE(irc_send(&a, "@+k=%s PRIVMSG #t :fits", big) == 0);
    MX_REQUIRE(irc_expect(&c, NULL, "PRIVMSG #t :fits", T));
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    irc_close(&e);
    mx_require_clean_log(d);
}

Test(chat_caps, labeled_response)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc a, b;
    cap_login(&a, port, "a", "labeled-response batch");
    cap_login(&b, port, "b", NULL);
    /* One reply: it carries the label. */
    MX_REQUIRE(irc_send(&a, "@label=L1 PING tok") == 0);
    next_is(&a, "@label=L1 :test.muxd PONG test.muxd :tok");
    /* Several: a batch, started with the label. */
    MX_REQUIRE(irc_send(&a, "@label=L\\s2 JOIN #l") == 0);
    next_is(&a, "@label=L\\s2 :test.muxd BATCH +lr1 labeled-response");
    next_is(&a, "@batch=lr1 :a!ua@127.0.0.1 JOIN :#l");
    next_is(&a, "@batch=lr1 :test.muxd 353 a = #l :@a");
    next_is(&a, "@batch=lr1 :test.muxd 366 a #l :End of NAMES list");
    next_is(&a, ":test.muxd BATCH -lr1");
    /* The next batch has a new reference. */
    MX_REQUIRE(irc_send(&a, "@label=n NAMES #l,#none") == 0);
    next_is(&a, "@label=n :test.muxd BATCH +lr2 labeled-response");
    next_is(&a, "@batch=lr2 :test.muxd 353 a = #l :@a");
    next_is(&a, "@batch=lr2 :test.muxd 366 a #l :End of NAMES list");
    next_is(&a, "@batch=lr2 :test.muxd 366 a #none :End of NAMES list");
    next_is(&a, ":test.muxd BATCH -lr2");
    MX_REQUIRE(irc_send(&a, "@label=m MOTD") == 0);
    next_is(&a, "@label=m :test.muxd 422 a :MOTD File is missing");
    /* None: an ACK. */
    MX_REQUIRE(irc_send(&a, "@label=L3 PONG x") == 0);
    next_is(&a, "@label=L3 :test.muxd ACK");
    MX_REQUIRE(irc_send(&a, "@label=L4 PRIVMSG #l :nobody here") == 0);
    next_is(&a, "@label=L4 :test.muxd ACK");
    /* Without the cap a label is ignored. */
    MX_REQUIRE(irc_send(&b, "@label=zz PING t") == 0);
    next_is(&b, ":test.muxd PONG test.muxd :t");
    irc_close(&a);
    irc_close(&b);
    mx_require_clean_log(d);
}

Test(chat_caps, notify_caps)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc a, b, c, e;
    cap_login(&a, port, "a", "away-notify extended-join setname invite-notify"); /* w0 */
    cap_login(&b, port, "b", NULL);                                              /* w1 */
    cap_login(&c, port, "c", "setname");                                         /* w0 */
    cap_login(&e, port, "e", NULL);                                              /* w1 */
    IRC_JOIN(&a, "#n", T);
    /* extended-join: account "*" and the real name, to a only. */
    IRC_JOIN(&b, "#n", T);
    next_is(&a, ":b!ub@127.0.0.1 JOIN #n * :Test b");
    /* away-notify: set and unset; b hears nothing of its own. */
    MX_REQUIRE(irc_send(&b, "AWAY :gone") == 0);
    IRC_EXPECT_NEXT(&b, "306", NULL, T);
    next_is(&a, ":b!ub@127.0.0.1 AWAY :gone");
    MX_REQUIRE(irc_send(&b, "AWAY") == 0);
    IRC_EXPECT_NEXT(&b, "305", NULL, T);
    next_is(&a, ":b!ub@127.0.0.1 AWAY");
    /* An away client joining: its AWAY follows its JOIN, for a only. */
    MX_REQUIRE(irc_send(&c, "AWAY :lunch") == 0);
    IRC_EXPECT_NEXT(&c, "306", NULL, T);
    IRC_JOIN(&c, "#n", T);
    next_is(&a, ":c!uc@127.0.0.1 JOIN #n * :Test c");
    next_is(&a, ":c!uc@127.0.0.1 AWAY :lunch");
    next_is(&b, ":c!uc@127.0.0.1 JOIN :#n");
    MX_REQUIRE(irc_send(&c, "PRIVMSG #n :m1") == 0);
    next_is(&b, ":c!uc@127.0.0.1 PRIVMSG #n :m1");
    MX_REQUIRE(irc_expect(&a, NULL, "PRIVMSG #n :m1", T));
    /* setname: to peers with it and back to c; b (without) silently. */
    MX_REQUIRE(irc_send(&c, "SETNAME :New Name") == 0);
    next_is(&c, ":c!uc@127.0.0.1 SETNAME :New Name");
    next_is(&a, ":c!uc@127.0.0.1 SETNAME :New Name");
    MX_REQUIRE(irc_send(&b, "SETNAME :B Two") == 0);
    next_is(&a, ":b!ub@127.0.0.1 SETNAME :B Two");
    next_is(&c, ":b!ub@127.0.0.1 SETNAME :B Two");
    MX_REQUIRE(irc_send(&b, "WHOIS b") == 0);
    IRC_EXPECT_NEXT(&b, "311", "b ub 127.0.0.1 * :B Two", T);
    IRC_EXPECT(&b, "318", NULL, T);
    static char longname[200];
    memset(longname, 'n', 101);
    MX_REQUIRE(irc_send(&c, "SETNAME :%s", longname) == 0);
    next_is(&c, ":test.muxd FAIL SETNAME INVALID_REALNAME :Realname is not valid");
    /* invite-notify: a (operator, with the cap) sees b invite e. */
    MX_REQUIRE(irc_send(&a, "MODE #n +o b") == 0);
    MX_REQUIRE(irc_expect(&b, NULL, "MODE #n +o b", T));
    MX_REQUIRE(irc_expect(&a, NULL, "MODE #n +o b", T));
    MX_REQUIRE(irc_send(&b, "INVITE e #n") == 0);
    IRC_EXPECT_NEXT(&b, "341", "e #n", T);
    next_is(&e, ":b!ub@127.0.0.1 INVITE e :#n");
    next_is(&a, ":b!ub@127.0.0.1 INVITE e :#n");
    MX_REQUIRE(irc_send(&b, "PRIVMSG #n :m2") == 0);
    upto(&c, ":b!ub@127.0.0.1 PRIVMSG #n :m2", "INVITE");
    irc_close(&a);
    irc_close(&b);
    irc_close(&c);
    irc_close(&e);
    mx_require_clean_log(d);
}

/* multi-prefix: every prefix in NAMES, WHO and WHOIS; userhost-in-names:
 * NAMES entries as nick!user@host. A client without them sees the
 * highest prefix and the nick alone. */
Test(chat_caps, multi_prefix_and_userhost_in_names)
{
    struct mx_daemon *d = mx_boot(config);
    int port = mx_port(d, "chat");
    struct irc a, b, m;
    cap_login(&a, port, "a", NULL);                                  /* w0 */
    cap_login(&b, port, "b", NULL);                                  /* w1 */
    cap_login(&m, port, "m", "multi-prefix userhost-in-names");      /* w0 */
    IRC_JOIN(&a, "#p", T);
    struct irc *v[] = { &b, &m };
    join_all(v, 2, "#p");
    MX_REQUIRE(irc_expect(&a, NULL, "!um@127.0.0.1 JOIN", T));
    MX_REQUIRE(irc_send(&a, "MODE #p +v a") == 0);
    MX_REQUIRE(irc_expect(&a, NULL, "MODE #p +v a", T));
    MX_REQUIRE(irc_expect(&m, NULL, "MODE #p +v a", T));
    MX_REQUIRE(irc_expect(&b, NULL, "MODE #p +v a", T));
    MX_REQUIRE(irc_send(&m, "NAMES #p") == 0);
    next_is(&m, ":test.muxd 353 m = #p :@+a!ua@127.0.0.1 b!ub@127.0.0.1 m!um@127.0.0.1");
    next_is(&m, ":test.muxd 366 m #p :End of NAMES list");
    MX_REQUIRE(irc_send(&b, "NAMES #p") == 0);
    next_is(&b, ":test.muxd 353 b = #p :@a b m");
    next_is(&b, ":test.muxd 366 b #p :End of NAMES list");
    MX_REQUIRE(irc_send(&m, "WHO #p") == 0);
    next_is(&m, ":test.muxd 352 m #p ua 127.0.0.1 test.muxd a H@+ :0 Test a");
    MX_REQUIRE(irc_expect(&m, "315", NULL, T));
    MX_REQUIRE(irc_send(&b, "WHO #p") == 0);
    IRC_EXPECT(&b, "352", " a H@ :0 Test a", T);
    MX_REQUIRE(irc_expect(&b, "315", NULL, T));
    MX_REQUIRE(irc_send(&m, "WHOIS a") == 0);
    IRC_EXPECT_NEXT(&m, "311", NULL, T);
    next_is(&m, ":test.muxd 319 m a :@+#p");
    MX_REQUIRE(irc_expect(&m, "318", NULL, T));
    irc_close(&a);
    irc_close(&b);
    irc_close(&m);
    mx_require_clean_log(d);
}
