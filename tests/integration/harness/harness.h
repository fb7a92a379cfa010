/* harness.h - drive the real muxd binary ($MUXD_BIN) over loopback sockets.
 *
 * Four parts: the daemon process and its log (daemon.c, proc.c), blocking
 * client helpers with verifiable byte patterns (client.c), a many-client
 * epoll engine for load tests (load.c), and listening sockets for tests
 * that play the server (net.h, which needs no Criterion).
 *
 * Functions return 0 / a count on success and -1 or -errno on failure, so
 * tests decide what is fatal. Set MUXD_TEST_ECHO_LOG=1 to also copy the
 * daemon's log to stderr live. Every wait takes a timeout in milliseconds:
 * nothing here can block forever.
 */
#ifndef MUXD_TEST_HARNESS_H
#define MUXD_TEST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "net.h"

/* ---- the daemon ------------------------------------------------------ */

struct mx_daemon {
    bool active;               /* between daemon_start and daemon_cleanup */
    pid_t pid;                 /* 0 once reaped: never signal a stale pid */
    int status;                /* waitpid status, valid once reaped */
    int log_fd;                /* read end of the stdout+stderr pipe */
    pthread_t reader;
    bool reader_running;
    pthread_mutex_t mu;        /* guards the log fields below */
    pthread_cond_t grew;       /* signalled on new output and on EOF */
    char *log;                 /* NUL-terminated, grows without bound */
    size_t log_len, log_cap;
    bool log_eof;
    char conf_path[256];
};

/* Writes config_text to a temp file and runs "$MUXD_BIN -c FILE extra...".
 * extra is a NULL-terminated list or NULL. Does not wait for startup. */
int daemon_start_argv(struct mx_daemon *d, const char *config_text,
                      const char *const *extra);
static inline int daemon_start(struct mx_daemon *d, const char *config_text)
{
    return daemon_start_argv(d, config_text, NULL);
}
/* The same under a command that runs its arguments (prefix, NULL-terminated,
 * prefix[0] a path): "ip netns exec NS" puts the daemon in a network
 * namespace. The command must exec the daemon in place (as ip netns exec
 * does), so that d->pid is the daemon's own. */
int daemon_start_under(struct mx_daemon *d, const char *config_text,
                       const char *const *prefix, const char *const *extra);

/* true once the log contains needle (searched from byte offset from). */
bool daemon_wait_log_from(struct mx_daemon *d, size_t from,
                          const char *needle, int timeout_ms);
static inline bool daemon_wait_log(struct mx_daemon *d, const char *needle,
                                   int timeout_ms)
{
    return daemon_wait_log_from(d, 0, needle, timeout_ms);
}

/* A malloc'ed copy of the whole log so far (caller frees). */
char *daemon_log(struct mx_daemon *d);
size_t daemon_log_len(struct mx_daemon *d);
/* Occurrences of needle in the log so far. */
int daemon_log_count(struct mx_daemon *d, const char *needle);

/* The port of "listener NAME on ADDR:PORT", or -1 if not logged (yet). */
int daemon_port(struct mx_daemon *d, const char *listener);

int daemon_signal(struct mx_daemon *d, int sig);
bool daemon_alive(struct mx_daemon *d);
/* The raw waitpid status, or -1 if still running after timeout_ms. */
int daemon_wait_exit(struct mx_daemon *d, int timeout_ms);
/* SIGTERM, wait up to timeout_ms, SIGKILL as a last resort; then frees
 * everything. Returns the waitpid status (or -1 if none was obtained). */
int daemon_stop(struct mx_daemon *d, int timeout_ms);
/* Frees the log, the reader and the config file; kills (by pid) first if
 * the process still runs. Safe to call twice. */
void daemon_cleanup(struct mx_daemon *d);

/* Criterion .init / .fini for every suite. A failed assert leaves the test
 * function early, so mx_fini kills and cleans up every daemon this test
 * process started and did not clean up itself. */
void mx_init(void);
void mx_fini(void);

/* Prints the tail of every live daemon's log to stderr. */
void mx_dump_logs(void);

/* Like cr_assert, but shows the daemon logs first so failures can be
 * diagnosed from the ctest output alone. The condition is printed apart
 * from the message so a '%' in it cannot act as a format. */
#define MX_REQUIRE(cond, ...)                                   \
    do {                                                        \
        if (!(cond)) {                                          \
            mx_dump_logs();                                     \
            cr_log_error("requirement failed: %s", #cond);      \
            cr_assert_fail("" __VA_ARGS__);                     \
        }                                                       \
    } while (0)

/* Fails the test if a sanitizer in the daemon reported anything. */
void mx_require_clean_log(struct mx_daemon *d);

/* Starts a daemon from a static pool (so mx_fini can still reach it after
 * a failed assert unwinds the test) and waits up to 10 s for its
 * "started:" line, failing the test otherwise. */
struct mx_daemon *mx_boot(const char *config_text);
/* mx_boot under a command, as daemon_start_under. */
struct mx_daemon *mx_boot_under(const char *config_text, const char *const *prefix);
/* daemon_port that fails the test when the listener was not logged. */
int mx_port(struct mx_daemon *d, const char *listener);
/* SIGTERM, require exit status 0 within timeout_ms, keep the log readable
 * (daemon_cleanup still needed, mx_fini does it). */
void mx_stop_ok(struct mx_daemon *d, int timeout_ms);
/* Replaces the daemon's config file with text and sends SIGHUP; returns
 * where in the log to look for the reload's line. */
size_t mx_rewrite_and_hup(struct mx_daemon *d, const char *text);

/* ---- /proc ----------------------------------------------------------- */

/* VmRSS of pid in kB, or -1. */
long mx_rss_kb(pid_t pid);
static inline long daemon_rss_kb(struct mx_daemon *d) { return mx_rss_kb(d->pid); }
/* CPU time used so far by pid (utime + stime, all threads) in clock ticks
 * (sysconf(_SC_CLK_TCK) per second), or -1. */
long mx_cpu_ticks(pid_t pid);
/* Writes the names of pid's threads, newline separated, into buf. Returns
 * the thread count or -1. */
int mx_thread_names(pid_t pid, char *buf, size_t len);

/* Samples a daemon's VmRSS every 20 ms in a thread and keeps the maximum. */
struct mx_rss_watch {
    pid_t pid;
    pthread_t thread;
    volatile bool stop;
    long max_kb;
    int samples;
};
int mx_rss_watch_start(struct mx_rss_watch *w, pid_t pid);
long mx_rss_watch_stop(struct mx_rss_watch *w);

/* Waits until the server side of the IPv4 connection fd has read all that
 * fd sent: fd's send queue is empty and the peer socket's receive queue in
 * /proc/net/tcp is 0. true on success, false on timeout. */
bool mx_wait_peer_consumed(int fd, int timeout_ms);
/* Bytes the server side of fd has received but not read yet, or -1. */
long mx_peer_rx_queue(int fd);

/* ---- clients --------------------------------------------------------- */

int64_t mx_now_ms(void);
void mx_sleep_ms(int ms);

/* Blocking TCP socket connected to 127.0.0.1:port ([::1]:port for the 6
 * variant) with 10 s send/receive timeouts and TCP_NODELAY. -errno on
 * failure. */
int mx_connect(int port);
int mx_connect6(int port);
/* Same, with fixed kernel buffer sizes (0 = kernel default) set before
 * connecting: small client buffers keep data in the server's queue, where
 * the test means it to be, instead of in autotuned kernel buffers. */
int mx_connect_bufs(int port, int rcvbuf, int sndbuf);
/* The general form: kernel options set before connecting (0 = default).
 * A small mss keeps the server's send buffer small as well, which over
 * loopback's 64 KiB MSS the kernel would autotune to megabytes. */
struct mx_sockopts {
    int rcvbuf, sndbuf, mss;
    /* IPv4 only: the source address to bind before connecting ("127.0.0.5":
     * any 127/8 address is this host's), NULL for the kernel's choice. */
    const char *src;
    /* IPv4 only: the address to connect to, NULL for 127.0.0.1: a daemon
     * in a network namespace of the test's listens on the test's own
     * link into it, not on this host's loopback. */
    const char *dst;
};
int mx_connect_opts(int port, const struct mx_sockopts *o);
int mx_set_nonblock(int fd, bool on);
/* true once a new connection is refused, or accepted and closed without
 * us sending anything (the daemon has stopped accepting). */
bool mx_wait_not_accepting(int port, int timeout_ms);
/* Close with SO_LINGER {1,0}: the peer gets a RST. */
void mx_close_rst(int fd);

/* 0 or -errno (never raises SIGPIPE). */
int mx_send_all(int fd, const void *p, size_t n);
/* Receives exactly n bytes. Returns n, or the count received before EOF
 * (>= 0), -ETIMEDOUT or another -errno. */
ssize_t mx_recv_exact(int fd, void *p, size_t n, int timeout_ms);

enum mx_close_kind { MX_OPEN = 0, MX_EOF, MX_RESET };
/* Reads until the peer closes or timeout_ms; counts data bytes in *extra
 * (may be NULL). MX_OPEN means still open at the deadline. */
enum mx_close_kind mx_wait_closed(int fd, int timeout_ms, size_t *extra);
/* true if data arrives within timeout_ms (used to show nothing came). */
bool mx_readable_within(int fd, int timeout_ms);

/* Sends msg and requires the exact echo back; 0, or -1 with a reason. */
int mx_echo_roundtrip(int fd, const void *msg, size_t n, int timeout_ms);

/* Deterministic stream content: byte i of stream seed. Any lost, extra or
 * misplaced byte shows up as a mismatch. */
uint8_t mx_pattern_byte(uint32_t seed, uint64_t i);
void mx_pattern_fill(uint8_t *p, size_t n, uint32_t seed, uint64_t off);
/* Offset of the first byte of p that differs from the stream, or -1. */
int64_t mx_pattern_check(const uint8_t *p, size_t n, uint32_t seed, uint64_t off);

/* Writes pattern bytes without ever reading, non-blocking, until cap
 * bytes, timeout_ms, or a send error. Returns that error's errno, or 0 if
 * the cap or the deadline came first. */
int mx_flood(int fd, uint64_t cap, int timeout_ms, uint64_t *sent);

/* Streams n pattern bytes to fd (blocking), counting progress in *sent. */
int mx_send_pattern(int fd, uint32_t seed, uint64_t n, volatile uint64_t *sent);
/* A thread running mx_send_pattern(fd, seed, size, &sent), so the test
 * can read the echo meanwhile: a writer that also had to read would stop
 * sending just when the server stops reading, hiding backpressure. Fill in
 * fd, seed and size; start returns 0 or -errno, join the writer's result
 * (rc). After a failed read, shutdown(fd) unblocks the writer. */
struct mx_writer {
    int fd;
    uint32_t seed;
    uint64_t size;
    volatile uint64_t sent;
    int rc;
    pthread_t thread;
};
int mx_writer_start(struct mx_writer *w);
int mx_writer_join(struct mx_writer *w);

/* Receives and verifies n pattern bytes; 0, or -1 with why in err. */
int mx_recv_pattern(int fd, uint32_t seed, uint64_t n, int timeout_ms,
                    char *err, size_t errlen);

/* A helper process and a scratch directory a test owns, so that the
 * suite's .fini can stop and remove them (mx_child_cleanup: SIGKILL and
 * reap the pid, rm -rf the directory) if a failed assert skipped the
 * test's own cleanup. Zeroed: nothing to do. */
struct mx_child {
    pid_t pid;
    char dir[64];
};
void mx_child_cleanup(struct mx_child *c);
/* Forks and execs argv (argv[0] a path, argv NULL-terminated) as a child
 * of the test: stdin /dev/null, stdout and stderr on out (the test's own
 * if out < 0), every signal at its default and none blocked, no other
 * descriptor, SIGKILL should the test process die, and RLIMIT_NOFILE
 * nofile from birth when nofile > 0. The child's pid, or -errno if the
 * fork failed; an exec that fails says so on out and exits 127. */
pid_t mx_child_spawn(char *const argv[], int out, long nofile);

/* The sum of a metric family on the admin listener's /metrics (every
 * label set): one GET on admin_port. */
long mx_metric_sum(int admin_port, const char *name);

/* ---- many clients ---------------------------------------------------- */

struct mx_load_opts {
    int port;
    int clients;
    int messages;              /* per client */
    size_t min_msg, max_msg;   /* message sizes, deterministic per client */
    int pipeline;              /* messages in flight per client */
    int threads;               /* epoll loops, clients split evenly */
    int timeout_ms;            /* global deadline for the whole run */
    uint32_t seed_base;        /* streams differ between runs */
};

struct mx_load_result {
    int done;                  /* clients whose whole stream echoed back */
    int failed;                /* closed early, mismatch or error */
    int unfinished;            /* still going at the deadline */
    uint64_t bytes;            /* verified echo bytes */
    char first_error[256];
};

/* Runs the clients to completion or deadline; returns 0 iff every client
 * got its whole stream back byte for byte. */
int mx_load_run(const struct mx_load_opts *o, struct mx_load_result *r);
/* The same, and logs the outcome and how long it took (cr_log_info). */
int mx_load_run_logged(const struct mx_load_opts *o, struct mx_load_result *r);

#endif
