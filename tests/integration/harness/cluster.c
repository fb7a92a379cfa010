/* cluster.c - the cluster tests' world: Redis, three nodes, their clients,
 * and the helpers the test_cluster*.c files share (see cluster.h). */
#include "cluster.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mx_redis redis;
struct world w;

/* Redis's host and port, the node's name, its listeners' host (twice), its
 * name again. */
static const char node_conf[] =
    "[server]\nworkers = 2\n"
    "[cluster]\nredis = %s:%d\nnode_name = %s\nheartbeat = 500ms\n"
    "redis_timeout = 1s\n"
    "[listener chat]\nlisten = %s:0\nprotocol = chat\nserver_name = %s.test.muxd\n"
    "flood_rate = 0\n"
    "[admin]\nlisten = %s:0\n";

/* ---- log lines and metrics ---------------------------------------------- */

void up_line(char *out, size_t cap, int node)
{
    up_line_at(out, cap, node, "127.0.0.1");
}

void up_line_at(char *out, size_t cap, int node, const char *host)
{
    snprintf(out, cap, "cluster: node %s: redis %s:%d up", w.n[node].name, host, redis.port);
}

void down_line(char *out, size_t cap)
{
    down_line_at(out, cap, "127.0.0.1");
}

void down_line_at(char *out, size_t cap, const char *host)
{
    snprintf(out, cap, "cluster: redis %s:%d down: ", host, redis.port);
}

/* Where needle is in d's log at or after from, or -1. */
long log_find(struct mx_daemon *d, size_t from, const char *needle)
{
    char *log = daemon_log(d);
    MX_REQUIRE(log);
    const char *hit = strlen(log) > from ? strstr(log + from, needle) : NULL;
    long pos = hit ? (long)(hit - log) : -1;
    free(log);
    return pos;
}

long metric(int node, const char *name)
{
    return mx_metric_sum(w.n[node].admin, name);
}

/* Polls name on node until lo <= value <= hi or ms pass; the last value. */
long metric_within(int node, const char *name, long lo, long hi, int ms)
{
    long v = metric(node, name);
    for (int64_t end = mx_now_ms() + ms; (v < lo || v > hi) && mx_now_ms() < end;) {
        mx_sleep_ms(50);
        v = metric(node, name);
    }
    return v;
}

void log_metrics(const char *when)
{
    for (int i = 0; i < NODES; i++)
        cr_log_info("%s: node %s: redis_up %ld, transitions %ld, published %ld, received %ld, "
                    "dropped %ld", when, w.n[i].name, metric(i, "muxd_cluster_redis_up"),
                    metric(i, "muxd_cluster_redis_transitions_total"),
                    metric(i, "muxd_cluster_published_total"),
                    metric(i, "muxd_cluster_received_total"),
                    metric(i, "muxd_cluster_dropped_total"));
}

/* Every node logs down (at or after from[i], within down_ms) and then up
 * again after that (within up_ms). */
void require_down_then_up(const size_t from[NODES], int down_ms, int up_ms)
{
    char down[128], up[128];
    down_line(down, sizeof down);
    for (int i = 0; i < NODES; i++) {
        struct mx_daemon *d = w.n[i].d;
        MX_REQUIRE(daemon_wait_log_from(d, from[i], down, down_ms),
                   "node %s did not log '%s...' within %d ms", w.n[i].name, down, down_ms);
        long at = log_find(d, from[i], down);
        MX_REQUIRE(at >= 0);
        up_line(up, sizeof up, i);
        MX_REQUIRE(daemon_wait_log_from(d, (size_t)at, up, up_ms),
                   "node %s did not log '%s' within %d ms of its 'down'", w.n[i].name, up,
                   up_ms);
    }
}

void require_all_up(void)
{
    for (int i = 0; i < NODES; i++) {
        long up = metric_within(i, "muxd_cluster_redis_up", 1, LONG_MAX, 2000);
        MX_REQUIRE(up > 0, "node %s: muxd_cluster_redis_up is %ld after its 'up' line",
                   w.n[i].name, up);
    }
}

void log_positions(size_t from[NODES])
{
    for (int i = 0; i < NODES; i++)
        from[i] = daemon_log_len(w.n[i].d);
}

/* ---- setup and teardown ---------------------------------------------- */

void start_redis(void)
{
    int rc = redis_start(&redis);
    if (rc == -ENOENT)
        cr_skip_test(MX_REDIS_BIN " is not installed (scripts/setup.sh installs it)");
    MX_REQUIRE(rc == 0, "redis_start: %d", rc);
}

void boot_node(int i)
{
    boot_node_at(i, "127.0.0.1", "127.0.0.1", NULL);
}

void boot_node_at(int i, const char *redis_host, const char *listen_host,
                  const char *const *prefix)
{
    struct node *n = &w.n[i];
    n->name[0] = (char)('a' + i);
    snprintf(n->srv, sizeof n->srv, "%c.test.muxd", 'a' + i);
    char conf[1024], up[160];
    snprintf(conf, sizeof conf, node_conf, redis_host, redis.port, n->name, listen_host,
             n->name, listen_host);
    n->d = mx_boot_under(conf, prefix);
    n->chat = mx_port(n->d, "chat");
    n->admin = mx_port(n->d, "admin");
    up_line_at(up, sizeof up, i, redis_host);
    MX_REQUIRE(daemon_wait_log(n->d, up, T), "node %s did not log '%s' within %d ms", n->name,
               up, T);
}

/* Redis and nodes a, b and c, without clients. */
void setup_nodes(void)
{
    memset(&w, 0, sizeof w);
    start_redis();
    for (int i = 0; i < NODES; i++)
        boot_node(i);
}

void teardown(void)
{
    for (int i = 0; i < w.nc; i++)
        irc_close(&w.c[i].c);
    for (int i = 0; i < NODES; i++) {
        if (w.n[i].killed)
            mx_require_clean_log(w.n[i].d);  /* mx_fini cleans it up */
        else
            mx_stop_ok(w.n[i].d, 10000);
    }
    redis_stop(&redis);
}

/* ---- clients: lines, nicks ---------------------------------------------- */

/* Registers nick (user name "u<nick>") on node. */
void login(struct user *u, int node, const char *nick)
{
    u->node = node;
    snprintf(u->user, sizeof u->user, "u%.8s", nick);
    IRC_LOGIN(&u->c, w.n[node].chat, nick, T);
}

/* c's next line is exactly the one formatted: nothing else came first. */
void expect_line(struct irc *c, const char *fmt, ...)
{
    char want[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    int rc = irc_next(c, T);
    MX_REQUIRE(rc == 1 && strcmp(c->line, want) == 0,
               "%s: the next line is not '%s' (%s); last lines:\n%s", c->nick, want,
               rc == 1 ? "another came" : rc == 0 ? "EOF" : "nothing within 5 s",
               irc_recent(c));
}

/* Sends raw bytes (lines with their CR LF). */
void send_raw(struct irc *c, const char *text)
{
    int rc = irc_send_raw(c, text, strlen(text));
    MX_REQUIRE(rc == 0, "%s: send: %s", c->nick, strerror(-rc));
}

/* Redis's value of nick's key (nick as Redis keeps it: casefolded), into
 * out: "NODE ID", or "(nil)" when no client holds it. */
void nick_key(const char *nick, char *out, size_t cap)
{
    char key[96];
    snprintf(key, sizeof key, KEYS "nick:%s", nick);
    MX_REQUIRE(redis_cmd(redis.port, out, cap, "GET", key, NULL) == 0, "GET %s failed", key);
}

/* Is v "NODE ID" for a client of node (node < 0: "(nil)")? */
bool held_by(const char *v, int node)
{
    if (node < 0)
        return strcmp(v, "(nil)") == 0;
    unsigned long long id;
    char name[8], rest[2];
    return sscanf(v, "%7s %llu%1s", name, &id, rest) == 2 && strcmp(name, w.n[node].name) == 0;
}

/* Polls Redis until nick's key names a client of node (node < 0: no key)
 * or ms pass; fails then. How long it took. */
int64_t require_holder(const char *nick, int node, int ms)
{
    char v[128];
    int64_t t0 = mx_now_ms();
    for (nick_key(nick, v, sizeof v); !held_by(v, node); nick_key(nick, v, sizeof v)) {
        MX_REQUIRE(mx_now_ms() - t0 < ms, "Redis: %s" KEYS "nick:%s is '%s' after %d ms, want "
                   "%s%s", "GET ", nick, v, ms, node < 0 ? "(nil)" : "a client of node ",
                   node < 0 ? "" : w.n[node].name);
        mx_sleep_ms(20);
    }
    return mx_now_ms() - t0;
}

/* Registered u asks for nick, which a client somewhere holds: 433, and
 * u keeps its nick. */
void nick_refused(struct user *u, const char *nick)
{
    MX_REQUIRE(irc_send(&u->c, "NICK %s", nick) == 0);
    expect_line(&u->c, ":%s 433 %s %s :Nickname is already in use", w.n[u->node].srv,
                u->c.nick, nick);
}

/* Registered u takes nick: its NICK line. */
void nick_taken(struct user *u, const char *nick)
{
    MX_REQUIRE(irc_send(&u->c, "NICK %s", nick) == 0);
    expect_line(&u->c, ":%s!%s@127.0.0.1 NICK :%s", u->c.nick, u->user, nick);
    snprintf(u->c.nick, sizeof u->c.nick, "%s", nick);
}

/* Reads up to the end of the welcome burst: the MOTD's end, or 422. */
void expect_burst_end(struct irc *c)
{
    int64_t end = mx_now_ms() + T;
    for (;;) {
        int left = (int)(end - mx_now_ms());
        MX_REQUIRE(irc_next(c, left < 0 ? 0 : left) == 1, "%s: the welcome burst did not end "
                   "(376 or 422) within %d ms; last lines:\n%s", c->nick, T, irc_recent(c));
        if (irc_line_is(c->line, "376", NULL) || irc_line_is(c->line, "422", NULL))
            return;
    }
}

/* The welcome's first line, for a client registering as nick!user. */
void expect_welcome(struct irc *c, int node, const char *nick, const char *user)
{
    expect_line(c, ":%s 001 %s :Welcome to the Internet Relay Network %s!%s@127.0.0.1",
                w.n[node].srv, nick, nick, user);
    snprintf(c->nick, sizeof c->nick, "%s", nick);
    expect_burst_end(c);
}

/* ---- channels: subscribers, members, NAMES ------------------------------ */

/* How many nodes hear channel chan's subject, as Redis counts them. */
long subscribers(const char *chan)
{
    char subj[96], rep[256];
    snprintf(subj, sizeof subj, KEYS "c:%s", chan);
    MX_REQUIRE(redis_cmd(redis.port, rep, sizeof rep, "PUBSUB", "NUMSUB", subj, NULL) == 0,
               "PUBSUB NUMSUB %s failed", subj);
    const char *sp = strrchr(rep, ' ');
    return sp ? strtol(sp + 1, NULL, 10) : -1;
}

/* A node subscribes to a channel asynchronously on its first JOIN: waits
 * until n nodes hear chan, so that a line published from here on reaches
 * every one of them (a JOIN cannot be repeated as a SYNC is).
 *
 * What a JOIN writes to Redis (the member's entry, a new channel's modes,
 * the JOIN line) goes on the node's other connection, as commands of their
 * own: Redis may run another node's commands between them. Before a client
 * of another node joins, the tests ask NAMES of the channel on the node
 * that joined it: Redis answers that on the same connection, after all it
 * was sent before, so the JOIN is all in Redis by then. */
void require_subscribers(const char *chan, long n)
{
    long have;
    for (int64_t t0 = mx_now_ms(); (have = subscribers(chan)) != n; mx_sleep_ms(10))
        MX_REQUIRE(mx_now_ms() - t0 < T, "%d nodes hear %s after %d ms, want %ld", (int)have,
                   chan, T, n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The words of s, sorted, joined by single spaces into out. */
void sorted_words(const char *s, char *out, size_t cap)
{
    char copy[2048], *words[128], *save = NULL;
    size_t n = 0, len = 0;
    snprintf(copy, sizeof copy, "%s", s);
    for (char *t = strtok_r(copy, " ", &save); t && n < 128; t = strtok_r(NULL, " ", &save))
        words[n++] = t;
    qsort(words, n, sizeof *words, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", words[i]);
}

/* Redis's members:CHAN, its member entries ("NODE UID" -> "nick!user@host")
 * as "NODE:nick!user@host" words, sorted (the channel's state, in fields
 * of one character such as "*" for the topic, is left out); "BAD:FIELD"
 * for a field that is neither. Read with a script: values may hold
 * spaces and newlines, which a flattened HGETALL would not keep apart. */
void members_of(const char *chan, char *out, size_t cap)
{
    static const char script[] =
        "local r = {}\n"
        "local h = redis.call('HGETALL', KEYS[1])\n"
        "for i = 1, #h, 2 do\n"
        "  local node = string.match(h[i], '^(%S+) %d+$')\n"
        "  if node then table.insert(r, node .. ':' .. string.match(h[i + 1], '^[^\\n]*'))\n"
        "  elseif #h[i] ~= 1 and string.sub(h[i], 1, 2) ~= 'i:' then\n"
        "    table.insert(r, 'BAD:' .. h[i])\n"
        "  end\n"
        "end\n"
        "table.sort(r)\n"
        "return table.concat(r, ' ')\n";
    char key[96];
    snprintf(key, sizeof key, KEYS "members:%s", chan);
    MX_REQUIRE(redis_cmd(redis.port, out, cap, "EVAL", script, "1", key, NULL) == 0,
               "HGETALL %s (by EVAL) failed: '%s'", key, out);
}

/* Polls Redis until members:CHAN is exactly want (words in any order)
 * or ms pass; fails then. */
void require_members(const char *chan, const char *want, int ms)
{
    char sorted[1024], have[1024];
    sorted_words(want, sorted, sizeof sorted);
    int64_t t0 = mx_now_ms();
    for (members_of(chan, have, sizeof have); strcmp(have, sorted) != 0;
         members_of(chan, have, sizeof have)) {
        MX_REQUIRE(mx_now_ms() - t0 < ms, "Redis: HGETALL " KEYS "members:%s is '%s' after "
                   "%d ms, want '%s'", chan, have, ms, sorted);
        mx_sleep_ms(20);
    }
}

/* u's next lines are the NAMES reply for chan (353s, then 366), listing
 * exactly the names in want (in any order). */
/* u's next lines, the NAMES reply for chan: its names sorted into have. */
static void read_names(struct user *u, const char *chan, char *have, size_t cap)
{
    const char *srv = w.n[u->node].srv, *nick = u->c.nick;
    char p353[160], end[160], names[2048] = "";
    snprintf(p353, sizeof p353, ":%s 353 %s = %s :", srv, nick, chan);
    snprintf(end, sizeof end, ":%s 366 %s %s :End of NAMES list", srv, nick, chan);
    size_t len = 0;
    for (;;) {
        int rc = irc_next(&u->c, T);
        MX_REQUIRE(rc == 1, "%s: the NAMES reply for %s did not end (%s); last lines:\n%s",
                   nick, chan, rc == 0 ? "EOF" : "nothing within 5 s", irc_recent(&u->c));
        if (strcmp(u->c.line, end) == 0)
            break;
        MX_REQUIRE(strncmp(u->c.line, p353, strlen(p353)) == 0, "%s: '%s' in the NAMES reply "
                   "for %s, want '%s...' or '%s'; last lines:\n%s", nick, u->c.line, chan, p353,
                   end, irc_recent(&u->c));
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? " " : "",
                                u->c.line + strlen(p353));
    }
    sorted_words(names, have, cap);
}

void expect_names(struct user *u, const char *chan, const char *want)
{
    char have[2048], w_sorted[2048];
    read_names(u, chan, have, sizeof have);
    sorted_words(want, w_sorted, sizeof w_sorted);
    MX_REQUIRE(strcmp(have, w_sorted) == 0, "%s: NAMES %s lists '%s', want '%s'", u->c.nick,
               chan, have, w_sorted);
}

int64_t names_become(struct user *u, const char *chan, const char *want, int ms)
{
    char have[2048], w_sorted[2048];
    sorted_words(want, w_sorted, sizeof w_sorted);
    int64_t t0 = mx_now_ms();
    for (;;) {
        MX_REQUIRE(irc_send(&u->c, "NAMES %s", chan) == 0);
        read_names(u, chan, have, sizeof have);
        if (strcmp(have, w_sorted) == 0)
            return mx_now_ms() - t0;
        MX_REQUIRE(mx_now_ms() - t0 < ms, "%s: NAMES %s lists '%s' after %d ms, want '%s'",
                   u->c.nick, chan, have, ms, w_sorted);
        mx_sleep_ms(20);
    }
}

void names_are(struct user *u, const char *chan, const char *want)
{
    MX_REQUIRE(irc_send(&u->c, "NAMES %s", chan) == 0);
    expect_names(u, chan, want);
}
