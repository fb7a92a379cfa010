/* test_cluster.c - chat across muxd nodes through Redis pub/sub (issue 16,
 * phase 1): three daemons (nodes a, b and c) on one real Redis, clients
 * on each in #c. A PRIVMSG or NOTICE to a channel reaches the channel's
 * members on every node exactly once, in the order sent, as the sender's
 * node formatted it; local delivery never waits for Redis; a Redis
 * stopped, restarted empty, or cutting the nodes' subscriber connections
 * is noticed ("down"), survived (local delivery goes on, what cannot be
 * published is counted as dropped) and recovered from ("up", subscriptions
 * in place again, cross-node delivery works).
 *
 * A node subscribes to a channel asynchronously once it has local members,
 * so a message sent right after a JOIN elsewhere may miss that node: each
 * test first SYNCs, the sender repeating "sync" lines every 100 ms until
 * every other client has seen one. Messages are "msg <nick> <seq>"; each
 * client checks, per sender, that the next one is exactly the one after
 * the last (or, across a Redis outage on a remote node, any later one).
 *
 * The first test checks the Redis harness itself (harness/redis.c), so
 * that it is proven apart from the feature.
 *
 * Nicks across nodes are test_cluster_nicks.c, channel membership
 * test_cluster_chan.c; the world
 * (Redis, the nodes, their clients) and the helpers both files share are
 * harness/cluster.c. */
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

static void fail(const struct cl *c, const char *why, const char *line)
{
    if (w.errors++ == 0)
        snprintf(w.first_error, sizeof w.first_error, "%s (node %s): %s: '%.300s'", c->c.nick,
                 w.n[c->node].name, why, line);
}

/* ---- reading: every client's lines, checked as they come ---------------- */

static int sender_of(const struct cl *c)
{
    for (int s = 0; s < w.ns; s++)
        if (&w.c[w.sender[s]] == c)
            return s;
    return -1;
}

static void on_seq(struct cl *c, int s, long seq, const char *line)
{
    if (seq < c->next[s]) {
        fail(c, seq == c->next[s] - 1 ? "duplicate" : "duplicate or out of order", line);
        return;
    }
    if (seq > c->next[s] && seq - 1 > c->loose_upto[s]) {
        char why[96];
        snprintf(why, sizeof why, "gap: %d to %ld missing (lost or out of order)", c->next[s],
                 seq - 1);
        fail(c, why, line);
        return;
    }
    if (c->loose_upto[s] > 0 && seq <= c->loose_upto[s]) {
        size_t n = strlen(c->outage);
        snprintf(c->outage + n, sizeof c->outage - n, "%ld ", seq);
    }
    c->next[s] = (int)seq + 1;
}

/* ":<nick>!u<nick>@127.0.0.1 PRIVMSG #c :<text>" from one of the senders,
 * text "msg <nick> <seq>", "sync <nick> <tag>" or (NOTICE) "note <nick>".
 * Anything else from a sender's prefix that is not a PRIVMSG or NOTICE
 * (its JOIN) is ignored, as are the server's own lines. */
static void on_line(void *arg, char *line)
{
    struct cl *c = arg;
    if (strncmp(line, "ERROR ", 6) == 0) {
        fail(c, "closed by the server", line);
        return;
    }
    for (int s = 0; s < w.ns; s++) {
        const char *nick = w.c[w.sender[s]].c.nick;
        char prefix[160];
        int plen = snprintf(prefix, sizeof prefix, ":%s!u%s@127.0.0.1 ", nick, nick);
        if (strncmp(line, prefix, (size_t)plen) != 0)
            continue;
        const char *rest = line + plen, *text;
        bool notice = false;
        if (strncmp(rest, "PRIVMSG #c :", 12) == 0)
            text = rest + 12;
        else if (strncmp(rest, "NOTICE #c :", 11) == 0) {
            text = rest + 11;
            notice = true;
        } else
            return;
        if (sender_of(c) == s) {
            fail(c, "got its own message", line);
            return;
        }
        char word[16], who[64];
        long num = -1;
        int n = 0;
        if (sscanf(text, "%15s %63s%n", word, who, &n) != 2 || strcmp(who, nick) != 0) {
            fail(c, "text not from this sender", line);
            return;
        }
        if (!notice && strcmp(word, "msg") == 0 && sscanf(text + n, " %ld", &num) == 1) {
            char want[256];
            snprintf(want, sizeof want, "%sPRIVMSG #c :msg %s %ld", prefix, nick, num);
            if (strcmp(line, want) != 0 || num < 1)
                fail(c, "not the line the sender's node formats", line);
            else
                on_seq(c, s, num, line);
        } else if (!notice && strcmp(word, "sync") == 0 &&
                   sscanf(text + n, " %ld", &num) == 1) {
            if (num == w.sync_tag[s])
                c->sync_seen[s]++;
        } else if (notice && strcmp(word, "note") == 0 && text[n] == '\0') {
            c->notes[s]++;
        } else {
            fail(c, "unexpected text", line);
        }
        return;
    }
    /* Someone else's channel traffic would be a stranger on #c. */
    char cmd[16];
    irc_line_cmd(line, cmd, sizeof cmd);
    if (line[0] == ':' && (strcmp(cmd, "PRIVMSG") == 0 || strcmp(cmd, "NOTICE") == 0) &&
        strstr(line, " #c :"))
        fail(c, "channel message from no sender of this test", line);
}

/* One round: waits up to ms for input, reads what every client has. */
static void pump(int ms)
{
    struct pollfd p[MAXC];
    for (int i = 0; i < w.nc; i++)
        p[i] = (struct pollfd){ .fd = w.c[i].eof ? -1 : w.c[i].c.fd, .events = POLLIN };
    if (poll(p, (nfds_t)w.nc, ms) <= 0)
        return;
    for (int i = 0; i < w.nc; i++) {
        struct cl *c = &w.c[i];
        if (!p[i].revents || c->eof)
            continue;
        if (irc_lines_read(c->c.fd, &c->l, on_line, c) == 0) {
            c->eof = true;
            fail(c, "connection closed", "");
        }
    }
}

/* Pumps until cond() (or an error), or ms pass: false at the deadline. */
static bool pump_until(bool (*cond)(int), int arg, int ms)
{
    int64_t end = mx_now_ms() + ms;
    while (!w.errors && !cond(arg)) {
        int left = (int)(end - mx_now_ms());
        if (left <= 0)
            return false;
        pump(left < 50 ? left : 50);
    }
    return true;
}

static void require_no_errors(void)
{
    MX_REQUIRE(w.errors == 0, "%ld bad deliveries; the first: %s", w.errors, w.first_error);
}

/* ---- sending --------------------------------------------------------- */

/* Sender s sends "msg <nick> <seq>" for seq = from .. to, fifty lines to a
 * write, every client read between writes. */
static void send_range(int s, int from, int to)
{
    struct cl *c = &w.c[w.sender[s]];
    char buf[50 * 64];
    for (int seq = from; seq <= to;) {
        size_t len = 0;
        for (int k = 0; k < 50 && seq <= to; k++, seq++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "PRIVMSG #c :msg %s %d\r\n",
                                    c->c.nick, seq);
        int rc = irc_send_raw(&c->c, buf, len);
        MX_REQUIRE(rc == 0, "%s: send: %s", c->c.nick, strerror(-rc));
        pump(0);
    }
}

static bool sync_seen_by_all(int s)
{
    for (int i = 0; i < w.nc; i++)
        if (i != w.sender[s] && w.c[i].sync_seen[s] == 0)
            return false;
    return true;
}

/* SYNC: sender s repeats "sync" every 100 ms until every other client, on
 * every node, has seen one of this round. */
static void sync_from(int s, int timeout_ms)
{
    struct cl *c = &w.c[w.sender[s]];
    int tag = ++w.sync_tag[s], rounds = 0;
    for (int i = 0; i < w.nc; i++)
        w.c[i].sync_seen[s] = 0;
    int64_t t0 = mx_now_ms(), end = t0 + timeout_ms;
    while (!sync_seen_by_all(s)) {
        require_no_errors();
        if (mx_now_ms() >= end) {
            char missing[256] = "";
            for (int i = 0; i < w.nc; i++)
                if (i != w.sender[s] && w.c[i].sync_seen[s] == 0) {
                    size_t n = strlen(missing);
                    snprintf(missing + n, sizeof missing - n, " %s(%s)", w.c[i].c.nick,
                             w.n[w.c[i].node].name);
                }
            log_metrics("sync failed");
            MX_REQUIRE(false, "SYNC from %s (node %s): after %d ms and %d rounds, not seen "
                       "by%s", c->c.nick, w.n[c->node].name, timeout_ms, rounds, missing);
        }
        MX_REQUIRE(irc_send(&c->c, "PRIVMSG #c :sync %s %d", c->c.nick, tag) == 0);
        rounds++;
        pump_until(sync_seen_by_all, s, 100);
    }
    require_no_errors();
    cr_log_info("SYNC from %s: %d rounds, %lld ms", c->c.nick, rounds,
                (long long)(mx_now_ms() - t0));
}

/* Every client has every sender's (but its own) messages up to upto,
 * and wanted notes NOTICEs. */
static int want_notes;

static bool all_have(int upto)
{
    for (int i = 0; i < w.nc; i++)
        for (int s = 0; s < w.ns; s++)
            if (i != w.sender[s] &&
                (w.c[i].next[s] <= upto || w.c[i].notes[s] < want_notes))
                return false;
    return true;
}

/* Waits for all_have(upto), then a while for duplicates; fails naming
 * who is short. */
static void require_all_have(int upto)
{
    int64_t t0 = mx_now_ms();
    bool done = pump_until(all_have, upto, DELIVERY_MS);
    int64_t took = mx_now_ms() - t0;
    for (int64_t end = mx_now_ms() + DUP_WAIT_MS; !w.errors && mx_now_ms() < end;)
        pump(20);
    require_no_errors();
    if (!done) {
        char shorts[512] = "";
        for (int i = 0; i < w.nc; i++)
            for (int s = 0; s < w.ns; s++)
                if (i != w.sender[s] && w.c[i].next[s] <= upto) {
                    size_t n = strlen(shorts);
                    snprintf(shorts + n, sizeof shorts - n, " %s(%s) has %s's up to %d;",
                             w.c[i].c.nick, w.n[w.c[i].node].name,
                             w.c[w.sender[s]].c.nick, w.c[i].next[s] - 1);
                }
        log_metrics("delivery failed");
        MX_REQUIRE(false, "not every message up to %d arrived within %d ms:%s", upto,
                   DELIVERY_MS, shorts);
    }
    for (int i = 0; i < w.nc; i++)
        for (int s = 0; s < w.ns; s++)
            MX_REQUIRE(i == w.sender[s] || w.c[i].notes[s] == want_notes,
                       "%s got %d NOTICEs from %s, want %d", w.c[i].c.nick, w.c[i].notes[s],
                       w.c[w.sender[s]].c.nick, want_notes);
    cr_log_info("every client has every message up to %d: %lld ms", upto, (long long)took);
}

/* ---- setup: senders and members in #c ---------------------------------- */

static struct cl *add_client(int node, const char *nick)
{
    MX_REQUIRE(w.nc < MAXC);
    struct cl *c = &w.c[w.nc++];
    c->node = node;
    for (int s = 0; s < MAXS; s++)
        c->next[s] = 1;
    IRC_LOGIN(&c->c, w.n[node].chat, nick, T);
    return c;
}

/* Redis, nodes a, b and c, a sender "sa" on a (and "sb" on b with two
 * senders) and two members on each node ("a1", "a2", "b1" ...), every
 * one in #c; then a SYNC from each sender. */
static void setup(int senders)
{
    memset(&w, 0, sizeof w);
    want_notes = 0;
    start_redis();
    for (int i = 0; i < NODES; i++)
        boot_node(i);
    for (int s = 0; s < senders; s++) {
        char nick[8];
        snprintf(nick, sizeof nick, "s%c", 'a' + s);
        w.sender[w.ns++] = w.nc;
        add_client(s, nick);
    }
    for (int i = 0; i < NODES; i++)
        for (int k = 1; k <= 2; k++) {
            char nick[8];
            snprintf(nick, sizeof nick, "%c%d", 'a' + i, k);
            add_client(i, nick);
        }
    for (int i = 0; i < w.nc; i++) {
        IRC_JOIN(&w.c[i].c, "#c", T);
        irc_lines_take(&w.c[i].c, &w.c[i].l);
    }
    for (int s = 0; s < w.ns; s++)
        sync_from(s, SYNC_MS);
}

/* ---- a) the harness -------------------------------------------------- */

Test(cluster, harness_self_check)
{
    start_redis();
    int port = redis.port;
    pid_t pid = redis.child.pid;
    char dir[sizeof redis.child.dir];
    snprintf(dir, sizeof dir, "%s", redis.child.dir);
    static char rep[32768];
    MX_REQUIRE(port > 0 && pid > 0);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "PING", NULL) == 0 && !strcmp(rep, "PONG"),
               "PING: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "SET", "k", "v 1", NULL) == 0 &&
               !strcmp(rep, "OK"), "SET: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "GET", "k", NULL) == 0 &&
               !strcmp(rep, "v 1"), "GET: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "GET", "none", NULL) == 0 &&
               !strcmp(rep, "(nil)"), "GET of no key: '%s'", rep);
    /* A value with CR LF inside: the bulk length, not a line end, ends it. */
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "SET", "crlf", "a\r\nb", NULL) == 0 &&
               !strcmp(rep, "OK"));
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "GET", "crlf", NULL) == 0 &&
               !strcmp(rep, "a\r\nb"), "GET crlf: '%s'", rep);
    /* A reply larger than one read. */
    static char big[20001];
    memset(big, 'x', sizeof big - 1);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "SET", "big", big, NULL) == 0);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "GET", "big", NULL) == 0 && !strcmp(rep, big),
               "GET big: %zu bytes", strlen(rep));
    MX_REQUIRE(redis_cmd(port, rep, 8, "GET", "big", NULL) == 0 && !strcmp(rep, "xxxxxxx"),
               "a cut reply: '%s'", rep);
    /* Integers, arrays, errors. */
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "RPUSH", "l", "a", "b c", "d", NULL) == 0 &&
               !strcmp(rep, "3"), "RPUSH: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "LRANGE", "l", "0", "-1", NULL) == 0 &&
               !strcmp(rep, "a b c d"), "LRANGE: '%s'", rep);
    char want[64];
    snprintf(want, sizeof want, "port %d", port);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "CONFIG", "GET", "port", NULL) == 0 &&
               !strcmp(rep, want), "CONFIG GET port: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "CONFIG", "GET", "save", NULL) == 0 &&
               !strcmp(rep, "save "), "nothing is saved: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "NOSUCHCOMMAND", NULL) == 0 &&
               !strncmp(rep, "ERR ", 4), "an error reply: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "DBSIZE", NULL) == 0 && !strcmp(rep, "4"),
               "DBSIZE: '%s'", rep);

    /* Restarted: the same port, a new process, an empty database. */
    MX_REQUIRE(redis_restart(&redis) == 0);
    MX_REQUIRE(redis.port == port && redis.child.pid > 0 && redis.child.pid != pid);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "DBSIZE", NULL) == 0 && !strcmp(rep, "0"),
               "DBSIZE after the restart: '%s'", rep);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "GET", "k", NULL) == 0 &&
               !strcmp(rep, "(nil)"), "GET after the restart: '%s'", rep);

    /* Stopped: the connection is accepted (the kernel's backlog) but
     * nothing answers, and redis_cmd gives up after 2 s. */
    MX_REQUIRE(redis_signal(&redis, SIGSTOP) == 0);
    int64_t t0 = mx_now_ms();
    int rc = redis_cmd(port, rep, sizeof rep, "PING", NULL);
    int64_t took = mx_now_ms() - t0;
    MX_REQUIRE(rc == -1 && took >= 1900 && took < 3500, "PING to a stopped Redis: %d after "
               "%lld ms", rc, (long long)took);
    MX_REQUIRE(redis_signal(&redis, SIGCONT) == 0);
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "PING", NULL) == 0 && !strcmp(rep, "PONG"),
               "PING after SIGCONT: '%s'", rep);

    /* A stopped server stays stopped; stopping twice is fine. */
    MX_REQUIRE(redis_signal(&redis, SIGSTOP) == 0);  /* stop must see to a stopped one */
    t0 = mx_now_ms();
    redis_stop(&redis);
    MX_REQUIRE(mx_now_ms() - t0 < 2000, "stopping a SIGSTOPped Redis took %lld ms",
               (long long)(mx_now_ms() - t0));
    MX_REQUIRE(redis.child.pid == 0 && redis_signal(&redis, SIGCONT) == -ESRCH);
    MX_REQUIRE(kill(pid, 0) != 0, "the first server is still there");
    MX_REQUIRE(access(dir, F_OK) != 0, "%s was not removed", dir);
    t0 = mx_now_ms();
    MX_REQUIRE(redis_cmd(port, rep, sizeof rep, "PING", NULL) == -1, "still answering");
    MX_REQUIRE(mx_now_ms() - t0 < 1000, "a refused connection took %lld ms",
               (long long)(mx_now_ms() - t0));
    redis_stop(&redis);
}

/* ---- b) one sender, three nodes --------------------------------------- */

Test(cluster, three_nodes_in_order)
{
    enum { N = 1000 };
    setup(1);
    send_range(0, 1, N);
    want_notes = 1;
    MX_REQUIRE(irc_send(&w.c[w.sender[0]].c, "NOTICE #c :note sa") == 0);
    require_all_have(N);
    log_metrics("after 1000 messages");
    MX_REQUIRE(metric(0, "muxd_cluster_published_total") >= N,
               "node a published %ld of %d", metric(0, "muxd_cluster_published_total"), N);
    for (int i = 1; i < NODES; i++)
        MX_REQUIRE(metric(i, "muxd_cluster_received_total") >= N, "node %s received %ld of %d",
                   w.n[i].name, metric(i, "muxd_cluster_received_total"), N);
    for (int i = 0; i < NODES; i++)
        MX_REQUIRE(metric(i, "muxd_cluster_dropped_total") == 0, "node %s dropped %ld",
                   w.n[i].name, metric(i, "muxd_cluster_dropped_total"));
    require_all_up();
    teardown();
}

/* ---- c) two senders on two nodes, interleaved ------------------------- */

Test(cluster, two_senders)
{
    enum { N = 500, STEP = 10 };
    setup(2);
    for (int seq = 1; seq <= N; seq += STEP) {
        send_range(0, seq, seq + STEP - 1);
        send_range(1, seq, seq + STEP - 1);
    }
    require_all_have(N);
    log_metrics("after 2 x 500 messages");
    for (int i = 0; i < NODES; i++)
        MX_REQUIRE(metric(i, "muxd_cluster_dropped_total") == 0, "node %s dropped %ld",
                   w.n[i].name, metric(i, "muxd_cluster_dropped_total"));
    teardown();
}

/* ---- d) Redis stopped (SIGSTOP) and resumed --------------------------- */

static bool local_have(int upto)
{
    for (int i = 0; i < w.nc; i++)
        if (w.c[i].node == 0 && i != w.sender[0] && w.c[i].next[0] <= upto)
            return false;
    return true;
}

/* Sender "sa" sends seq; a's own members must have it within 2 s. */
static void send_local_checked(int seq, const char *when)
{
    send_range(0, seq, seq);
    MX_REQUIRE(pump_until(local_have, seq, 2000),
               "message %d did not reach node a's own members within 2 s %s", seq, when);
    require_no_errors();
}

Test(cluster, redis_paused)
{
    enum { TAIL = 100, PAUSE_MS = 5000 };
    setup(1);
    char down[128];
    down_line(down, sizeof down);
    size_t from[NODES];
    log_positions(from);
    /* Remote members may miss what is sent during the outage, in any
     * pattern, but never see it twice or out of order. */
    for (int i = 0; i < w.nc; i++)
        if (w.c[i].node != 0)
            w.c[i].loose_upto[0] = INT_MAX;

    MX_REQUIRE(redis_signal(&redis, SIGSTOP) == 0);
    int64_t t0 = mx_now_ms(), down_by = t0 + REDIS_TIMEOUT_MS + 2000;
    /* Until node a notices: a message every 100 ms or so, each delivered
     * on a at once though its publish goes nowhere. */
    int seq = 0;
    for (;;) {
        send_local_checked(++seq, "while Redis is stopped");
        if (daemon_wait_log_from(w.n[0].d, from[0], down, 100))
            break;
        MX_REQUIRE(mx_now_ms() < down_by, "node a did not log '%s...' within %d ms of "
                   "SIGSTOP", down, REDIS_TIMEOUT_MS + 2000);
    }
    int64_t noticed = mx_now_ms() - t0;
    int before_down = seq;
    /* Every node's heartbeat goes unanswered as well. */
    for (int i = 1; i < NODES; i++) {
        int left = (int)(down_by - mx_now_ms());
        MX_REQUIRE(daemon_wait_log_from(w.n[i].d, from[i], down, left > 0 ? left : 0),
                   "node %s did not log '%s...' within %d ms of SIGSTOP", w.n[i].name, down,
                   REDIS_TIMEOUT_MS + 2000);
    }
    /* Sent while a is down: delivered on a, dropped for b and c. */
    for (int k = 0; k < 5; k++)
        send_local_checked(++seq, "while node a is down");
    int outage = seq;
    long dropped = metric_within(0, "muxd_cluster_dropped_total", 1, LONG_MAX, 2000);
    MX_REQUIRE(dropped > 0, "node a dropped nothing of the %d messages sent while it was "
               "down", outage - before_down);
    MX_REQUIRE(metric(0, "muxd_cluster_redis_up") == 0, "node a: redis_up is %ld while down",
               metric(0, "muxd_cluster_redis_up"));
    log_metrics("Redis stopped");

    /* Stopped 5 s in all, longer than a heartbeat key lives (3 x 500 ms):
     * every node's expired with Redis's clock. The nodes back first must
     * not take the others for dead: they are on their way back too. Node
     * c comes back 2.5 s after a and b (it is stopped meanwhile), longer
     * than its key would live from the resume, inside their grace
     * (3 heartbeats + 2 s back-off + redis_timeout: docs/cluster.md). */
    struct mx_daemon *c = w.n[2].d;
    MX_REQUIRE(c->pid > 0 && kill(c->pid, SIGSTOP) == 0, "SIGSTOP c: %s", strerror(errno));
    int64_t left = t0 + PAUSE_MS - mx_now_ms();
    if (left > 0)
        mx_sleep_ms((int)left);
    MX_REQUIRE(redis_signal(&redis, SIGCONT) == 0);
    int64_t resumed = mx_now_ms();
    char up[128];
    for (int i = 0; i < NODES; i++) {
        if (i == 2) {
            mx_sleep_ms(2500);
            MX_REQUIRE(kill(c->pid, SIGCONT) == 0, "SIGCONT c: %s", strerror(errno));
        }
        long at = log_find(w.n[i].d, from[i], down);
        MX_REQUIRE(at >= 0);
        up_line(up, sizeof up, i);
        MX_REQUIRE(daemon_wait_log_from(w.n[i].d, (size_t)at, up, 10000),
                   "node %s did not log '%s' within 10 s of SIGCONT", w.n[i].name, up);
    }
    cr_log_info("node a logged down %lld ms after SIGSTOP; all up %lld ms after SIGCONT",
                (long long)noticed, (long long)(mx_now_ms() - resumed));
    require_all_up();

    /* From here on nothing may be missing. */
    for (int i = 0; i < w.nc; i++)
        if (w.c[i].node != 0)
            w.c[i].loose_upto[0] = outage;
    sync_from(0, SYNC_MS);
    send_range(0, outage + 1, outage + TAIL);
    require_all_have(outage + TAIL);
    for (int i = 0; i < w.nc; i++)
        if (w.c[i].node != 0)
            cr_log_info("%s (node %s) got, of the %d sent during the outage (%d before a "
                        "noticed): %s", w.c[i].c.nick, w.n[w.c[i].node].name, outage,
                        before_down, w.c[i].outage[0] ? w.c[i].outage : "none");
    log_metrics("Redis resumed");
    static const char gone[] = "(its heartbeat expired)";
    for (int i = 0; i < NODES; i++)
        MX_REQUIRE(daemon_log_count(w.n[i].d, gone) == 0,
                   "node %s took another for dead after Redis's pause", w.n[i].name);
    MX_REQUIRE(metric(0, "muxd_cluster_redis_transitions_total") >= 2,
               "node a: %ld transitions after a down and an up",
               metric(0, "muxd_cluster_redis_transitions_total"));
    teardown();
}

/* ---- e) Redis restarted, empty ---------------------------------------- */

/* After an outage: SYNC from both senders, then 100 numbered messages
 * from each that every client must get. */
static void require_traffic_again(void)
{
    enum { N = 100 };
    for (int s = 0; s < w.ns; s++)
        sync_from(s, SYNC_MS);
    for (int seq = 1; seq <= N; seq += 10)
        for (int s = 0; s < w.ns; s++)
            send_range(s, seq, seq + 9);
    require_all_have(N);
}

Test(cluster, redis_restarted_empty)
{
    setup(2);
    size_t from[NODES];
    log_positions(from);
    int port = redis.port;
    MX_REQUIRE(redis_restart(&redis) == 0);
    MX_REQUIRE(redis.port == port);
    require_down_then_up(from, T, 10000);
    require_all_up();
    require_traffic_again();
    log_metrics("after the restart");
    teardown();
}

/* ---- f) the nodes' subscriber connections killed ------------------------ */

Test(cluster, pubsub_client_killed)
{
    setup(2);
    size_t from[NODES];
    log_positions(from);
    char rep[64];
    MX_REQUIRE(redis_cmd(redis.port, rep, sizeof rep, "CLIENT", "KILL", "TYPE", "pubsub",
                         NULL) == 0, "CLIENT KILL failed");
    char *end;
    long killed = strtol(rep, &end, 10);
    MX_REQUIRE(end != rep && *end == '\0' && killed >= 1, "CLIENT KILL TYPE pubsub: '%s'", rep);
    cr_log_info("CLIENT KILL TYPE pubsub: %ld connections", killed);
    require_down_then_up(from, T, 10000);
    require_all_up();
    require_traffic_again();
    log_metrics("after the kill");
    teardown();
}

/* ---- g) 50 clients on three nodes race for one nick ------------------- */
