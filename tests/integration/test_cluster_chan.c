/* test_cluster_chan.c - channel membership across muxd nodes (issue 16):
 * three daemons (nodes a, b and c) on one real Redis, as in
 * test_cluster.c (the bus and nicks across nodes). JOIN, PART, KICK
 * lines to the members on every node, NICK and QUIT once to each member
 * however many channels it shares with the client, NAMES (and a JOIN's
 * list) and WHO naming other nodes' members, a killed node's clients
 * quitting with a netsplit reason, and the member lists in Redis
 * (members:CHAN) after each of those and after Redis restarts empty.
 *
 * The world (Redis, the nodes, their clients) and the helpers, NAMES and
 * the Redis checks among them, are harness/cluster.c. */
#include "cluster.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void fini(void)
{
    redis_fini();
    mx_fini();
}

TestSuite(cluster, .init = mx_init, .fini = fini, .timeout = 90);

/* ---- a) JOIN, PART, KICK, NICK and QUIT across nodes -------------------- */

/* alice and carol on a, bob on b, cy on c. Every line below reaches a
 * node through its one subscriber connection in the order the sending
 * node published it, so each expect_line that follows a line from the
 * same node is also the proof that the one before came once. */
static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* u's WHO of chan: the nicks and real names (flags: the flags, "H@")
 * of its 352 replies, sorted, as "nick=real name" joined by ", " (hash
 * order on the network is no order), checked against want; then the 315. */
static void who_is(struct user *u, const char *chan, bool flags, const char *want)
{
    MX_REQUIRE(irc_send(&u->c, "WHO %s", chan) == 0);
    char got[16][128], cmd[16];
    unsigned n = 0;
    for (;;) {
        MX_REQUIRE(irc_next(&u->c, T) == 1, "%s: no end of WHO %s; last lines:\n%s",
                   u->c.nick, chan, irc_recent(&u->c));
        irc_line_cmd(u->c.line, cmd, sizeof cmd);
        if (strcmp(cmd, "315") == 0)
            break;
        MX_REQUIRE(strcmp(cmd, "352") == 0 && n < 16, "%s: '%s' in WHO %s", u->c.nick,
                   u->c.line, chan);
        char nick[40], trail[80];
        MX_REQUIRE(irc_line_param(u->c.line, 5, nick, sizeof nick) &&
                   irc_line_param(u->c.line, flags ? 6 : 7, trail, sizeof trail));
        /* The trailing is "0 real name" (hop count first). */
        const char *sp = strchr(trail, ' ');
        snprintf(got[n++], sizeof got[0], "%s=%s", nick, flags ? trail : sp ? sp + 1 : "");
    }
    qsort(got, n, sizeof got[0], by_text);
    char all[16 * (128 + 2) + 1] = ""; /* every entry and its ", " */
    for (unsigned i = 0; i < n; i++) {
        if (i)
            strcat(all, ", ");
        strcat(all, got[i]);
    }
    MX_REQUIRE(strcmp(all, want) == 0, "%s: WHO %s gives '%s', want '%s'", u->c.nick, chan,
               all, want);
}

Test(cluster, remote_join_part_nick_quit)
{
    static struct user alice, carol, bob, cy;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&carol, 0, "carol");
    login(&bob, 1, "bob");
    login(&cy, 2, "cy");
    IRC_JOIN(&alice.c, "#m", T);
    IRC_JOIN(&alice.c, "#n", T);
    IRC_JOIN(&carol.c, "#m", T);
    expect_line(&alice.c, ":carol!ucarol@127.0.0.1 JOIN :#m");
    names_are(&alice, "#m", "@alice carol");
    require_subscribers("#m", 1);
    IRC_JOIN(&cy.c, "#m", T);
    expect_line(&alice.c, ":cy!ucy@127.0.0.1 JOIN :#m");
    expect_line(&carol.c, ":cy!ucy@127.0.0.1 JOIN :#m");
    require_subscribers("#m", 2);
    require_subscribers("#n", 1);

    /* bob's JOINs: once to every member elsewhere; his own NAMES lists
     * them, with their status on their node. #m and #n exist elsewhere
     * already: bob is no operator of them. */
    MX_REQUIRE(irc_send(&bob.c, "JOIN #m") == 0);
    expect_line(&bob.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    expect_names(&bob, "#m", "bob @alice carol cy");
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    expect_line(&carol.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    expect_line(&cy.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    MX_REQUIRE(irc_send(&bob.c, "JOIN #n") == 0);
    expect_line(&bob.c, ":bob!ubob@127.0.0.1 JOIN :#n");
    expect_names(&bob, "#n", "bob @alice");
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#n");
    names_are(&alice, "#m", "@alice carol bob cy");
    names_are(&cy, "#m", "cy @alice carol bob");
    /* WHO #m on c: its own member, then the others' from the network. */
    who_is(&cy, "#m", false, "alice=Test alice, bob=Test bob, carol=Test carol, cy=Test cy");
    require_members("#m", "a:alice!ualice@127.0.0.1 a:carol!ucarol@127.0.0.1 "
                    "b:bob!ubob@127.0.0.1 c:cy!ucy@127.0.0.1", 0);

    /* A KICK on a of a's client: seen on b and c, carol gone from the
     * network's list. */
    MX_REQUIRE(irc_send(&alice.c, "KICK #m carol :out") == 0);
    expect_line(&alice.c, ":alice!ualice@127.0.0.1 KICK #m carol :out");
    expect_line(&carol.c, ":alice!ualice@127.0.0.1 KICK #m carol :out");
    expect_line(&bob.c, ":alice!ualice@127.0.0.1 KICK #m carol :out");
    expect_line(&cy.c, ":alice!ualice@127.0.0.1 KICK #m carol :out");
    names_are(&bob, "#m", "bob @alice cy");

    /* bob's NICK: once to alice, who shares two channels with him, and
     * to cy. His PART, published after it by b, comes next: a second
     * NICK would have come before it. */
    nick_taken(&bob, "bobby");
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 NICK :bobby");
    expect_line(&cy.c, ":bob!ubob@127.0.0.1 NICK :bobby");
    MX_REQUIRE(irc_send(&bob.c, "PART #n") == 0);
    expect_line(&bob.c, ":bobby!ubob@127.0.0.1 PART #n");
    expect_line(&alice.c, ":bobby!ubob@127.0.0.1 PART #n");
    names_are(&alice, "#m", "@alice bobby cy");
    names_are(&alice, "#n", "@alice");
    names_are(&cy, "#m", "cy @alice bobby");

    /* bob's QUIT: once to alice and to cy; the network's lists lose him
     * before it is published. */
    MX_REQUIRE(irc_send(&bob.c, "QUIT :bye") == 0);
    MX_REQUIRE(irc_wait_eof(&bob.c, T), "bobby: still connected %d ms after QUIT", T);
    expect_line(&alice.c, ":bobby!ubob@127.0.0.1 QUIT :Quit: bye");
    expect_line(&cy.c, ":bobby!ubob@127.0.0.1 QUIT :Quit: bye");
    names_are(&alice, "#m", "@alice cy");
    MX_REQUIRE(irc_send(&cy.c, "PART #m :later") == 0);
    expect_line(&cy.c, ":cy!ucy@127.0.0.1 PART #m :later");
    expect_line(&alice.c, ":cy!ucy@127.0.0.1 PART #m :later");
    names_are(&alice, "#m", "@alice");
    require_members("#m", "a:alice!ualice@127.0.0.1", 0);
    require_members("#n", "a:alice!ualice@127.0.0.1", 0);
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: after everything: '%s'",
               alice.c.line);
    MX_REQUIRE(irc_quiet(&cy.c, 0), "cy: after everything: '%s'", cy.c.line);
    MX_REQUIRE(irc_quiet(&carol.c, 0), "carol: after her KICK: '%s'", carol.c.line);
    irc_close(&alice.c);
    irc_close(&carol.c);
    irc_close(&bob.c);
    irc_close(&cy.c);
    teardown();
}

/* ---- b) a killed node's clients quit with a netsplit reason ------------ */

Test(cluster, netsplit_quit)
{
    /* As dead_node_frees_nicks: 4 heartbeats, and a margin. */
    enum { QUIT_MS = 4 * HEARTBEAT_MS + 3000 };
    static struct user alice, bob, cy;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    login(&cy, 2, "cy");
    IRC_JOIN(&alice.c, "#m", T);
    IRC_JOIN(&alice.c, "#n", T);
    names_are(&alice, "#n", "@alice");
    require_subscribers("#m", 1);
    IRC_JOIN(&cy.c, "#m", T);
    expect_line(&alice.c, ":cy!ucy@127.0.0.1 JOIN :#m");
    require_subscribers("#m", 2);
    require_subscribers("#n", 1);
    IRC_JOIN(&bob.c, "#m", T);
    IRC_JOIN(&bob.c, "#n", T);
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#n");
    expect_line(&cy.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    require_members("#m", "a:alice!ualice@127.0.0.1 b:bob!ubob@127.0.0.1 "
                    "c:cy!ucy@127.0.0.1", 0);
    require_members("#n", "a:alice!ualice@127.0.0.1 b:bob!ubob@127.0.0.1", 0);

    struct mx_daemon *b = w.n[1].d;
    MX_REQUIRE(b->pid > 0);
    MX_REQUIRE(kill(b->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
    int64_t t0 = mx_now_ms();
    int st = daemon_wait_exit(b, T);
    MX_REQUIRE(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
               "node b: wait status %d after SIGKILL", st);
    w.n[1].killed = true;
    MX_REQUIRE(irc_wait_eof(&bob.c, T), "bob: still connected %d ms after node b was killed",
               T);

    /* One QUIT ("REAPER DEAD": the survivor that found b gone, a or c),
     * though alice shares two channels with bob; cy the same line. */
    int rc = irc_next(&alice.c, QUIT_MS);
    MX_REQUIRE(rc == 1, "alice: no line within %d ms of node b's death; last lines:\n%s",
               QUIT_MS, irc_recent(&alice.c));
    int64_t took = mx_now_ms() - t0;
    char quit_a[256], quit_c[256];
    snprintf(quit_a, sizeof quit_a, ":bob!ubob@127.0.0.1 QUIT :a b");
    snprintf(quit_c, sizeof quit_c, ":bob!ubob@127.0.0.1 QUIT :c b");
    MX_REQUIRE(strcmp(alice.c.line, quit_a) == 0 || strcmp(alice.c.line, quit_c) == 0,
               "alice: '%s', want '%s' or '%s'", alice.c.line, quit_a, quit_c);
    char quit[IRC_T_LINE];
    snprintf(quit, sizeof quit, "%s", alice.c.line);
    expect_line(&cy.c, "%s", quit);
    cr_log_info("netsplit QUIT '%s' %lld ms after node b was killed", quit, (long long)took);
    names_are(&alice, "#m", "@alice cy");
    names_are(&alice, "#n", "@alice");
    names_are(&cy, "#m", "cy @alice");
    require_members("#m", "a:alice!ualice@127.0.0.1 c:cy!ucy@127.0.0.1", 0);
    require_members("#n", "a:alice!ualice@127.0.0.1", 0);
    char rep[64];
    MX_REQUIRE(redis_cmd(redis.port, rep, sizeof rep, "EXISTS", KEYS "memb:b", NULL) == 0 &&
               strcmp(rep, "0") == 0, "Redis: EXISTS " KEYS "memb:b is '%s', want 0", rep);
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: after the netsplit: '%s'",
               alice.c.line);
    MX_REQUIRE(irc_quiet(&cy.c, 0), "cy: after the netsplit: '%s'", cy.c.line);
    /* And one survivor reaped b. */
    static const char gone[] =
        "cluster: node b is gone (its heartbeat expired): its nicks are free";
    int na = daemon_log_count(w.n[0].d, gone), nc = daemon_log_count(w.n[2].d, gone);
    MX_REQUIRE(na + nc == 1 && (na == 1) == (quit[strlen(quit) - 3] == 'a'),
               "'%s' logged %d times on a and %d on c; the QUIT: '%s'", gone, na, nc, quit);
    irc_close(&alice.c);
    irc_close(&bob.c);
    irc_close(&cy.c);
    teardown();
}

/* u's next line starts with start (its end varies). */
static void expect_start(struct user *u, const char *start, int ms)
{
    int rc = irc_next(&u->c, ms);
    MX_REQUIRE(rc == 1 && strncmp(u->c.line, start, strlen(start)) == 0,
               "%s: want '%s...' within %d ms; last lines:\n%s", u->c.nick, start, ms,
               irc_recent(&u->c));
}

/* b is stopped (SIGSTOP) for longer than its heartbeat key lives: the
 * others take it for dead, its users QUIT for them, and cy on c takes
 * dan's nick. b continues: it learns it was taken for dead, its users
 * JOIN their channels again for the others, and dan, whose nick is cy's
 * now, becomes a guest. */
Test(cluster, node_taken_for_dead_comes_back)
{
    enum { QUIT_MS = 4 * HEARTBEAT_MS + 3000 };
    static struct user alice, bob, dan, cy;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    login(&dan, 1, "dan");
    IRC_JOIN(&alice.c, "#m", T);
    require_subscribers("#m", 1);
    IRC_JOIN(&bob.c, "#m", T);
    IRC_JOIN(&dan.c, "#m", T);
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    expect_line(&alice.c, ":dan!udan@127.0.0.1 JOIN :#m");
    expect_line(&bob.c, ":dan!udan@127.0.0.1 JOIN :#m");

    struct mx_daemon *b = w.n[1].d;
    size_t from = daemon_log_len(b);
    MX_REQUIRE(b->pid > 0 && kill(b->pid, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
    /* Both QUIT, in no set order (the reaper's table of b's users). */
    bool quit[2] = { false, false };
    for (int i = 0; i < 2; i++) {
        MX_REQUIRE(irc_next(&alice.c, i ? T : QUIT_MS) == 1, "alice: no QUIT; last lines:\n%s",
                   irc_recent(&alice.c));
        int who = strncmp(alice.c.line, ":bob!ubob@127.0.0.1 QUIT :", 26) == 0 ? 0
                  : strncmp(alice.c.line, ":dan!udan@127.0.0.1 QUIT :", 26) == 0 ? 1 : -1;
        MX_REQUIRE(who >= 0 && !quit[who], "alice: '%s', want bob's and dan's QUITs",
                   alice.c.line);
        quit[who] = true;
    }
    login(&cy, 2, "dan");
    MX_REQUIRE(kill(b->pid, SIGCONT) == 0, "SIGCONT: %s", strerror(errno));

    /* Both JOIN again for alice (in b's order of members); dan gives up
     * his nick, with a NOTICE, for a guest one, and alice sees that too. */
    int64_t t0 = mx_now_ms();
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    expect_line(&alice.c, ":dan!udan@127.0.0.1 JOIN :#m");
    cr_log_info("the JOINs %lld ms after SIGCONT", (long long)(mx_now_ms() - t0));
    expect_start(&dan, ":b.test.muxd NOTICE dan :*** Your nick was taken", T);
    expect_start(&dan, ":dan!udan@127.0.0.1 NICK :Guest", T);
    char guest[32];
    snprintf(guest, sizeof guest, "%s", strrchr(dan.c.line, ':') + 1);
    expect_line(&alice.c, "%s", dan.c.line);
    expect_line(&bob.c, "%s", dan.c.line);
    MX_REQUIRE(log_find(b, from, "was taken for dead by the other nodes") >= 0,
               "node b did not log that it was taken for dead");
    require_holder("dan", 2, T);
    char folded[32];  /* the key's: rfc1459 case, and a guest nick has no []\\~ */
    for (size_t i = 0; i <= strlen(guest); i++)
        folded[i] = (char)tolower((unsigned char)guest[i]);
    require_holder(folded, 1, T);
    require_holder("bob", 1, T);
    char names[128];
    snprintf(names, sizeof names, "@alice bob %s", guest);
    names_become(&alice, "#m", names, T);
    /* The network knows b again: it is in the set of nodes, and a line
     * of bob's reaches alice. */
    MX_REQUIRE(irc_send(&bob.c, "PRIVMSG #m :back") == 0);
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 PRIVMSG #m :back");
    char rep[64];
    MX_REQUIRE(redis_cmd(redis.port, rep, sizeof rep, "SISMEMBER", KEYS "nodes", "b", NULL) == 0 &&
               strcmp(rep, "1") == 0, "Redis: b in " KEYS "nodes: '%s'", rep);
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: '%s'", alice.c.line);
    struct user *all[] = { &alice, &bob, &dan, &cy };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        irc_close(&all[i]->c);
    teardown();
}

/* u's LIST (args after it): its 322s as "#chan USERS :topic", sorted,
 * joined by " | ", against want; between its 321 and 323. */
static void list_is(struct user *u, const char *args, const char *want)
{
    MX_REQUIRE(irc_send(&u->c, "LIST%s%s", args[0] ? " " : "", args) == 0);
    const char *srv = w.n[u->node].srv;
    expect_line(&u->c, ":%s 321 %s Channel :Users  Name", srv, u->c.nick);
    char got[8][160], pfx[160], end[160];
    unsigned n = 0;
    snprintf(pfx, sizeof pfx, ":%s 322 %s ", srv, u->c.nick);
    snprintf(end, sizeof end, ":%s 323 %s :End of LIST", srv, u->c.nick);
    for (;;) {
        MX_REQUIRE(irc_next(&u->c, T) == 1, "%s: no end of LIST; last lines:\n%s", u->c.nick,
                   irc_recent(&u->c));
        if (strcmp(u->c.line, end) == 0)
            break;
        MX_REQUIRE(strncmp(u->c.line, pfx, strlen(pfx)) == 0 && n < 8, "%s: '%s' in LIST",
                   u->c.nick, u->c.line);
        snprintf(got[n++], sizeof got[0], "%s", u->c.line + strlen(pfx));
    }
    qsort(got, n, sizeof got[0], by_text);
    char all[8 * 163 + 1] = "";
    for (unsigned i = 0; i < n; i++)
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", i ? " | " : "", got[i]);
    MX_REQUIRE(strcmp(all, want) == 0, "%s: LIST %s gives '%s', want '%s'", u->c.nick, args,
               all, want);
}

/* LIST names every node's channels, with their members on every node and
 * their topic, the secret ones only to their members. */
Test(cluster, list_across_nodes)
{
    static struct user alice, bob, cy;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    login(&cy, 2, "cy");
    IRC_JOIN(&alice.c, "#Alpha", T);
    require_subscribers("#alpha", 1);  /* a hears #alpha before b's JOIN */
    MX_REQUIRE(irc_send(&alice.c, "TOPIC #Alpha :hello world") == 0);
    expect_line(&alice.c, ":alice!ualice@127.0.0.1 TOPIC #Alpha :hello world");
    /* Its NAMES asks Redis on the connection that published the TOPIC
     * line: once answered, the line has gone by, and b, which subscribes
     * at bob's JOIN below, does not get it after his JOIN. */
    names_are(&alice, "#Alpha", "@alice");
    IRC_JOIN(&bob.c, "#beta", T);
    MX_REQUIRE(irc_send(&bob.c, "MODE #beta +s") == 0);
    expect_line(&bob.c, ":bob!ubob@127.0.0.1 MODE #beta +s");
    /* b's JOIN comes after its MODE on the same connection to Redis: once
     * alice sees the JOIN, the network has both. */
    IRC_JOIN(&bob.c, "#alpha", T);
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#alpha");
    list_is(&cy, "", "#Alpha 2 :hello world");
    list_is(&bob, "", "#Alpha 2 :hello world | #beta 1 :");
    list_is(&alice, ">1", "#Alpha 2 :hello world");
    list_is(&bob, "#b*", "#beta 1 :");
    list_is(&cy, "#b*", "");
    /* The last member gone, the channel is gone from the network. */
    MX_REQUIRE(irc_send(&bob.c, "PART #beta") == 0);
    expect_line(&bob.c, ":bob!ubob@127.0.0.1 PART #beta");
    MX_REQUIRE(irc_send(&bob.c, "PART #alpha") == 0);
    expect_line(&bob.c, ":bob!ubob@127.0.0.1 PART #alpha");
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 PART #alpha");
    list_is(&bob, "", "#Alpha 1 :hello world");
    char rep[64];
    MX_REQUIRE(redis_cmd(redis.port, rep, sizeof rep, "SISMEMBER", KEYS "chans", "#beta", NULL) ==
               0 && strcmp(rep, "0") == 0, "Redis: #beta still in " KEYS "chans: '%s'", rep);
    irc_close(&alice.c);
    irc_close(&bob.c);
    irc_close(&cy.c);
    teardown();
}

/* ---- c) Redis restarted empty: the member lists are filled again ------- */

Test(cluster, names_after_redis_restart)
{
    static struct user alice, bob;
    static const char both[] = "a:alice!ualice@127.0.0.1 b:bob!ubob@127.0.0.1";
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    IRC_JOIN(&alice.c, "#m", T);
    names_are(&alice, "#m", "@alice");
    require_subscribers("#m", 1);
    IRC_JOIN(&bob.c, "#m", T);
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#m");
    require_members("#m", both, 0);

    size_t from[NODES];
    log_positions(from);
    MX_REQUIRE(redis_restart(&redis) == 0);
    require_down_then_up(from, T, 10000);
    require_all_up();
    /* Each node put its members back as it came up. */
    int64_t t0 = mx_now_ms();
    require_members("#m", both, T);
    cr_log_info("members of #m back in Redis within %lld ms of every node's 'up'",
                (long long)(mx_now_ms() - t0));
    names_are(&bob, "#m", "bob @alice");
    names_are(&alice, "#m", "@alice bob");
    MX_REQUIRE(irc_quiet(&alice.c, 0), "alice: '%s'", alice.c.line);
    irc_close(&alice.c);
    irc_close(&bob.c);
    teardown();
}

/* ---- d) status across nodes: +o, +v and +i in NAMES and WHO ------------ */

/* alice on a creates #s; bob on b and cy on c join; dave on c joins and
 * turns +i; eve on a stays outside. A member's status is its node's: that
 * node writes it to the network's list as it applies the MODE line, so
 * the other nodes' NAMES show it once that write is through. */
Test(cluster, status_across_nodes)
{
    static struct user alice, eve, bob, cy, dave;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&eve, 0, "eve");
    login(&bob, 1, "bob");
    login(&cy, 2, "cy");
    login(&dave, 2, "dave");
    IRC_JOIN(&alice.c, "#s", T);
    names_are(&alice, "#s", "@alice");
    require_subscribers("#s", 1);
    MX_REQUIRE(irc_send(&bob.c, "JOIN #s") == 0);
    expect_line(&bob.c, ":bob!ubob@127.0.0.1 JOIN :#s");
    expect_names(&bob, "#s", "bob @alice");
    require_subscribers("#s", 2);
    /* Each JOIN is seen elsewhere before the next: a node publishes the
     * line after writing the member to the network's list, on the same
     * connection, so the next joiner's NAMES has it. */
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 JOIN :#s");
    MX_REQUIRE(irc_send(&cy.c, "JOIN #s") == 0);
    expect_line(&cy.c, ":cy!ucy@127.0.0.1 JOIN :#s");
    expect_names(&cy, "#s", "cy @alice bob");
    require_subscribers("#s", 3);
    expect_line(&alice.c, ":cy!ucy@127.0.0.1 JOIN :#s");
    expect_line(&bob.c, ":cy!ucy@127.0.0.1 JOIN :#s");
    MX_REQUIRE(irc_send(&dave.c, "JOIN #s") == 0);
    expect_line(&dave.c, ":dave!udave@127.0.0.1 JOIN :#s");
    expect_names(&dave, "#s", "dave cy @alice bob");
    expect_line(&alice.c, ":dave!udave@127.0.0.1 JOIN :#s");
    expect_line(&bob.c, ":dave!udave@127.0.0.1 JOIN :#s");
    expect_line(&cy.c, ":dave!udave@127.0.0.1 JOIN :#s");
    /* dave turns +i once on #s: c writes it to the network's list. */
    MX_REQUIRE(irc_send(&dave.c, "MODE dave +i") == 0);
    expect_line(&dave.c, ":dave MODE dave :+i");

    /* alice (a) voices bob (b) and ops cy (c): every node's NAMES shows it. */
    MX_REQUIRE(irc_send(&alice.c, "MODE #s +vo bob cy") == 0);
    const char *mode = ":alice!ualice@127.0.0.1 MODE #s +vo bob cy";
    expect_line(&alice.c, "%s", mode);
    expect_line(&bob.c, "%s", mode);
    expect_line(&cy.c, "%s", mode);
    expect_line(&dave.c, "%s", mode);
    cr_log_info("+vo shown on a within %lld ms",
                (long long)names_become(&alice, "#s", "@alice +bob @cy dave", T));
    names_become(&bob, "#s", "@alice +bob @cy dave", T);
    /* Outsiders see no +i member, in NAMES or WHO; members do. */
    names_become(&eve, "#s", "@alice +bob @cy", T);
    who_is(&eve, "#s", true, "alice=H@, bob=H+, cy=H@");
    who_is(&bob, "#s", true, "alice=H@, bob=H+, cy=H@, dave=H");

    /* cy, op on c, takes alice's op: a applies it to its own member, and
     * the other nodes show her without it. */
    MX_REQUIRE(irc_send(&cy.c, "MODE #s -o alice") == 0);
    mode = ":cy!ucy@127.0.0.1 MODE #s -o alice";
    expect_line(&cy.c, "%s", mode);
    expect_line(&alice.c, "%s", mode);
    expect_line(&bob.c, "%s", mode);
    names_become(&bob, "#s", "alice +bob @cy dave", T);
    names_are(&alice, "#s", "alice +bob @cy dave");
    MX_REQUIRE(irc_send(&alice.c, "MODE #s +m") == 0);
    expect_line(&alice.c, ":a.test.muxd 482 alice #s :You're not channel operator");
    /* bob (voiced on b) may speak in a moderated channel: cy sets +m. */
    MX_REQUIRE(irc_send(&cy.c, "MODE #s +m") == 0);
    expect_line(&bob.c, ":cy!ucy@127.0.0.1 MODE #s +m");
    MX_REQUIRE(irc_send(&bob.c, "PRIVMSG #s :voiced") == 0);
    expect_line(&alice.c, ":cy!ucy@127.0.0.1 MODE #s +m");
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 PRIVMSG #s :voiced");
    struct user *all[] = { &alice, &eve, &bob, &cy, &dave };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        irc_close(&all[i]->c);
    teardown();
}
