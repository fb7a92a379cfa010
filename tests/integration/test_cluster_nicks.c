/* test_cluster_nicks.c - nicks across muxd nodes through Redis (issue 16,
 * phase 2): a nick is held by one client on the whole network (50 clients
 * on three nodes racing for one; a change, a QUIT; rfc1459 case), PRIVMSG
 * and NOTICE to a nick on another node (in order, once; 401 for a nick
 * nobody holds), WHOIS, ISON, USERHOST and WHO of other nodes' nicks, a
 * killed node's nicks freed once its heartbeat expires, nicks claimed
 * again after Redis restarts empty, and 400 for a nick asked while Redis
 * is lost. What the test waits for in Redis itself (a released nick's key
 * gone) it reads there with redis_cmd: the release of an old nick is
 * asynchronous (after the NICK line), and another node's claim is not
 * ordered after it.
 *
 * Channel messages across nodes are test_cluster.c, memberships
 * test_cluster_chan.c; the world (Redis, the nodes, their clients) and
 * the helpers the files share are harness/cluster.c. */
#include "cluster.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void fini(void)
{
    redis_fini();
    mx_fini();
}

TestSuite(cluster, .init = mx_init, .fini = fini, .timeout = 90);

Test(cluster, nick_race)
{
    enum { N = 50 };
    static struct irc r[N];
    static char burst[N][96];
    static size_t blen[N];
    setup_nodes();
    /* Client i on node i % 3; each node's acceptor hands its connections
     * to its two workers in turn, so both workers of every node race. */
    for (int i = 0; i < N; i++) {
        int rc = irc_open(&r[i], w.n[i % NODES].chat);
        MX_REQUIRE(rc == 0, "racer %d: connect: %s", i, strerror(-rc));
        snprintf(r[i].nick, sizeof r[i].nick, "racer#%d(%s)", i, w.n[i % NODES].name);
    }
    /* Every connection is at its worker before the race starts. */
    for (int i = 0; i < N; i++)
        MX_REQUIRE(irc_sync(&r[i], "ready", NULL, NULL, NULL, T) == 0,
                   "%s: no PONG before registering; last lines:\n%s", r[i].nick,
                   irc_recent(&r[i]));
    for (int i = 0; i < N; i++)
        blen[i] = (size_t)snprintf(burst[i], sizeof burst[i],
                                   "NICK racer\r\nUSER r%d 0 * :Racer %d\r\n", i, i);
    int64_t t0 = mx_now_ms();
    for (int i = 0; i < N; i++) {
        int rc = irc_send_raw(&r[i], burst[i], blen[i]);
        MX_REQUIRE(rc == 0, "%s: send: %s", r[i].nick, strerror(-rc));
    }
    /* Each gets the welcome or 433 first, and exactly one the welcome. */
    int winner = -1;
    for (int i = 0; i < N; i++) {
        const char *srv = w.n[i % NODES].srv;
        char won[256], lost[128];
        snprintf(won, sizeof won, ":%s 001 racer :Welcome to the Internet Relay Network "
                 "racer!r%d@127.0.0.1", srv, i);
        snprintf(lost, sizeof lost, ":%s 433 * racer :Nickname is already in use", srv);
        int rc = irc_next(&r[i], T);
        MX_REQUIRE(rc == 1, "%s: neither 001 nor 433 within %d ms; last lines:\n%s",
                   r[i].nick, T, irc_recent(&r[i]));
        if (strcmp(r[i].line, won) == 0) {
            MX_REQUIRE(winner < 0, "two clients got 001 as racer: %s and %s", r[winner].nick,
                       r[i].nick);
            winner = i;
        } else {
            MX_REQUIRE(strcmp(r[i].line, lost) == 0, "%s: '%s', want '%s' or '%s'", r[i].nick,
                       r[i].line, won, lost);
        }
    }
    MX_REQUIRE(winner >= 0, "all %d got 433: nobody holds racer", N);
    cr_log_info("racer: won by client %d on node %s; all %d answered in %lld ms", winner,
                w.n[winner % NODES].name, N, (long long)(mx_now_ms() - t0));
    require_holder("racer", winner % NODES, 0);
    expect_burst_end(&r[winner]);
    /* The 49 losers are unregistered still, their USER kept: a nick of
     * their own registers each, and nothing came in between. */
    for (int i = 0; i < N; i++)
        if (i != winner)
            MX_REQUIRE(irc_send(&r[i], "NICK racer%d", i) == 0);
    for (int i = 0; i < N; i++) {
        if (i == winner)
            continue;
        char nick[16], user[16];
        snprintf(nick, sizeof nick, "racer%d", i);
        snprintf(user, sizeof user, "r%d", i);
        expect_welcome(&r[i], i % NODES, nick, user);
        require_holder(nick, i % NODES, 0);
    }
    /* The winner still holds racer, for everyone. */
    require_holder("racer", winner % NODES, 0);
    int other = winner == 0 ? 1 : 0;
    MX_REQUIRE(irc_send(&r[other], "NICK RACER") == 0);
    expect_line(&r[other], ":%s 433 %s RACER :Nickname is already in use",
                w.n[other % NODES].srv, r[other].nick);
    for (int i = 0; i < N; i++)
        irc_close(&r[i]);
    teardown();
}

/* ---- h) nick changes and QUIT across nodes ---------------------------- */

Test(cluster, nick_change_across_nodes)
{
    static struct user alice, bob, carol;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    login(&carol, 2, "carol");
    require_holder("alice", 0, 0);
    /* Held on a: refused on b and c, in any case. */
    nick_refused(&bob, "alice");
    nick_refused(&bob, "ALICE");
    nick_refused(&carol, "Alice");
    /* rfc1459 casemapping: { } | are the lower case of [ ] \ (Redis
     * keeps the nick folded). */
    nick_taken(&alice, "Al{i}|");
    require_holder("al{i}|", 0, 0);
    require_holder("alice", -1, T);
    nick_refused(&bob, "AL[I]\\");
    nick_refused(&carol, "al[i]|");
    nick_taken(&alice, "alice");
    require_holder("alice", 0, 0);
    require_holder("al{i}|", -1, T);

    /* alice changes: she sees it; her old nick is let go once the new
     * one is held (asynchronously: wait for Redis to show it). */
    nick_taken(&alice, "alice2");
    require_holder("alice2", 0, 0);
    int64_t freed = require_holder("alice", -1, T);
    cr_log_info("alice's old nick free in Redis %lld ms after her NICK line",
                (long long)freed);
    nick_taken(&bob, "alice");
    require_holder("alice", 1, 0);
    nick_refused(&carol, "ALICE2");
    nick_refused(&carol, "alice");
    /* bob's old nick went as well: carol may take it. */
    require_holder("bob", -1, T);
    nick_taken(&carol, "Bob");
    require_holder("bob", 2, 0);
    /* A change of case only keeps the claim. */
    nick_taken(&carol, "BOB");
    require_holder("bob", 2, 0);
    nick_refused(&bob, "bob");

    /* A client that quits lets its nick go. */
    MX_REQUIRE(irc_send(&alice.c, "QUIT :bye") == 0);
    MX_REQUIRE(irc_wait_eof(&alice.c, T), "alice2: still connected %d ms after QUIT", T);
    freed = require_holder("alice2", -1, T);
    cr_log_info("alice2 free in Redis %lld ms after her connection closed", (long long)freed);
    nick_taken(&carol, "alice2");
    require_holder("alice2", 2, 0);
    nick_refused(&bob, "Alice2");
    irc_close(&alice.c);
    irc_close(&bob.c);
    irc_close(&carol.c);
    teardown();
}

/* ---- i) PRIVMSG and NOTICE to a nick on another node ------------------ */

Test(cluster, privmsg_to_remote_nick)
{
    enum { N = 200 };
    static struct user alice, bob;
    static char buf[N * 32];
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    MX_REQUIRE(irc_send(&alice.c, "PRIVMSG bob :hello") == 0);
    expect_line(&bob.c, ":alice!ualice@127.0.0.1 PRIVMSG bob :hello");

    /* N numbered ones in a few writes: each once, in order, then the
     * NOTICE after them, then nothing. */
    size_t len = 0;
    for (int i = 1; i <= N; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "PRIVMSG bob :n %d\r\n", i);
    len += (size_t)snprintf(buf + len, sizeof buf - len, "NOTICE bob :note\r\n");
    send_raw(&alice.c, buf);
    int64_t t0 = mx_now_ms();
    for (int i = 1; i <= N; i++)
        expect_line(&bob.c, ":alice!ualice@127.0.0.1 PRIVMSG bob :n %d", i);
    expect_line(&bob.c, ":alice!ualice@127.0.0.1 NOTICE bob :note");
    cr_log_info("%d PRIVMSGs and a NOTICE a -> b in %lld ms", N,
                (long long)(mx_now_ms() - t0));
    MX_REQUIRE(irc_quiet(&bob.c, DUP_WAIT_MS), "bob: after the NOTICE: '%s'", bob.c.line);

    /* The other way, the target in another case: as the sender typed it. */
    MX_REQUIRE(irc_send(&bob.c, "PRIVMSG ALICE :back") == 0);
    expect_line(&alice.c, ":bob!ubob@127.0.0.1 PRIVMSG ALICE :back");

    /* Nobody holds the nick: 401 for PRIVMSG, nothing for NOTICE. The
     * bus answers in order, so a 401 for the NOTICE would come first. */
    send_raw(&alice.c, "NOTICE nobody1 :x\r\nPRIVMSG nobody2 :y\r\n");
    expect_line(&alice.c, ":a.test.muxd 401 alice nobody2 :No such nick/channel");
    MX_REQUIRE(irc_send(&alice.c, "PRIVMSG nobody :z") == 0);
    expect_line(&alice.c, ":a.test.muxd 401 alice nobody :No such nick/channel");
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: after the 401: '%s'", alice.c.line);
    MX_REQUIRE(irc_quiet(&bob.c, 0), "bob: '%s'", bob.c.line);
    irc_close(&alice.c);
    irc_close(&bob.c);
    teardown();
}

/* The queries about nicks answer for every node's users: WHOIS, WHO of a
 * nick, ISON and USERHOST, each in the order the nicks were asked. */
Test(cluster, queries_about_remote_nicks)
{
    static struct user alice, bob, cy;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    login(&cy, 2, "cy");
    MX_REQUIRE(irc_send(&alice.c, "WHOIS nobody,BOB,alice") == 0);
    expect_line(&alice.c, ":a.test.muxd 401 alice nobody :No such nick/channel");
    expect_line(&alice.c, ":a.test.muxd 311 alice bob ubob 127.0.0.1 * :Test bob");
    expect_line(&alice.c, ":a.test.muxd 312 alice bob b :muxd (another node of this network)");
    expect_line(&alice.c, ":a.test.muxd 311 alice alice ualice 127.0.0.1 * :Test alice");
    IRC_EXPECT(&alice.c, "318", "nobody,BOB,alice :End of WHOIS list", T);

    /* ISON as most clients send it (one trailing list), asked of b. */
    MX_REQUIRE(irc_send(&bob.c, "ISON :Alice nobody cy bob") == 0);
    expect_line(&bob.c, ":b.test.muxd 303 bob :alice cy bob");
    MX_REQUIRE(irc_send(&bob.c, "ISON nobody") == 0);
    expect_line(&bob.c, ":b.test.muxd 303 bob :");
    /* 60 nicks, more than one Redis call's worth of arguments. */
    char many[512] = "ISON :";
    for (int i = 1; i <= 59; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "n%d ", i);
    strcat(many, "cy");
    MX_REQUIRE(irc_send(&alice.c, "%s", many) == 0);
    expect_line(&alice.c, ":a.test.muxd 303 alice :cy");
    MX_REQUIRE(irc_send(&cy.c, "USERHOST alice nobody cy BOB") == 0);
    expect_line(&cy.c, ":c.test.muxd 302 cy :alice=+ualice@127.0.0.1 cy=+ucy@127.0.0.1 "
                       "bob=+ubob@127.0.0.1");

    /* WHO of a nick on another node; of one nobody holds: the end only. */
    MX_REQUIRE(irc_send(&cy.c, "WHO bob") == 0);
    expect_line(&cy.c, ":c.test.muxd 352 cy * ubob 127.0.0.1 c.test.muxd bob H :0 Test bob");
    expect_line(&cy.c, ":c.test.muxd 315 cy bob :End of WHO list");
    MX_REQUIRE(irc_send(&cy.c, "WHO nobody") == 0);
    expect_line(&cy.c, ":c.test.muxd 315 cy nobody :End of WHO list");

    /* A nick let go on one node is gone from the others' answers. */
    nick_taken(&bob, "bobby");
    require_holder("bob", -1, T);
    MX_REQUIRE(irc_send(&alice.c, "ISON bob bobby") == 0);
    expect_line(&alice.c, ":a.test.muxd 303 alice :bobby");
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: '%s'", alice.c.line);
    irc_close(&alice.c);
    irc_close(&bob.c);
    irc_close(&cy.c);
    teardown();
}

/* ---- j) a killed node's nicks are freed -------------------------------- */

Test(cluster, dead_node_frees_nicks)
{
    /* Its key expires 3 heartbeats after its last one, and a survivor's
     * next heartbeat frees its nicks: 4 heartbeats, and a margin. */
    enum { FREE_MS = 4 * HEARTBEAT_MS + 3000 };
    static struct user zed, bob, carol;
    static struct irc taker;
    setup_nodes();
    login(&zed, 0, "zed");
    login(&bob, 1, "bob");
    login(&carol, 2, "carol");
    nick_refused(&bob, "zed");
    require_holder("zed", 0, 0);

    struct mx_daemon *a = w.n[0].d;
    MX_REQUIRE(a->pid > 0);
    MX_REQUIRE(kill(a->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
    int64_t t0 = mx_now_ms();
    int st = daemon_wait_exit(a, T);  /* reaps it: pid 0 from here on */
    MX_REQUIRE(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
               "node a: wait status %d after SIGKILL", st);
    w.n[0].killed = true;
    MX_REQUIRE(irc_wait_eof(&zed.c, T), "zed: still connected %d ms after node a was killed",
               T);

    /* A client on b asks for zed until it has it: 433 while a's claim
     * stands. Its USER first, so that a granted NICK registers it. */
    int rc = irc_open(&taker, w.n[1].chat);
    MX_REQUIRE(rc == 0, "connect: %s", strerror(-rc));
    snprintf(taker.nick, sizeof taker.nick, "taker");
    MX_REQUIRE(irc_send(&taker, "USER uzed 0 * :taker") == 0);
    char won[256], lost[128];
    snprintf(won, sizeof won, ":b.test.muxd 001 zed :Welcome to the Internet Relay Network "
             "zed!uzed@127.0.0.1");
    snprintf(lost, sizeof lost, ":b.test.muxd 433 * zed :Nickname is already in use");
    int tries = 0;
    for (;;) {
        MX_REQUIRE(irc_send(&taker, "NICK zed") == 0);
        tries++;
        rc = irc_next(&taker, T);
        MX_REQUIRE(rc == 1, "taker: no answer to NICK zed; last lines:\n%s",
                   irc_recent(&taker));
        if (strcmp(taker.line, won) == 0)
            break;
        MX_REQUIRE(strcmp(taker.line, lost) == 0, "taker: '%s', want '%s' or '%s'",
                   taker.line, won, lost);
        MX_REQUIRE(mx_now_ms() - t0 < FREE_MS, "zed still held %d ms after node a was "
                   "killed (%d NICKs refused)", FREE_MS, tries);
        mx_sleep_ms(100);
    }
    int64_t took = mx_now_ms() - t0;
    MX_REQUIRE(took < FREE_MS, "zed was free on b only %lld ms after node a was killed",
               (long long)took);
    snprintf(taker.nick, sizeof taker.nick, "zed");
    expect_burst_end(&taker);
    require_holder("zed", 1, 0);

    /* One survivor freed them (one script: only one sees a gone), and
     * said so. */
    static const char gone[] =
        "cluster: node a is gone (its heartbeat expired): its nicks are free";
    int64_t end = mx_now_ms() + T;
    int nb, nc;
    while ((nb = daemon_log_count(w.n[1].d, gone)) + (nc = daemon_log_count(w.n[2].d, gone))
           == 0 && mx_now_ms() < end)
        mx_sleep_ms(20);
    MX_REQUIRE(nb + nc == 1, "'%s' logged %d times on b and %d on c, want once in all", gone,
               nb, nc);
    cr_log_info("zed registered on b %lld ms after node a was killed (NICK %d times); "
                "node %s logged a gone", (long long)took, tries, nb ? "b" : "c");

    /* Lines to zed go to its new holder on b now. */
    MX_REQUIRE(irc_send(&carol.c, "PRIVMSG zed :found you") == 0);
    expect_line(&taker, ":carol!ucarol@127.0.0.1 PRIVMSG zed :found you");
    irc_close(&zed.c);
    irc_close(&bob.c);
    irc_close(&carol.c);
    irc_close(&taker);
    teardown();
}

/* ---- k) Redis restarted empty: the nicks are claimed again ------------- */

static bool probe_seen(struct irc *to, const char *want, int ms)
{
    for (int64_t end = mx_now_ms() + ms;;) {
        int left = (int)(end - mx_now_ms());
        if (left <= 0 || irc_next(to, left) != 1)
            return false;
        if (strcmp(to->line, want) == 0)
            return true;
    }
}

Test(cluster, nicks_survive_redis_restart)
{
    static struct user alice, bob, carol;
    setup_nodes();
    login(&alice, 0, "alice");
    login(&bob, 1, "bob");
    char va[128], vb[128], v[128];
    nick_key("alice", va, sizeof va);
    nick_key("bob", vb, sizeof vb);
    MX_REQUIRE(held_by(va, 0) && held_by(vb, 1), "before the restart: alice '%s', bob '%s'",
               va, vb);

    size_t from[NODES];
    log_positions(from);
    MX_REQUIRE(redis_restart(&redis) == 0);
    require_down_then_up(from, T, 10000);
    require_all_up();
    /* Each node claimed its clients' nicks again as it came up, for the
     * same clients: wait for Redis to have them. */
    int64_t t0 = mx_now_ms();
    for (nick_key("alice", v, sizeof v); strcmp(v, va) != 0; nick_key("alice", v, sizeof v)) {
        MX_REQUIRE(mx_now_ms() - t0 < T, "after the restart, alice's key is '%s', want '%s' "
                   "(as before)", v, va);
        mx_sleep_ms(20);
    }
    for (nick_key("bob", v, sizeof v); strcmp(v, vb) != 0; nick_key("bob", v, sizeof v)) {
        MX_REQUIRE(mx_now_ms() - t0 < T, "after the restart, bob's key is '%s', want '%s'",
                   v, vb);
        mx_sleep_ms(20);
    }
    cr_log_info("nicks claimed again within %lld ms of every node's 'up'",
                (long long)(mx_now_ms() - t0));
    nick_refused(&bob, "alice");
    /* New claims work, and lines reach a nick across nodes again (a's
     * own subject subscribed again: asynchronously, so repeat). */
    login(&carol, 2, "carol");
    nick_refused(&carol, "Bob");
    int rounds = 0;
    t0 = mx_now_ms();
    for (;;) {
        MX_REQUIRE(mx_now_ms() - t0 < SYNC_MS, "alice got none of %d PRIVMSGs from carol "
                   "within %d ms; last lines:\n%s", rounds, SYNC_MS, irc_recent(&alice.c));
        MX_REQUIRE(irc_send(&carol.c, "PRIVMSG alice :probe") == 0);
        rounds++;
        if (probe_seen(&alice.c, ":carol!ucarol@127.0.0.1 PRIVMSG alice :probe", 100))
            break;
    }
    cr_log_info("carol (c) -> alice (a) after the restart: %d rounds", rounds);
    irc_close(&alice.c);
    irc_close(&bob.c);
    irc_close(&carol.c);
    teardown();
}

/* ---- l) Redis lost: a nick cannot be checked ------------------------- */

Test(cluster, nick_refused_while_redis_down)
{
    static const char cannot[] =
        "NICK :The chat network cannot be reached to check that nick; try again later";
    static struct user a1, a2;
    static struct irc x, y;
    setup_nodes();
    login(&a1, 0, "a1");
    login(&a2, 0, "a2");
    IRC_JOIN(&a1.c, "#local", T);
    IRC_JOIN(&a2.c, "#local", T);
    IRC_EXPECT(&a1.c, "JOIN", "a2!", T);

    size_t from[NODES];
    log_positions(from);
    MX_REQUIRE(redis_signal(&redis, SIGSTOP) == 0);
    /* y registers at once: its claim is out, unanswered, when the node
     * gives Redis up. */
    int rc = irc_open(&y, w.n[0].chat);
    MX_REQUIRE(rc == 0, "connect: %s", strerror(-rc));
    snprintf(y.nick, sizeof y.nick, "y");
    send_raw(&y, "NICK yves\r\nUSER uy 0 * :y\r\n");
    char down[128];
    down_line(down, sizeof down);
    int down_ms = REDIS_TIMEOUT_MS + HEARTBEAT_MS + T;
    for (int i = 0; i < NODES; i++)
        MX_REQUIRE(daemon_wait_log_from(w.n[i].d, from[i], down, down_ms),
                   "node %s did not log '%s...' within %d ms of SIGSTOP", w.n[i].name, down,
                   down_ms);
    expect_line(&y, ":a.test.muxd 400 * %s", cannot);
    MX_REQUIRE(irc_sync(&y, "y1", NULL, NULL, NULL, T) == 0 && irc_line_is(y.line, "PONG", NULL),
               "y: after the 400; last lines:\n%s", irc_recent(&y));
    MX_REQUIRE(strstr(irc_recent(&y), " 001 ") == NULL, "y got 001:\n%s", irc_recent(&y));

    /* While the node is down: a new client's nick is refused at once, and
     * it stays unregistered. */
    rc = irc_open(&x, w.n[0].chat);
    MX_REQUIRE(rc == 0, "connect: %s", strerror(-rc));
    snprintf(x.nick, sizeof x.nick, "x");
    send_raw(&x, "NICK xena\r\nUSER ux 0 * :x\r\n");
    expect_line(&x, ":a.test.muxd 400 * %s", cannot);
    send_raw(&x, "PRIVMSG a1 :hi\r\nPING :x1\r\n");
    expect_line(&x, ":a.test.muxd 451 * :You have not registered");
    IRC_EXPECT_NEXT(&x, "PONG", ":x1", T);
    /* A registered client's change is refused too, its nick kept... */
    MX_REQUIRE(irc_send(&a1.c, "NICK a1new") == 0);
    expect_line(&a1.c, ":a.test.muxd 400 a1 %s", cannot);
    /* ...and local chat goes on. */
    MX_REQUIRE(irc_send(&a1.c, "PRIVMSG #local :while down") == 0);
    expect_line(&a2.c, ":a1!ua1@127.0.0.1 PRIVMSG #local :while down");
    MX_REQUIRE(irc_send(&a2.c, "PRIVMSG a1 :also while down") == 0);
    expect_line(&a1.c, ":a2!ua2@127.0.0.1 PRIVMSG a1 :also while down");
    /* A channel this node lacks may exist elsewhere with other rules: no
     * JOIN while the network cannot say; a channel it has is joined. */
    MX_REQUIRE(irc_send(&a1.c, "JOIN #elsewhere") == 0);
    expect_line(&a1.c, ":a.test.muxd 400 a1 JOIN :The chat network cannot be reached to "
                       "check #elsewhere; try again later");
    MX_REQUIRE(irc_send(&a1.c, "PART #local") == 0);
    expect_line(&a1.c, ":a1!ua1@127.0.0.1 PART #local");
    MX_REQUIRE(irc_send(&a1.c, "JOIN #local") == 0);
    expect_line(&a1.c, ":a1!ua1@127.0.0.1 JOIN :#local");
    IRC_EXPECT(&a1.c, "366", "#local", T);
    IRC_EXPECT(&a2.c, "JOIN", "a1!", T);

    MX_REQUIRE(redis_signal(&redis, SIGCONT) == 0);
    char up[128];
    for (int i = 0; i < NODES; i++) {
        long at = log_find(w.n[i].d, from[i], down);
        MX_REQUIRE(at >= 0);
        up_line(up, sizeof up, i);
        MX_REQUIRE(daemon_wait_log_from(w.n[i].d, (size_t)at, up, 10000),
                   "node %s did not log '%s' within 10 s of SIGCONT", w.n[i].name, up);
    }
    require_all_up();
    /* Asked again, the nicks are granted: x and y register, a1 changes. */
    MX_REQUIRE(irc_send(&x, "NICK xena") == 0);
    expect_welcome(&x, 0, "xena", "ux");
    MX_REQUIRE(irc_send(&y, "NICK yves") == 0);
    expect_welcome(&y, 0, "yves", "uy");
    nick_taken(&a1, "a1new");
    expect_line(&a2.c, ":a1!ua1@127.0.0.1 NICK :a1new");
    require_holder("xena", 0, 0);
    require_holder("yves", 0, 0);
    require_holder("a1new", 0, 0);
    require_holder("a1", -1, T);
    irc_close(&a1.c);
    irc_close(&a2.c);
    irc_close(&x);
    irc_close(&y);
    teardown();
}
