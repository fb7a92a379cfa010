/* redis.h - a real Redis server (/usr/bin/redis-server) for the cluster
 * tests, run as a child of the test on a free loopback port, and a tiny
 * client that speaks Redis's protocol (RESP) by hand: the tests talk to
 * Redis on their own, independent of the code under test (which uses
 * hiredis).
 *
 * The server runs in the foreground with nothing persisted (--save "",
 * --appendonly no), its log in a scratch directory of its own. Every
 * started server is remembered until it is stopped: a suite's .fini calls
 * redis_fini() so that a failed assert, which leaves the test function
 * early, still stops it. Functions return 0 or -1 / -errno.
 */
#ifndef MUXD_TEST_REDIS_H
#define MUXD_TEST_REDIS_H

#include <stddef.h>

#include "harness.h"

#define MX_REDIS_BIN "/usr/bin/redis-server"

struct mx_redis {
    struct mx_child child;     /* the server's pid (0: not running) and its
                                * scratch directory (its log and --dir) */
    int port;                  /* 127.0.0.1:port, kept across restarts */
    char logfile[96];          /* child.dir/redis.log */
    char also_on[48];          /* an address it listens on besides 127.0.0.1, or "" */
};

/* Starts redis-server on a free loopback port (another port if that one
 * was taken meanwhile) and waits until it answers PING, within 5 s.
 * -ENOENT if redis-server is not installed; -1 if it did not come up
 * (its log's tail goes to the test's log). */
int redis_start(struct mx_redis *r);
/* The same, listening on addr (IPv4, an address of this host that is up)
 * as well: a node in a network namespace of the test reaches Redis over a
 * link the test can cut, while the test and the other nodes keep using
 * 127.0.0.1. */
int redis_start_also_on(struct mx_redis *r, const char *addr);
/* Stops the server and starts a new, empty one on the same port. */
int redis_restart(struct mx_redis *r);
/* SIGTERM (and SIGCONT, should it be stopped), wait, SIGKILL after 3 s;
 * removes the scratch directory. Idempotent; a zeroed r is fine. */
void redis_stop(struct mx_redis *r);
/* Sends sig (SIGSTOP, SIGCONT...) to the server. 0 or -errno. */
int redis_signal(struct mx_redis *r, int sig);
/* Stops every server started and not stopped yet: for a suite's .fini. */
void redis_fini(void);
/* The last bytes of the server's log (caller frees), or NULL. */
char *redis_log_tail(const struct mx_redis *r, size_t max);

/* Sends one command (arg0, ..., NULL: an array of bulk strings) to
 * 127.0.0.1:port on a new connection and reads one reply, rendered as
 * text into reply: a simple string, an error ("ERR ..."), an integer in
 * decimal and a bulk string as they are, a null "(nil)", an array its
 * elements joined by single spaces (nested arrays flattened). A reply
 * longer than len is cut. 0, or -1 on a connection error, a malformed
 * reply or no whole reply within 2 s. */
int redis_cmd(int port, char *reply, size_t len, const char *arg0, ...)
    __attribute__((sentinel));

#endif
