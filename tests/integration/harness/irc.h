/* irc.h - a small blocking IRC client for the chat tests, on top of the
 * harness: connect, register, send formatted lines, read lines with a
 * timeout and wait for one that matches.
 *
 * A client keeps the last lines it read (irc_recent) so that a failed
 * expectation can show what came instead. Every wait takes a timeout in
 * milliseconds; nothing here blocks forever.
 */
#ifndef MUXD_TEST_IRC_H
#define MUXD_TEST_IRC_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define IRC_T_LINE 2048        /* longest line kept (longer ones are cut) */
#define IRC_T_RECENT 12        /* lines remembered for failure messages */

struct irc {
    int fd;                    /* -1 when closed */
    bool eof;                  /* the server closed (or reset) */
    char nick[64];
    char line[IRC_T_LINE];     /* the last line read, without CR LF */
    char *rbuf;                /* bytes received, not yet returned as lines */
    size_t rlen, rcap;
    char recent[IRC_T_RECENT][160];
    unsigned nrecent;
};

/* Connects to 127.0.0.1:port (blocking socket, 10 s timeouts). rcvbuf and
 * sndbuf as in mx_connect_bufs (0 = kernel default). 0 or -errno. */
int irc_open(struct irc *c, int port);
int irc_open_bufs(struct irc *c, int port, int rcvbuf, int sndbuf);
/* The general form, with mx_connect_opts' options (a source address...). */
int irc_open_opts(struct irc *c, int port, const struct mx_sockopts *o);
void irc_close(struct irc *c);

/* Sends one line; CR LF is added. 0 or -errno. */
int irc_send(struct irc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends bytes as they are. 0 or -errno. */
int irc_send_raw(struct irc *c, const void *p, size_t n);

/* The next line into c->line: 1, 0 at EOF, -ETIMEDOUT or -errno. */
int irc_next(struct irc *c, int timeout_ms);

/* The command of a line (its numeric or word after the optional prefix),
 * copied into out. */
void irc_line_cmd(const char *line, char *out, size_t cap);
/* Parameter i (0-based, the trailing one included, its ':' dropped) of a
 * line, copied into out; false if there is none. */
bool irc_line_param(const char *line, int i, char *out, size_t cap);
/* Does line have command cmd (NULL = any) and contain text (NULL = any)? */
bool irc_line_is(const char *line, const char *cmd, const char *text);

/* Reads until a line with command cmd containing text (either may be
 * NULL) arrives; it is left in c->line. Lines before it are dropped.
 * Returns c->line, or NULL at timeout or EOF. */
const char *irc_expect(struct irc *c, const char *cmd, const char *text, int timeout_ms);
/* The next line must match, without skipping anything. */
const char *irc_expect_next(struct irc *c, const char *cmd, const char *text,
                            int timeout_ms);
/* true if no line arrives within ms (a line that does is kept in c->line). */
bool irc_quiet(struct irc *c, int ms);
/* Reads (and drops) lines until EOF; true if EOF came within timeout_ms. */
bool irc_wait_eof(struct irc *c, int timeout_ms);

/* The last lines read, oldest first, one per line: for failure messages.
 * Returns a static buffer. */
const char *irc_recent(const struct irc *c);

/* NICK and USER (user name user, real name "Test <nick>"), then waits for
 * the end of the welcome burst (376 or 422). 0, or -1 with c->line the
 * last line seen. */
int irc_register(struct irc *c, const char *nick, const char *user, int timeout_ms);
/* irc_open + irc_register. */
int irc_login(struct irc *c, int port, const char *nick, int timeout_ms);
/* JOIN chan [key] and wait for its 366. 0, or -1 (c->line: why). */
int irc_join(struct irc *c, const char *chan, const char *key, int timeout_ms);
/* Sends PING :token and reads up to its PONG; every line before it is
 * counted in *before when it has command cmd (NULL = any) and contains
 * text. 0, or -1 at timeout or EOF. A barrier for this client's own
 * worker: whatever that worker queued before is read by then. */
int irc_sync(struct irc *c, const char *token, const char *cmd, const char *text,
             int *before, int timeout_ms);

/* Fails the test (with the daemon logs and the client's recent lines)
 * unless the expectation holds. */
/* Many clients read by the test's own epoll loop (non-blocking sockets):
 * the partial line kept between reads of one. */
struct irc_lines {
    char part[1024];
    size_t plen;
};
/* Reads what fd has now and calls fn(arg, line) for each whole line (CR
 * LF stripped), keeping a partial one; the bytes irc_next had buffered
 * for c first, with irc_lines_take. 1 while fd is open, 0 at EOF or on
 * an error. */
int irc_lines_read(int fd, struct irc_lines *l, void (*fn)(void *arg, char *line), void *arg);
/* Moves what c read ahead (lines not yet returned) into l. */
void irc_lines_take(struct irc *c, struct irc_lines *l);

#define IRC_EXPECT(c, cmd, text, ms)                                            \
    MX_REQUIRE(irc_expect((c), (cmd), (text), (ms)),                            \
               "%s: no %s line containing '%s' within %d ms; last lines:\n%s",  \
               (c)->nick, (cmd) ? (cmd) : "(any)", (text) ? (text) : "", (ms),  \
               irc_recent(c))
#define IRC_EXPECT_NEXT(c, cmd, text, ms)                                       \
    MX_REQUIRE(irc_expect_next((c), (cmd), (text), (ms)),                       \
               "%s: next line is not %s containing '%s'; last lines:\n%s",      \
               (c)->nick, (cmd) ? (cmd) : "(any)", (text) ? (text) : "",        \
               irc_recent(c))
/* irc_login / irc_join (no key) that fail the test with the last lines. */
#define IRC_LOGIN(c, port, nick, ms)                                            \
    MX_REQUIRE(irc_login((c), (port), (nick), (ms)) == 0,                       \
               "%s cannot register; last lines:\n%s", (nick), irc_recent(c))
#define IRC_JOIN(c, chan, ms)                                                   \
    MX_REQUIRE(irc_join((c), (chan), NULL, (ms)) == 0,                          \
               "%s cannot join %s; last lines:\n%s", (c)->nick, (chan),         \
               irc_recent(c))

#endif
