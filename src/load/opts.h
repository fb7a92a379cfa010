/* opts.h - muxd-load's command line: MODE [options] HOST:PORT (chat: or a
 * comma-separated list of them, one server per entry).
 *
 * Parsing never exits and never prints: it fills struct ld_opts or says
 * what is wrong in err, so main() decides (exit 2) and the unit tests can
 * check every mistake. The options live in one table (optab.c) that says
 * which modes take each one; the per-mode --help is printed from it.
 */
#ifndef MUXD_LOAD_OPTS_H
#define MUXD_LOAD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hcase.h"

enum ld_mode { LD_ECHO, LD_IDLE, LD_CHAT, LD_WORK, LD_HOSTILE, LD_NMODES };

#define LD_MAX_SIZE (1u << 20)
/* A chat message's text: IRC lines are at most 512 bytes with the relay's
 * prefix and the channel name, so the text must stay well below that. */
#define LD_CHAT_MAX_SIZE 400u
#define LD_MAX_DEPTH 65536u
#define LD_MAX_CONNS 1000000u
#define LD_MAX_THREADS 256u
/* A heavy request line without its '\n': "SLEEP 60000" at most. */
#define LD_HEAVY_LINE_MAX 16
#define LD_PREFIX_MAX 16
#define LD_CAPS_MAX 200
/* hostile: connect-flood's connections at most */
#define LD_FLOOD_CONNS_MAX 20000u
/* chat: servers in the HOST:PORT list; every mode: --server-pid's pids */
#define LD_MAX_TARGETS 16u
#define LD_MAX_SERVER_PIDS 16u
/* One entry of either list: "[v6addr]:port" with the longest host taken. */
#define LD_TARGET_TEXT_MAX 72

/* A server to connect to: one entry of the HOST:PORT list. */
struct ld_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[LD_TARGET_TEXT_MAX + 1]; /* the entry as given */
};

struct ld_opts {
    enum ld_mode mode;
    unsigned conns;          /* echo/idle/work: (light) connections; chat: clients */
    unsigned threads;        /* client threads, each with its own epoll loop */
    unsigned depth;          /* closed loop: messages in flight per connection */
    unsigned src_ips;        /* bind to 127.0.0.1 .. 127.0.0.K; 0 = let the kernel pick */
    unsigned heavy;          /* work: heavy connections beside the light ones */
    unsigned channels, senders;          /* chat */
    unsigned max_connect_failures;       /* tolerated failed connects */
    size_t size;             /* message bytes (chat: message text bytes) */
    double rate;             /* total messages/s; 0 = closed loop */
    double duration, warmup, drain;      /* seconds */
    double connect_rate;     /* connects per second; 0 = unlimited */
    bool json, lines;
    bool depth_set, rate_set;
    int server_pids[LD_MAX_SERVER_PIDS];  /* --server-pid: CPU time summed over them */
    unsigned nserver_pids;                /* 0 = none */
    char heavy_req[LD_HEAVY_LINE_MAX + 2];   /* "SPIN 50\n" */
    char heavy_reply[LD_HEAVY_LINE_MAX + 2]; /* "DONE 50\n" */
    char nick_prefix[LD_PREFIX_MAX + 1];
    char chan_prefix[LD_PREFIX_MAX + 1];
    char caps[LD_CAPS_MAX + 1];             /* chat: CAP REQ list, "" = none */
    /* hostile (hcase.h): the protocol, the cases (a mask of enum
     * ld_hcase), abusive connections per case, connect-flood's count */
    enum ld_hproto hproto;
    uint32_t hcases;
    const char *hcases_arg;  /* --cases as given, resolved once --proto is known */
    unsigned abusers, flood_conns;
    bool allow_remote;       /* hostile: a target outside loopback */
    const char *target;      /* HOST:PORT as given (chat: maybe a list) */
    struct ld_target targets[LD_MAX_TARGETS];
    unsigned ntargets;       /* 1 but in chat */
};

/* The server of client (connection) id: id % ntargets. */
static inline const struct ld_target *ld_target_of(const struct ld_opts *o, unsigned id)
{
    return &o->targets[id % o->ntargets];
}

enum { LD_PARSE_ERROR = -1, LD_PARSE_OK = 0, LD_PARSE_HELP = 1 };

/* argv[1] is the mode (or --help). Returns LD_PARSE_OK; LD_PARSE_HELP
 * when help was asked for (o->mode is LD_NMODES for the general help); or
 * LD_PARSE_ERROR with a one-line reason in err (main exits 2). */
int ld_parse_args(struct ld_opts *o, int argc, char **argv, char *err, size_t errlen);

/* The help of one mode, or the general help for LD_NMODES. */
void ld_print_usage(FILE *f, enum ld_mode mode);
const char *ld_mode_name(enum ld_mode mode);

#endif
