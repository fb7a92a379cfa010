/* echo_bench.c - closed-loop load generator and checker for an echo server.
 *
 *   echo_bench -c CONNS -s SIZE -d DEPTH -t SECONDS [--warmup S] [--threads N]
 *              [--lines] [--heavy N [--heavy-line LINE]]
 *              [--json] [--server-pid PID] HOST:PORT
 *   echo_bench --idle -c N [-s SIZE] [--lines] [--warm] HOST:PORT
 *
 * Load mode (load.c, engine.c): every connection keeps DEPTH messages of
 * SIZE bytes in flight and sends a new one as each echo completes (closed
 * loop), so the offered load follows what the server (or this client) can
 * do. Each thread runs its own epoll loop over its share of the
 * connections. Every echoed byte is compared with what was sent
 * (pattern.c); latency is taken from the moment a message is issued to the
 * moment its last byte is back. Only messages completed inside the
 * measured window (after the warm-up) are counted. With --server-pid the
 * server's CPU time (utime + stime from /proc/PID/stat) is read at both
 * ends of the window, here, so the window the CPU is charged to is exactly
 * the one the messages are counted in.
 *
 * --lines makes every message one newline-terminated line, for line
 * protocols. --heavy N adds N heavy connections (heavy.c), each sending a
 * request such as "SPIN 50" and waiting for its reply, back to back; the
 * latency and msgs/s reported stay those of the light connections, and
 * the heavy requests answered are reported apart (report.c).
 *
 * Idle mode (idle.c): opens N connections, prints "ready N", holds them
 * until SIGTERM or SIGINT (or EOF on stdin when stdin is a pipe or
 * terminal), then checks each one with a round trip and prints
 * "verified N".
 *
 * Exit status: 0 when everything was echoed intact, 1 on a mismatch, a
 * failed connect, a connection closed early or a stalled echo (with the
 * reason on stderr), 2 on a bad command line.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "conn.h"
#include "idle.h"
#include "load.h"
#include "opts.h"
#include "pattern.h"

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(&o, argc, argv);
    /* Blocked before any thread exists so every thread inherits the mask
     * and idle mode can take the signal from a signalfd; load mode keeps
     * the default action (die) by not blocking. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (o.idle)
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned total = o.conns + o.heavy; /* the heavy ones come last */
    if (fit_fd_limit(total) < 0)
        return 1;
    if (pat_init(o.lines, o.size) < 0) {
        fprintf(stderr, "echo_bench: out of memory for the pattern\n");
        return 1;
    }
    struct conn *cs = conns_new(&o, total);
    if (!cs) {
        fprintf(stderr, "echo_bench: out of memory for %u connections\n", total);
        pat_free();
        return 1;
    }
    int rc = connect_all(&o, cs, total);
    if (rc == 0)
        rc = o.idle ? idle_mode(&o, cs, &sigs) : load_mode(&o, cs);
    conns_free(cs, total);
    pat_free();
    return rc == 0 ? 0 : 1;
}
