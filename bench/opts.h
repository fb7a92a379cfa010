/* opts.h - echo_bench's command line. */
#ifndef ECHO_BENCH_OPTS_H
#define ECHO_BENCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define MAX_SIZE (1u << 20)
#define MAX_DEPTH 65536u
/* A heavy request line, without its '\n': "SLEEP 60000" at most. */
#define HEAVY_LINE_MAX 16

struct opts {
    unsigned conns, depth, threads;
    size_t size;
    double seconds, warmup;
    bool json, idle, warm, lines;
    pid_t server_pid;
    unsigned heavy;                    /* heavy connections beside the conns */
    char heavy_req[HEAVY_LINE_MAX + 2];   /* "SPIN 50\n" */
    char heavy_reply[HEAVY_LINE_MAX + 2]; /* "DONE 50\n" */
    const char *target;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* Fills o from the command line; prints usage and exits 0 for --help, 2
 * on anything wrong. */
void parse_args(struct opts *o, int argc, char **argv);

#endif
