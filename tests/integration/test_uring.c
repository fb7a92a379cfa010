/* test_uring.c - pressure aimed at the io_uring backend: an exhausted
 * receive buffer ring, short sends to a slow reader, closes while a
 * receive and a send are in flight, and descriptor numbers reused at once.
 * Runs on every backend; each must pass all of it. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(uring, .init = mx_init, .fini = mx_fini, .timeout = 60);

/* Four 512-byte buffers per worker: 200 busy clients starve the ring over
 * and over. */
static const char tiny_ring_config[] =
    "[server]\n"
    "workers = 2\n"
    "uring_buffers = 4\n"
    "uring_buffer_size = 512\n"
    "[listener echo]\n"
    "listen = 127.0.0.1:0\n"
    "mode = raw\n";

static const char default_config[] =
    "[server]\n"
    "workers = 2\n"
    "[listener echo]\n"
    "listen = 127.0.0.1:0\n"
    "mode = raw\n";

#define EXH_CLIENTS 200
#define EXH_BYTES (64 * 1024)
#define EXH_CHUNK 4096

/* The connected clients of the exhaustion test (a failed assertion leaves
 * them to the end of the test's process). */
static int held[EXH_CLIENTS];

/* Bytes readable on fd right now, without waiting: 0 if none, -1 on EOF or
 * error (the daemon cut the connection). */
static long pending_now(int fd)
{
    char b[4096];
    ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT | MSG_PEEK);
    if (r > 0)
        return (long)r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return -1;
}

Test(uring, buffer_ring_exhaustion_then_no_spin)
{
    struct mx_daemon *d = mx_boot(tiny_ring_config);
    int port = mx_port(d, "echo");

    /* 1. 200 pipelining clients on the load engine: 32 messages of 2 KiB,
     *    8 in flight each, all at once. */
    struct mx_load_opts o = { .port = port, .clients = EXH_CLIENTS, .messages = 32,
                              .min_msg = 2048, .max_msg = 2048, .pipeline = 8,
                              .threads = 4, .timeout_ms = 15000, .seed_base = 1000 };
    struct mx_load_result r;
    int rc = mx_load_run_logged(&o, &r);
    MX_REQUIRE(rc == 0 && r.done == EXH_CLIENTS,
               "load: %d done, %d failed, %d unfinished: %s", r.done, r.failed,
               r.unfinished, r.first_error);

    /* 2. 200 clients that stay connected: each sends 64 KiB in 4 KiB
     *    chunks, round-robin over all of them, before anyone reads. The
     *    echo (< output_high_water) fits in the queues, so nobody blocks. */
    for (int i = 0; i < EXH_CLIENTS; i++)
        held[i] = -1;
    for (int i = 0; i < EXH_CLIENTS; i++) {
        held[i] = mx_connect(port);
        MX_REQUIRE(held[i] >= 0, "connect %d: %s", i, strerror(-held[i]));
    }
    uint8_t chunk[EXH_CHUNK];
    int64_t t0 = mx_now_ms();
    for (uint64_t off = 0; off < EXH_BYTES; off += EXH_CHUNK) {
        for (int i = 0; i < EXH_CLIENTS; i++) {
            mx_pattern_fill(chunk, sizeof chunk, 5000u + (uint32_t)i, off);
            int err = mx_send_all(held[i], chunk, sizeof chunk);
            MX_REQUIRE(err == 0, "client %d: send at offset %llu: %s", i,
                       (unsigned long long)off, strerror(-err));
        }
    }
    for (int i = 0; i < EXH_CLIENTS; i++) {
        char why[160];
        MX_REQUIRE(mx_recv_pattern(held[i], 5000u + (uint32_t)i, EXH_BYTES, 10000, why,
                                   sizeof why) == 0, "held client %d: %s", i, why);
    }
    cr_log_info("%d held clients: %d KiB each sent and verified in %lld ms", EXH_CLIENTS,
                EXH_BYTES / 1024, (long long)(mx_now_ms() - t0));
    for (int i = 0; i < EXH_CLIENTS; i++) {
        long extra = pending_now(held[i]);
        MX_REQUIRE(extra == 0, "held client %d: %s after its echo", i,
                   extra < 0 ? "cut off" : "extra bytes");
    }

    /* 3. No spin: all 200 connected and silent, the daemon sleeps. A recv
     *    re-armed on an empty ring in a loop would burn a core. */
    mx_sleep_ms(300);
    long c0 = mx_cpu_ticks(d->pid);
    mx_sleep_ms(2000);
    long c1 = mx_cpu_ticks(d->pid);
    long hz = sysconf(_SC_CLK_TCK);
    cr_log_info("idle with %d connections: %ld ticks of CPU in 2 s (%ld ticks/s)",
                EXH_CLIENTS, c1 - c0, hz);
    MX_REQUIRE(c0 >= 0 && c1 >= 0, "cannot read /proc/%d/stat", (int)d->pid);
    MX_REQUIRE((c1 - c0) * 10 < hz * 3, "daemon used %ld ticks (%ld/s) in 2 s with %d "
               "silent connections: spinning", c1 - c0, hz, EXH_CLIENTS);

    /* Still served after the pause, and nobody was cut meanwhile. */
    for (int i = 0; i < EXH_CLIENTS; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "after idle %d", i);
        MX_REQUIRE(mx_echo_roundtrip(held[i], msg, (size_t)n, 5000) == 0,
                   "held client %d: no echo after the idle period", i);
    }
    for (int i = 0; i < EXH_CLIENTS; i++)
        close(held[i]);
    mx_stop_ok(d, 10000);
}

/* A client whose echo the daemon cannot get rid of at once: a small
 * receive buffer keeps the window shut, and a small MSS keeps the daemon's
 * send buffer small too, so its sends come back short or stay in flight. */
static const struct mx_sockopts narrow = { .rcvbuf = 4096, .mss = 536 };

Test(uring, short_sends_to_a_slow_reader)
{
    struct mx_daemon *d = mx_boot(default_config);
    int port = mx_port(d, "echo");
    /* Every send of the daemon meets a nearly full buffer and comes back
     * short (or waits). */
    struct mx_writer w = { .seed = 77, .size = 2u << 20 };
    w.fd = mx_connect_opts(port, &narrow);
    MX_REQUIRE(w.fd >= 0, "connect: %s", strerror(-w.fd));
    MX_REQUIRE(mx_writer_start(&w) == 0);

    static const size_t sizes[] = { 700, 1500, 4096, 333, 2048, 97, 3000 };
    uint8_t buf[4096];
    uint64_t got = 0;
    unsigned reads = 0;
    int64_t t0 = mx_now_ms(), until = t0 + 15000;
    char why[200] = "";
    while (got < w.size && !why[0]) {
        size_t want = sizes[reads % (sizeof sizes / sizeof *sizes)];
        if (want > w.size - got)
            want = (size_t)(w.size - got);
        ssize_t r = recv(w.fd, buf, want, 0); /* 10 s SO_RCVTIMEO */
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(why, sizeof why, "%s after %llu of %llu echo bytes (%llu sent)",
                     r == 0 ? "EOF" : strerror(errno), (unsigned long long)got,
                     (unsigned long long)w.size, (unsigned long long)w.sent);
            break;
        }
        int64_t bad = mx_pattern_check(buf, (size_t)r, 77, got);
        if (bad >= 0)
            snprintf(why, sizeof why, "wrong echo byte at offset %llu",
                     (unsigned long long)(got + (uint64_t)bad));
        got += (uint64_t)r;
        if (++reads % 4 == 0)
            mx_sleep_ms(1);
        if (!why[0] && mx_now_ms() > until)
            snprintf(why, sizeof why, "only %llu of %llu echo bytes in 15 s",
                     (unsigned long long)got, (unsigned long long)w.size);
    }
    if (why[0])
        shutdown(w.fd, SHUT_RDWR); /* unblock the writer */
    mx_writer_join(&w);
    cr_log_info("slow reader: %llu bytes in %u reads, %lld ms", (unsigned long long)got,
                reads, (long long)(mx_now_ms() - t0));
    MX_REQUIRE(!why[0], "slow reader: %s", why);
    MX_REQUIRE(w.rc == 0, "writer: %s after %llu bytes", strerror(-w.rc),
               (unsigned long long)w.sent);
    MX_REQUIRE(pending_now(w.fd) == 0, "extra bytes or a cut after the 2 MiB echo");
    MX_REQUIRE(mx_echo_roundtrip(w.fd, "still here", 10, 5000) == 0,
               "connection not served after the slow read");
    close(w.fd);
    mx_stop_ok(d, 10000);
}

/* The sum of fn over pid's open descriptors (by their names in
 * /proc/PID/fd); -1 if that cannot be read. */
static int sum_fds(pid_t pid, int (*fn)(pid_t pid, const char *fd))
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n += fn(pid, e->d_name);
    closedir(dir);
    return n;
}

static int one(pid_t pid, const char *fd)
{
    (void)pid, (void)fd;
    return 1;
}

static int count_fds(pid_t pid)
{
    return sum_fds(pid, one);
}

#define CLOSE_ROUNDS 200
#define CLOSE_BYTES (256 * 1024)

Test(uring, close_with_recv_and_send_in_flight)
{
    struct mx_daemon *d = mx_boot(default_config);
    int port = mx_port(d, "echo");
    int fd = mx_connect(port);
    MX_REQUIRE(fd >= 0 && mx_echo_roundtrip(fd, "warm", 4, 5000) == 0, "first echo");
    close(fd);
    mx_sleep_ms(200);
    int fds_before = count_fds(d->pid);

    int64_t t0 = mx_now_ms();
    int waited = 0;
    for (int i = 0; i < CLOSE_ROUNDS; i++) {
        /* The echo of 256 KiB stalls in the daemon's send, while its
         * receive stays armed for the rest. */
        fd = mx_connect_opts(port, &narrow);
        MX_REQUIRE(fd >= 0, "round %d: connect: %s", i, strerror(-fd));
        uint64_t sent = 0;
        int err = mx_flood(fd, CLOSE_BYTES, 3000, &sent);
        MX_REQUIRE(err == 0 && sent >= CLOSE_BYTES, "round %d: sent %llu of %d bytes: %s",
                   i, (unsigned long long)sent, CLOSE_BYTES, err ? strerror(err) : "stalled");
        /* Every other round, wait for the first echo bytes so the send is
         * surely under way; otherwise close in the middle of the reads. */
        if (i % 2 == 0) {
            MX_REQUIRE(mx_readable_within(fd, 5000), "round %d: no echo within 5 s", i);
            waited++;
        }
        switch (i % 3) {
        case 0:
            mx_close_rst(fd);
            break;
        case 1:
            close(fd);
            break;
        default:
            shutdown(fd, SHUT_WR);
            if (i % 4 == 1)
                mx_sleep_ms(2);
            close(fd);
            break;
        }
    }
    cr_log_info("%d rounds of %d KiB then reset/close/half-close (%d waited for echo) in "
                "%lld ms", CLOSE_ROUNDS, CLOSE_BYTES / 1024, waited,
                (long long)(mx_now_ms() - t0));
    MX_REQUIRE(daemon_alive(d), "muxd died during the closes");

    /* Fresh clients are served. */
    fd = mx_connect(port);
    MX_REQUIRE(fd >= 0, "fresh connect: %s", strerror(-fd));
    MX_REQUIRE(mx_echo_roundtrip(fd, "fresh client", 12, 5000) == 0,
               "no echo for a fresh client after the closes");
    close(fd);
    struct mx_load_opts o = { .port = port, .clients = 20, .messages = 20, .min_msg = 100,
                              .max_msg = 8000, .pipeline = 4, .threads = 1,
                              .timeout_ms = 10000, .seed_base = 9000 };
    struct mx_load_result r;
    MX_REQUIRE(mx_load_run(&o, &r) == 0, "load after the closes: %d done, %d failed: %s",
               r.done, r.failed, r.first_error);

    /* Every closed connection's socket is gone from the daemon. */
    int fds_after = -1;
    for (int64_t until = mx_now_ms() + 3000; mx_now_ms() < until; mx_sleep_ms(50))
        if ((fds_after = count_fds(d->pid)) <= fds_before)
            break;
    cr_log_info("daemon descriptors: %d before, %d after", fds_before, fds_after);
    MX_REQUIRE(fds_before > 0 && fds_after >= 0 && fds_after <= fds_before,
               "daemon holds %d descriptors, %d before the closes", fds_after, fds_before);
    mx_stop_ok(d, 10000);
}

/* Inode of the established IPv4 TCP socket local:lport -> remote:rport on
 * loopback, or 0: one exact sock_diag lookup (reading /proc/net/tcp would
 * crawl through every TIME_WAIT entry this test leaves behind). */
static unsigned long tcp_inode(unsigned lport, unsigned rport)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return 0;
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 req;
    } q;
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_len = sizeof q;
    q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nh.nlmsg_flags = NLM_F_REQUEST;
    q.req.sdiag_family = AF_INET;
    q.req.sdiag_protocol = IPPROTO_TCP;
    q.req.idiag_states = 1u << 1; /* TCP_ESTABLISHED */
    q.req.id.idiag_sport = htons((uint16_t)lport);
    q.req.id.idiag_dport = htons((uint16_t)rport);
    q.req.id.idiag_src[0] = htonl(INADDR_LOOPBACK);
    q.req.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
    q.req.id.idiag_cookie[0] = q.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl k = { .nl_family = AF_NETLINK };
    unsigned long inode = 0;
    long ans[2048];
    if (sendto(nl, &q, sizeof q, 0, (struct sockaddr *)&k, sizeof k) == (ssize_t)sizeof q) {
        struct timeval tv = { 2, 0 };
        setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(nl, ans, sizeof ans, 0);
        struct nlmsghdr *h = (struct nlmsghdr *)ans;
        if (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            inode = m->idiag_inode;
        }
    }
    close(nl);
    return inode;
}

/* The daemon's descriptor number for the connection of client fd cfd, or
 * -1: the server socket's inode, then the fd that links to it. */
static int server_fd_of(pid_t pid, int cfd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(cfd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    unsigned mine = ntohs(a.sin_port);
    len = sizeof a;
    if (getpeername(cfd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    unsigned long inode = tcp_inode(ntohs(a.sin_port), mine);
    if (!inode)
        return -1;
    char want[64], path[64], link[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        ssize_t n = readlinkat(dirfd(dir), e->d_name, link, sizeof link - 1);
        if (n > 0) {
            link[n] = '\0';
            if (strcmp(link, want) == 0)
                found = atoi(e->d_name);
        }
    }
    closedir(dir);
    return found;
}

/* true once the daemon's descriptor sfd no longer names the socket it did. */
static bool wait_fd_closed(pid_t pid, int sfd, const char *was, int timeout_ms)
{
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, sfd);
    int64_t until = mx_now_ms() + timeout_ms;
    do {
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n < 0)
            return true;
        link[n] = '\0';
        if (strcmp(link, was) != 0)
            return true;
        mx_sleep_ms(1);
    } while (mx_now_ms() < until);
    return false;
}

static int fd_link(pid_t pid, int sfd, char *out, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, sfd);
    ssize_t n = readlink(path, out, len - 1);
    if (n < 0)
        return -1;
    out[n] = '\0';
    return 0;
}

/* Sends n bytes of stream seed from off and requires exactly them back;
 * on failure says whether the bytes came from stream other_seed. */
static int echo_pattern(int fd, uint32_t seed, uint64_t off, size_t n, uint32_t other_seed,
                        char *why, size_t len)
{
    uint8_t out[2048], in[2048];
    mx_pattern_fill(out, n, seed, off);
    int err = mx_send_all(fd, out, n);
    if (err < 0) {
        snprintf(why, len, "send: %s", strerror(-err));
        return -1;
    }
    ssize_t r = mx_recv_exact(fd, in, n, 5000);
    if (r != (ssize_t)n) {
        snprintf(why, len, "got %zd of %zu echo bytes%s%s", r < 0 ? (ssize_t)0 : r, n,
                 r < 0 ? ": " : "", r < 0 ? strerror((int)-r) : "");
        return -1;
    }
    int64_t bad = mx_pattern_check(in, n, seed, off);
    if (bad >= 0) {
        /* Where do the foreign bytes come from? */
        size_t run = n - (size_t)bad < 8 ? n - (size_t)bad : 8;
        int64_t from = -1;
        for (uint64_t o = 0; o < 256 * 1024 && from < 0 && run >= 4; o++)
            if (mx_pattern_check(in + bad, run, other_seed, o) < 0)
                from = (int64_t)o;
        if (from >= 0)
            snprintf(why, len, "wrong byte at %lld of %zu: it is byte %lld of the previous "
                     "client's stream", (long long)bad, n, (long long)from);
        else
            snprintf(why, len, "wrong byte at %lld of %zu", (long long)bad, n);
        return -1;
    }
    return 0;
}

#define REUSE_ROUNDS 500

Test(uring, fd_reused_right_after_close)
{
    struct mx_daemon *d = mx_boot("[server]\nworkers = 1\n"
                                  "[listener echo]\nlisten = 127.0.0.1:0\nmode = raw\n");
    int port = mx_port(d, "echo");
    int reused = 0, reused_immediate = 0, located = 0;
    int64_t t0 = mx_now_ms();
    for (int i = 0; i < REUSE_ROUNDS; i++) {
        uint32_t sa = 100000u + 2u * (uint32_t)i, sb = sa + 1;
        size_t na = 64 + (size_t)(i * 37) % 1900, nb = 64 + (size_t)(i * 53) % 1900;
        char why[200];

        /* Half the rounds, A leaves a 128 KiB tail behind as it goes: on a
         * narrow connection its echo is still in the daemon's send (and
         * more input in its receive) when A resets or closes. */
        bool tail = i % 2 == 0;
        int a = tail ? mx_connect_opts(port, &narrow) : mx_connect(port);
        MX_REQUIRE(a >= 0, "round %d: connect A: %s", i, strerror(-a));
        MX_REQUIRE(echo_pattern(a, sa, 0, na, sb, why, sizeof why) == 0,
                   "round %d, client A: %s", i, why);
        char a_link[64] = "";
        int a_sfd = server_fd_of(d->pid, a);
        if (a_sfd >= 0 && fd_link(d->pid, a_sfd, a_link, sizeof a_link) < 0)
            a_sfd = -1;
        if (tail) {
            static uint8_t rest[128 * 1024];
            mx_pattern_fill(rest, sizeof rest, sa, na);
            (void)mx_send_all(a, rest, sizeof rest);
        }
        if ((i / 2) % 2 == 0)
            mx_close_rst(a);
        else
            close(a);
        /* Every third round waits until the daemon closed A's socket, so
         * that B surely gets its number; the others race. */
        bool waited = i % 3 == 0 && a_sfd >= 0;
        if (waited)
            MX_REQUIRE(wait_fd_closed(d->pid, a_sfd, a_link, 5000),
                       "round %d: the daemon kept A's socket (fd %d) for 5 s", i, a_sfd);

        int b = mx_connect(port);
        MX_REQUIRE(b >= 0, "round %d: connect B: %s", i, strerror(-b));
        MX_REQUIRE(echo_pattern(b, sb, 0, nb, sa, why, sizeof why) == 0,
                   "round %d, client B (A was on daemon fd %d): %s", i, a_sfd, why);
        /* A second message catches stray bytes that came after the first. */
        MX_REQUIRE(echo_pattern(b, sb, nb, 200, sa, why, sizeof why) == 0,
                   "round %d, client B second message: %s", i, why);
        int b_sfd = server_fd_of(d->pid, b);
        MX_REQUIRE(pending_now(b) == 0, "round %d: B got bytes it did not send", i);
        if (a_sfd >= 0 && b_sfd >= 0) {
            located++;
            if (a_sfd == b_sfd) {
                reused++;
                reused_immediate += !waited;
            }
        }
        close(b);
    }
    cr_log_info("%d rounds in %lld ms: daemon fd located in %d, reused in %d (%d of them "
                "without waiting)", REUSE_ROUNDS, (long long)(mx_now_ms() - t0), located,
                reused, reused_immediate);
    /* Without reuse the test would prove nothing. */
    MX_REQUIRE(reused > 0, "the daemon never reused a descriptor number (%d rounds "
               "located)", located);
    mx_stop_ok(d, 10000);
}

static bool forced_off(const char *key)
{
    const char *keys = getenv("MUXD_TEST_SERVER_KEYS");
    char off[64];
    snprintf(off, sizeof off, "%s = off", key);
    return keys && strstr(keys, off);
}

/* The log names the receive-buffer modes in force: incremental and
 * bundles by default (off only where the kernel lacks them), off when
 * forced, as the suite's io_uring_whole and io_uring_plain variants do
 * (tests/CMakeLists.txt). Every other test here then runs on them. The
 * ring's size follows (uring_buffers = auto): 32 buffers that receives
 * pack into, or 256 whole ones. */
Test(uring, receive_buffer_mode_logged)
{
    const char *be = getenv("MUXD_TEST_BACKEND");
    if (!be || strcmp(be, "io_uring") != 0)
        cr_skip_test("io_uring only");
    struct mx_daemon *d = mx_boot(default_config);
    MX_REQUIRE(daemon_wait_log(d, "io_uring: receive buffers: ", 5000),
               "no receive-buffer line in the log");
    if (forced_off("uring_incremental"))
        MX_REQUIRE(daemon_log_count(d, ": 256 x 8192 bytes per worker, whole "
                                       "(uring_incremental = off);") == 1,
                   "forced off, but the log does not say 256 whole buffers");
    else
        MX_REQUIRE(daemon_log_count(d, ": 32 x 8192 bytes per worker, incremental;") == 1 ||
                       daemon_log_count(d, ": 256 x 8192 bytes per worker, whole (this kernel") ==
                           1,
                   "neither 32 incremental buffers nor the kernel's refusal in the log");
    if (forced_off("uring_bundles"))
        MX_REQUIRE(daemon_log_count(d, "; bundles off (uring_bundles = off)") == 1,
                   "bundles forced off, but the log does not say so");
    else
        MX_REQUIRE(daemon_log_count(d, "; bundles on") == 1 ||
                       daemon_log_count(d, "; bundles off (this kernel has none") == 1,
                   "neither bundles on nor the kernel's lack of them in the log");
    if (forced_off("uring_fixed_files"))
        MX_REQUIRE(daemon_log_count(d, "; fixed files off (uring_fixed_files = off)") == 1,
                   "fixed files forced off, but the log does not say so");
    else
        MX_REQUIRE(daemon_log_count(d, "; fixed files on") == 1 ||
                       daemon_log_count(d, "; fixed files off (this kernel") == 1 ||
                       daemon_log_count(d, "; fixed files off (the kernel refused") == 1,
                   "neither fixed files on nor the kernel's refusal in the log");
    mx_stop_ok(d, 10000);
}

/* 512-byte buffers, so a sender of 64 KiB messages leaves more than one
 * buffer's worth queued at most receives. */
static const char small_buffers_config[] =
    "[server]\n"
    "workers = 2\n"
    "uring_buffers = 256\n"
    "uring_buffer_size = 512\n"
    "[listener echo]\n"
    "listen = 127.0.0.1:0\n"
    "mode = raw\n"
    "[admin]\n"
    "listen = 127.0.0.1:0\n";

/* Receive bundles are used where they are on, and only there: 16 clients
 * echo 64 KiB messages, 4 in flight, every byte checked by the load
 * engine, through buffers an eighth of a message's size. A bundle is a
 * completion carrying more than its first buffer had room for, counted
 * in muxd_uring_bundle_receives_total. */
Test(uring, bundles_fill_several_buffers)
{
    const char *be = getenv("MUXD_TEST_BACKEND");
    struct mx_daemon *d = mx_boot(small_buffers_config);
    struct mx_load_opts o = { .port = mx_port(d, "echo"), .clients = 16, .messages = 16,
                              .min_msg = 65536, .max_msg = 65536, .pipeline = 4,
                              .threads = 2, .timeout_ms = 20000, .seed_base = 77 };
    struct mx_load_result r;
    int rc = mx_load_run_logged(&o, &r);
    MX_REQUIRE(rc == 0 && r.done == 16, "load: %d done, %d failed, %d unfinished: %s", r.done,
               r.failed, r.unfinished, r.first_error);
    long bundles = mx_metric_sum(mx_port(d, "admin"), "muxd_uring_bundle_receives_total");
    bool on = be && strcmp(be, "io_uring") == 0 && daemon_log_count(d, "; bundles on") == 1;
    cr_log_info("backend %s, bundles %s: %ld bundled receives", be ? be : "?",
                on ? "on" : "off", bundles);
    if (on)
        MX_REQUIRE(bundles > 0, "bundles on, yet no receive filled more than one buffer");
    else
        MX_REQUIRE(bundles == 0, "bundles off, yet %ld receives counted as bundles", bundles);
    mx_stop_ok(d, 10000);
}

/* Sockets in the file table of ring fd of pid, as the kernel lists them
 * in its fdinfo ("   7: socket:[1234]"); 0 for any other descriptor. */
static int table_sockets(pid_t pid, const char *fd)
{
    char path[96], target[64] = "";
    snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, fd);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len <= 0 || !strstr(target, "io_uring"))
        return 0;
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", (int)pid, fd);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    unsigned slot;
    int n = 0;
    /* %n, not the count of conversions: that is 1 for any line that
     * starts with a number, such as a completion waiting in the ring. */
    while (fgets(line, sizeof line, f)) {
        int end = 0;
        if (sscanf(line, " %u: socket:%n", &slot, &end) == 1 && end > 0)
            n++;
    }
    fclose(f);
    return n;
}

static int fixed_sockets(pid_t pid)
{
    return sum_fds(pid, table_sockets);
}

/* With fixed files on, each connection's socket is in its worker's ring's
 * file table exactly while it is open, on both workers, and out of it
 * once closed (a socket left there would never really close); with them
 * off, and on the other backends, the tables hold none. */
Test(uring, fixed_files_hold_each_open_connection)
{
    enum { N = 20 };
    const char *be = getenv("MUXD_TEST_BACKEND");
    struct mx_daemon *d = mx_boot(default_config);
    bool on = be && strcmp(be, "io_uring") == 0 && daemon_log_count(d, "; fixed files on") == 1;
    int fd[N];
    for (int i = 0; i < N; i++) {
        fd[i] = mx_connect(mx_port(d, "echo"));
        MX_REQUIRE(fd[i] >= 0, "connect %d", i);
        MX_REQUIRE(mx_echo_roundtrip(fd[i], "ping", 4, 5000) == 0, "echo on %d", i);
    }
    int in_table = fixed_sockets(d->pid);
    cr_log_info("backend %s, fixed files %s: %d sockets in the tables", be ? be : "?",
                on ? "on" : "off", in_table);
    MX_REQUIRE(in_table == (on ? N : 0), "%d sockets in the file tables with %d open", in_table,
               N);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    int64_t until = mx_now_ms() + 5000;
    while ((in_table = fixed_sockets(d->pid)) != 0 && mx_now_ms() < until)
        usleep(20 * 1000);
    MX_REQUIRE(in_table == 0, "%d sockets still in the file tables after every client left",
               in_table);
    mx_stop_ok(d, 10000);
}
