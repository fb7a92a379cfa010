/* test_cluster_netns.c - a real network partition between a muxd node and
 * Redis (issue 16; docs/cluster.md, "Losing and finding Redis"): node b
 * runs in a network namespace of the test's, and the test cuts b's link
 * to Redis, then restores it. test_cluster*.c stop Redis or the node with
 * a signal instead: there, every connection still answers at the TCP
 * level, or the node sees nothing at all. Here b keeps running and its
 * packets to Redis vanish, both ways, as when a switch or a cable fails.
 *
 *     root namespace                        namespace NS (node b)
 *     Redis on 127.0.0.1 and R_HOST  <-- R veth -->  R_NODE: b's Redis link (cut)
 *     node a on 127.0.0.1
 *     the test's clients of b        <-- I veth -->  I_NODE: b's listeners
 *
 * The cut is `ip link set` down of the R veth's root end: b's end loses
 * its carrier but keeps its route, so nothing tells b (no reset, no
 * unreachable): it must notice by its PINGs going unanswered, and its
 * reconnection attempts hang until they time out. What b sends meanwhile
 * goes nowhere, though b's kernel holds the packets to Redis a few
 * seconds for its neighbour to answer, and sends them once the link is
 * back within that: as any network may deliver late what was sent before
 * it broke, b's writes on the connections it gave up may reach Redis
 * after it is up again. The root end being down takes its route away,
 * and Redis would send its retransmissions to b out of the default route;
 * a blackhole route under the test's addresses keeps them here. The I
 * veth stays up, so the test talks to b's users throughout.
 *
 * Names (the namespace, the links) carry the test process's pid; the
 * addresses are a /29 of 198.18.0.0/15 (RFC 2544: for tests) chosen from
 * the pid and not on any interface here. The suite's .fini removes all of
 * it once the daemons and Redis are gone, after a failed assert too. The
 * test skips itself where it cannot make a namespace (not root, no
 * CAP_SYS_ADMIN) or a veth.
 *
 * The world (Redis, nodes, clients) and the helpers are harness/cluster.c,
 * with node b booted by boot_node_at under "ip netns exec". */
#include "cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define IP_BIN "/sbin/ip"
#define IP_MS 10000            /* an ip command that has not ended by then is killed */
#define NET_BASE 0xc6120000u   /* 198.18.0.0 */
#define NET_SLOTS 16384        /* /29s in 198.18.0.0/15 */

/* What the test made, so that fini can undo it: "" until made. */
static struct {
    char ns[32];               /* the namespace */
    char r_host[16], i_host[16]; /* the veths' root ends (each takes its peer along) */
    char hole[INET_ADDRSTRLEN + 3]; /* the blackhole route: "198.18.X.Y/29" */
    /* The addresses: Redis's and b's ends of R, the test's and b's of I. */
    char r_root[INET_ADDRSTRLEN], r_node[INET_ADDRSTRLEN];
    char i_root[INET_ADDRSTRLEN], i_node[INET_ADDRSTRLEN];
} net;

/* Runs ip with the words of the formatted command as its arguments (no
 * shell: names and addresses need no quoting), its output on the test's.
 * Its exit status, or -1 if it could not run or did not end. */
static int ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ip(const char *fmt, ...)
{
    char text[256], cmd[256], *argv[24], *save = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    memcpy(cmd, text, sizeof cmd);
    int n = 0;
    argv[n++] = IP_BIN;
    for (char *t = strtok_r(cmd, " ", &save); t && n < 23; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    pid_t pid = mx_child_spawn(argv, -1, 0);
    if (pid < 0)
        return -1;
    int st;
    for (int64_t end = mx_now_ms() + IP_MS;; mx_sleep_ms(5)) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (mx_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            cr_log_error("ip %s: still running after %d ms, killed", text, IP_MS);
            return -1;
        }
    }
}

#define IP_OK(...) MX_REQUIRE(ip(__VA_ARGS__) == 0, "ip " __VA_ARGS__)

/* Undoes what the test made. The namespace goes first (its veth ends,
 * and so the pairs, go with it once no process is left in it: fini stops
 * the daemons before); a root end still there is removed on its own. */
static void net_fini(void)
{
    if (net.ns[0] && ip("netns del %s", net.ns) != 0)
        cr_log_error("could not remove the network namespace %s", net.ns);
    char *links[] = { net.r_host, net.i_host };
    for (size_t i = 0; i < 2; i++)
        if (links[i][0] && if_nametoindex(links[i]) && ip("link del %s", links[i]) != 0)
            cr_log_error("could not remove the link %s", links[i]);
    if (net.hole[0] && ip("route del blackhole %s", net.hole) != 0)
        cr_log_error("could not remove the route blackhole %s", net.hole);
    memset(&net, 0, sizeof net);
}

static void fini(void)
{
    redis_fini();
    mx_fini();
    net_fini();
}

TestSuite(cluster_netns, .init = mx_init, .fini = fini, .timeout = 90);

/* Is any address of an interface here in the /29 at base (host order)? */
static bool slot_taken(uint32_t base)
{
    struct ifaddrs *all;
    MX_REQUIRE(getifaddrs(&all) == 0, "getifaddrs: %s", strerror(errno));
    bool taken = false;
    for (struct ifaddrs *a = all; a && !taken; a = a->ifa_next)
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET)
            taken = (ntohl(((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr) & ~7u) == base;
    freeifaddrs(all);
    return taken;
}

static void addr_text(char *out, size_t cap, uint32_t a)
{
    struct in_addr in = { htonl(a) };
    MX_REQUIRE(inet_ntop(AF_INET, &in, out, (socklen_t)cap));
}

/* The namespace, the two veths with their addresses, all up, and the
 * blackhole route; skips the test where the kernel or our rights refuse
 * the namespace or the veth. */
static void net_setup(void)
{
    if (access(IP_BIN, X_OK) != 0)
        cr_skip_test(IP_BIN " is not installed (iproute2; scripts/setup.sh installs it)");
    unsigned pid = (unsigned)getpid();
    uint32_t base = 0;
    for (unsigned k = 0; k < 64 && !base; k++) {
        uint32_t b = NET_BASE + ((pid + k) % NET_SLOTS) * 8;
        if (!slot_taken(b))
            base = b;
    }
    MX_REQUIRE(base, "every /29 of 198.18.0.0/15 tried is on an interface here");
    addr_text(net.r_root, sizeof net.r_root, base + 1);
    addr_text(net.r_node, sizeof net.r_node, base + 2);
    addr_text(net.i_root, sizeof net.i_root, base + 5);
    addr_text(net.i_node, sizeof net.i_node, base + 6);
    char ns[32];
    snprintf(ns, sizeof ns, "muxd-it-%u", pid);
    if (ip("netns add %s", ns) != 0)
        cr_skip_test("cannot make a network namespace (ip netns add failed): the test "
                     "needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN");
    snprintf(net.ns, sizeof net.ns, "%s", ns);
    /* ip runs a command in the namespace from a mount namespace of its
     * own with /sys mounted again, which fails where / is no mount point
     * (a plain chroot: "mount --make-rslave /" failed). */
    if (ip("-n %s link set lo up", ns) != 0)
        cr_skip_test("ip cannot run commands inside a network namespace here (ip -n %s "
                     "failed; in a chroot, / must be a mount point)", ns);
    snprintf(net.r_host, sizeof net.r_host, "mxr%uh", pid);
    if (ip("link add %s type veth peer name mxr%un netns %s", net.r_host, pid, ns) != 0) {
        net.r_host[0] = '\0';
        cr_skip_test("cannot make a veth pair (ip link add type veth failed): the kernel "
                     "lacks veth, or the test CAP_NET_ADMIN");
    }
    snprintf(net.i_host, sizeof net.i_host, "mxi%uh", pid);
    if (ip("link add %s type veth peer name mxi%un netns %s", net.i_host, pid, ns) != 0) {
        net.i_host[0] = '\0';
        MX_REQUIRE(false, "a second veth pair could not be made");
    }
    char hole[INET_ADDRSTRLEN];
    addr_text(hole, sizeof hole, base);
    snprintf(net.hole, sizeof net.hole, "%s/29", hole);
    if (ip("route add blackhole %s", net.hole) != 0) {
        net.hole[0] = '\0';
        MX_REQUIRE(false, "ip route add blackhole failed");
    }
    IP_OK("addr add %s/30 dev %s", net.r_root, net.r_host);
    IP_OK("addr add %s/30 dev %s", net.i_root, net.i_host);
    IP_OK("link set %s up", net.r_host);
    IP_OK("link set %s up", net.i_host);
    IP_OK("-n %s addr add %s/30 dev mxr%un", ns, net.r_node, pid);
    IP_OK("-n %s addr add %s/30 dev mxi%un", ns, net.i_node, pid);
    IP_OK("-n %s link set mxr%un up", ns, pid);
    IP_OK("-n %s link set mxi%un up", ns, pid);
    cr_log_info("namespace %s: Redis at %s over %s, b's clients at %s over %s", ns, net.r_root,
                net.r_host, net.i_node, net.i_host);
}

/* Registers nick on node b, at its address in the namespace. */
static void login_b(struct user *u, const char *nick)
{
    u->node = 1;
    snprintf(u->user, sizeof u->user, "u%.8s", nick);
    int rc = irc_open_opts(&u->c, w.n[1].chat, &(struct mx_sockopts){ .dst = net.i_node });
    MX_REQUIRE(rc == 0, "connect to %s:%d: %s", net.i_node, w.n[1].chat, strerror(-rc));
    MX_REQUIRE(irc_register(&u->c, nick, u->user, T) == 0, "%s cannot register on b; last "
               "lines:\n%s", nick, irc_recent(&u->c));
}

/* u's next two lines are the two formatted ones, in either order: what
 * a node publishes for each of its members comes in its own order. */
static void expect_both(struct user *u, const char *one, const char *two, int ms)
{
    bool seen[2] = { false, false };
    for (int i = 0; i < 2; i++) {
        int rc = irc_next(&u->c, ms);
        MX_REQUIRE(rc == 1, "%s: want '%s' and '%s', %s; last lines:\n%s", u->c.nick, one, two,
                   rc == 0 ? "EOF" : "nothing came in time", irc_recent(&u->c));
        int which = strcmp(u->c.line, one) == 0 ? 0 : strcmp(u->c.line, two) == 0 ? 1 : -1;
        MX_REQUIRE(which >= 0 && !seen[which], "%s: '%s', want '%s' and '%s' once each",
                   u->c.nick, u->c.line, one, two);
        seen[which] = true;
    }
}

/* alice on a, bob and carol on b, all in #m. b's Redis link is cut for
 * longer than its heartbeat key lives, then restored. */
Test(cluster_netns, redis_link_cut_and_restored)
{
    /* b's key lives 3 heartbeats; a reaps at its next one; a margin. */
    enum { QUIT_MS = 4 * HEARTBEAT_MS + 3000,
           DOWN_MS = REDIS_TIMEOUT_MS + HEARTBEAT_MS + T,
           /* the retry backoff (2 s at most), a connect that hangs till
            * it times out, the hello; a margin */
           UP_MS = 2000 + 2 * REDIS_TIMEOUT_MS + 2 * T };
    static struct user alice, bob, carol;
    memset(&w, 0, sizeof w);
    net_setup();
    int rc = redis_start_also_on(&redis, net.r_root);
    if (rc == -ENOENT)
        cr_skip_test(MX_REDIS_BIN " is not installed (scripts/setup.sh installs it)");
    MX_REQUIRE(rc == 0, "redis_start_also_on %s: %d", net.r_root, rc);
    boot_node(0);
    boot_node_at(1, net.r_root, net.i_node,
                 (const char *const[]){ IP_BIN, "netns", "exec", net.ns, NULL });
    struct mx_daemon *b = w.n[1].d;
    char down[128], up[160], bob_at[96], carol_at[96];
    down_line_at(down, sizeof down, net.r_root);
    up_line_at(up, sizeof up, 1, net.r_root);
    /* b sees its clients come from the test's end of the I veth. */
    snprintf(bob_at, sizeof bob_at, "bob!ubob@%s", net.i_root);
    snprintf(carol_at, sizeof carol_at, "carol!ucarol@%s", net.i_root);

    login(&alice, 0, "alice");
    login_b(&bob, "bob");
    login_b(&carol, "carol");
    IRC_JOIN(&alice.c, "#m", T);
    names_are(&alice, "#m", "@alice");
    require_subscribers("#m", 1);
    IRC_JOIN(&bob.c, "#m", T);
    expect_line(&alice.c, ":%s JOIN :#m", bob_at);
    IRC_JOIN(&carol.c, "#m", T);
    expect_line(&alice.c, ":%s JOIN :#m", carol_at);
    expect_line(&bob.c, ":%s JOIN :#m", carol_at);
    require_subscribers("#m", 2);
    /* Across the link before the cut, both ways. */
    MX_REQUIRE(irc_send(&bob.c, "PRIVMSG #m :before") == 0);
    expect_line(&alice.c, ":%s PRIVMSG #m :before", bob_at);
    expect_line(&carol.c, ":%s PRIVMSG #m :before", bob_at);
    MX_REQUIRE(irc_send(&alice.c, "PRIVMSG #m :hi b") == 0);
    expect_line(&bob.c, ":alice!ualice@127.0.0.1 PRIVMSG #m :hi b");
    expect_line(&carol.c, ":alice!ualice@127.0.0.1 PRIVMSG #m :hi b");

    /* ---- the cut ---- */
    size_t from = daemon_log_len(b);
    IP_OK("link set %s down", net.r_host);
    int64_t cut = mx_now_ms();
    /* b cannot refresh its key any more: when it expires is known now,
     * and no node may take b for dead before that. Redis counts the TTL
     * from when it answers, after we ask: from the asking, the expiry is
     * no sooner than this (less a millisecond PTTL rounds off). */
    char ttl[32];
    int64_t asked = mx_now_ms();
    MX_REQUIRE(redis_cmd(redis.port, ttl, sizeof ttl, "PTTL", KEYS "node:b", NULL) == 0,
               "PTTL " KEYS "node:b failed");
    MX_REQUIRE(atol(ttl) > 0, "PTTL " KEYS "node:b: '%s' right after the cut", ttl);
    int64_t expires = asked + atol(ttl) - 1;

    /* For alice, bob and carol QUIT with the netsplit reason of the
     * survivor that reaped b: a. */
    char quit_bob[160], quit_carol[160];
    snprintf(quit_bob, sizeof quit_bob, ":%s QUIT :a b", bob_at);
    snprintf(quit_carol, sizeof quit_carol, ":%s QUIT :a b", carol_at);
    expect_both(&alice, quit_bob, quit_carol, QUIT_MS);
    int64_t quit_at = mx_now_ms();
    MX_REQUIRE(quit_at >= expires, "alice saw the netsplit %lld ms before b's heartbeat key "
               "expired", (long long)(expires - quit_at));
    cr_log_info("the netsplit QUITs %lld ms after the cut (b's key had %s ms left)",
                (long long)(quit_at - cut), ttl);
    MX_REQUIRE(daemon_wait_log_from(b, from, down, DOWN_MS),
               "node b did not log '%s...' within %d ms of the cut", down, DOWN_MS);
    cr_log_info("node b logged its 'down' by %lld ms after the cut",
                (long long)(mx_now_ms() - cut));
    names_are(&alice, "#m", "@alice");

    /* On b, local chat goes on; a nick cannot be checked, so a change is
     * refused and bob keeps his. What either side says now is lost for
     * the other. */
    MX_REQUIRE(irc_send(&bob.c, "PRIVMSG #m :during") == 0);
    expect_line(&carol.c, ":%s PRIVMSG #m :during", bob_at);
    MX_REQUIRE(irc_send(&bob.c, "NICK bobby") == 0);
    expect_line(&bob.c, ":b.test.muxd 400 bob NICK :The chat network cannot be reached to "
                        "check that nick; try again later");
    MX_REQUIRE(irc_send(&alice.c, "PRIVMSG #m :alone") == 0);
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: '%s' during the cut", alice.c.line);

    /* ---- the link is back ---- */
    long at = log_find(b, from, down);
    MX_REQUIRE(at >= 0);
    IP_OK("link set %s up", net.r_host);
    int64_t back = mx_now_ms();
    MX_REQUIRE(daemon_wait_log_from(b, (size_t)at, up, UP_MS),
               "node b did not log '%s' within %d ms of the link coming back", up, UP_MS);
    cr_log_info("node b up again %lld ms after the link came back",
                (long long)(mx_now_ms() - back));
    /* At b's next heartbeat it learns it was taken for dead (a's reap
     * marked it), and its members JOIN again for alice: they are her next
     * lines (what bob said during the cut never comes). */
    MX_REQUIRE(daemon_wait_log_from(b, (size_t)at, "was taken for dead by the other nodes",
                                    HEARTBEAT_MS + T),
               "node b did not log that it was taken for dead within %d ms of its 'up'",
               HEARTBEAT_MS + T);
    char join_bob[160], join_carol[160];
    snprintf(join_bob, sizeof join_bob, ":%s JOIN :#m", bob_at);
    snprintf(join_carol, sizeof join_carol, ":%s JOIN :#m", carol_at);
    expect_both(&alice, join_bob, join_carol, T);
    cr_log_info("the netjoin %lld ms after the link came back", (long long)(mx_now_ms() - back));
    names_become(&alice, "#m", "@alice bob carol", T);
    names_are(&bob, "#m", "@alice bob carol");
    require_holder("bob", 1, T);
    require_holder("carol", 1, T);
    char members[320];
    snprintf(members, sizeof members, "a:alice!ualice@127.0.0.1 b:%s b:%s", bob_at, carol_at);
    require_members("#m", members, T);

    /* Across the link again, both ways; what alice said during the cut
     * never reaches b. */
    MX_REQUIRE(irc_send(&bob.c, "PRIVMSG #m :back") == 0);
    expect_line(&alice.c, ":%s PRIVMSG #m :back", bob_at);
    expect_line(&carol.c, ":%s PRIVMSG #m :back", bob_at);
    MX_REQUIRE(irc_send(&alice.c, "PRIVMSG #m :welcome back") == 0);
    expect_line(&bob.c, ":alice!ualice@127.0.0.1 PRIVMSG #m :welcome back");
    expect_line(&carol.c, ":alice!ualice@127.0.0.1 PRIVMSG #m :welcome back");
    MX_REQUIRE(irc_quiet(&alice.c, DUP_WAIT_MS), "alice: '%s' after the netjoin", alice.c.line);
    MX_REQUIRE(irc_quiet(&bob.c, 0), "bob: '%s' after the netjoin", bob.c.line);

    struct user *all[] = { &alice, &bob, &carol };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        irc_close(&all[i]->c);
    mx_stop_ok(w.n[0].d, 10000);
    mx_stop_ok(b, 10000);
    redis_stop(&redis);
}
