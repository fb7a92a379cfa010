/* cluster.h - the world of the cluster tests (test_cluster.c: the bus;
 * test_cluster_nicks.c: nicks across nodes; test_cluster_chan.c: channels
 * across nodes;
 * test_cluster_netns.c: a node cut off by a real partition): one real
 * Redis (harness/redis.h), three muxd nodes a, b and c on it, and their
 * clients; the helpers the files use to start, read and check it.
 *
 * A test starts the world with setup_nodes() (or, for the numbered
 * traffic of test_cluster.c, its own setup on top of it) and ends it with
 * teardown(). A suite's .fini must call redis_fini() before mx_fini(), so
 * that a failed assert still stops Redis. */
#ifndef MUXD_TEST_CLUSTER_H
#define MUXD_TEST_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "irc.h"
#include "redis.h"

#define T 5000                 /* ms: the wait for any one expected thing */
#define NODES 3
#define MAXC 12                /* clients in a test */
#define MAXS 2                 /* senders in a test */
#define REDIS_TIMEOUT_MS 1000  /* the nodes' redis_timeout */
#define SYNC_MS 10000          /* a SYNC must get through within this */
#define DELIVERY_MS 20000      /* the whole numbered traffic must arrive by then */
#define DUP_WAIT_MS 300        /* after that, how long a duplicate has to show */
#define HEARTBEAT_MS 500       /* the nodes' heartbeat */
#define KEYS "muxd:chat:"      /* the network "chat" (the listener's name) in Redis */

/* ---- the world: Redis, three nodes, their clients ----------------------- */

struct node {
    struct mx_daemon *d;
    char name[2];              /* "a", "b", "c" */
    char srv[32];              /* its chat server_name: "a.test.muxd" */
    int chat, admin;           /* ports */
    bool killed;               /* SIGKILLed and reaped by the test */
};

/* A client of test_cluster.c's numbered traffic (w.c). */
struct cl {
    struct irc c;
    struct irc_lines l;        /* the partial line between reads */
    int node;
    bool eof;
    /* Per sender (index into w.sender): */
    int next[MAXS];            /* the next seq expected; 1 at first */
    int loose_upto[MAXS];      /* seqs up to this may be missing (an outage) */
    int sync_seen[MAXS];       /* sync lines of the current round */
    int notes[MAXS];           /* NOTICEs */
    char outage[256];          /* the seqs <= loose_upto that came */
};

struct world {
    struct node n[NODES];
    struct cl c[MAXC];
    int nc;
    int sender[MAXS];          /* index into c */
    int ns;
    int sync_tag[MAXS];        /* the current round of each sender's SYNC */
    long errors;
    char first_error[512];
};

extern struct mx_redis redis;  /* the test's Redis */
extern struct world w;         /* zeroed by setup_nodes() */

/* A client of one node, and the user name it registered with. */
struct user {
    struct irc c;
    int node;
    char user[16];
};

/* ---- log lines and metrics ---------------------------------------------- */

/* The line node logs when Redis is up for it. */
void up_line(char *out, size_t cap, int node);
/* The same for a node that reaches Redis at host (test_cluster_netns.c:
 * from a network namespace, over a link of the test's). */
void up_line_at(char *out, size_t cap, int node, const char *host);
/* The start of the line every node logs when Redis is down. */
void down_line(char *out, size_t cap);
/* The same for a node that reaches Redis at host. */
void down_line_at(char *out, size_t cap, const char *host);
/* Where needle is in d's log at or after from, or -1. */
long log_find(struct mx_daemon *d, size_t from, const char *needle);
/* The sum of metric name on node's admin port. */
long metric(int node, const char *name);
/* Polls name on node until lo <= value <= hi or ms pass; the last value. */
long metric_within(int node, const char *name, long lo, long hi, int ms);
/* Logs every node's cluster metrics, when saying when. */
void log_metrics(const char *when);
/* Every node logs down (at or after from[i], within down_ms) and then up
 * again after that (within up_ms). */
void require_down_then_up(const size_t from[NODES], int down_ms, int up_ms);
/* Every node's muxd_cluster_redis_up is 1 (within 2 s). */
void require_all_up(void);
/* Each node's log length now, into from. */
void log_positions(size_t from[NODES]);

/* ---- setup and teardown ---------------------------------------------- */

/* Starts Redis; skips the test if redis-server is not installed. */
void start_redis(void);
/* Boots node i on Redis and waits for its 'up' line. */
void boot_node(int i);
/* The same with Redis reached at redis_host (Redis listens there too: see
 * redis_start_also_on), the node's listeners on listen_host, and the node
 * run under prefix (mx_boot_under: "ip netns exec NS"; NULL for none). Its
 * admin port is on listen_host, which mx_metric_sum (127.0.0.1) does not
 * reach unless that is 127.0.0.1. */
void boot_node_at(int i, const char *redis_host, const char *listen_host,
                  const char *const *prefix);
/* Redis and nodes a, b and c, without clients (w zeroed first). */
void setup_nodes(void);
/* Closes w's clients, stops the nodes (a killed one: its log checked) and
 * Redis. */
void teardown(void);

/* ---- clients: lines, nicks ---------------------------------------------- */

/* Registers nick (user name "u<nick>") on node. */
void login(struct user *u, int node, const char *nick);
/* c's next line is exactly the one formatted: nothing else came first. */
void expect_line(struct irc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends raw bytes (lines with their CR LF). */
void send_raw(struct irc *c, const char *text);
/* Redis's value of nick's key (casefolded nick): "NODE ID" or "(nil)". */
void nick_key(const char *nick, char *out, size_t cap);
/* Is v "NODE ID" for a client of node (node < 0: "(nil)")? */
bool held_by(const char *v, int node);
/* Polls Redis until nick's key names a client of node (node < 0: no key)
 * or ms pass; fails then. How long it took. */
int64_t require_holder(const char *nick, int node, int ms);
/* Registered u asks for nick, which a client somewhere holds: 433. */
void nick_refused(struct user *u, const char *nick);
/* Registered u takes nick: its NICK line. */
void nick_taken(struct user *u, const char *nick);
/* Reads up to the end of the welcome burst: the MOTD's end, or 422. */
void expect_burst_end(struct irc *c);
/* The welcome's first line, for a client registering as nick!user, and
 * the rest of the burst. */
void expect_welcome(struct irc *c, int node, const char *nick, const char *user);

/* ---- channels: subscribers, members, NAMES ------------------------------ */

/* How many nodes hear channel chan's subject, as Redis counts them. */
long subscribers(const char *chan);
/* Waits until n nodes hear chan (see cluster.c). */
void require_subscribers(const char *chan, long n);
/* The words of s, sorted, joined by single spaces into out. */
void sorted_words(const char *s, char *out, size_t cap);
/* Redis's members:CHAN as sorted "NODE:nick!user@host" words. */
void members_of(const char *chan, char *out, size_t cap);
/* Polls Redis until members:CHAN is exactly want (words in any order)
 * or ms pass; fails then. */
void require_members(const char *chan, const char *want, int ms);
/* u's next lines are the NAMES reply for chan, exactly the names in want
 * (in any order). */
void expect_names(struct user *u, const char *chan, const char *want);
/* Asks NAMES chan and checks the reply as expect_names. */
void names_are(struct user *u, const char *chan, const char *want);
/* Asks NAMES chan until the reply is want (as expect_names) or ms pass;
 * fails then. How long it took. For what another node writes to the
 * network's lists as it applies a line it received. */
int64_t names_become(struct user *u, const char *chan, const char *want, int ms);

#endif
