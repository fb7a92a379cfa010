/* opts.c - echo_bench's command line (see opts.h). */
#include "opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The work service's longest request, in milliseconds. */
#define HEAVY_MAX_MS 60000ull

static void usage(FILE *f)
{
    fputs("usage: echo_bench -c CONNS -s SIZE -d DEPTH -t SECONDS [--warmup S] [--threads N]\n"
          "                  [--lines] [--heavy N [--heavy-line LINE]]\n"
          "                  [--json] [--server-pid PID] HOST:PORT\n"
          "       echo_bench --idle -c N [-s SIZE] [--lines] [--warm] HOST:PORT\n"
          "  -c, --conns N        connections (default 100)\n"
          "  -s, --size N         message size in bytes, k/m suffix allowed (default 64)\n"
          "  -d, --depth N        messages in flight per connection (default 1)\n"
          "  -t, --time S         measured seconds, after the warm-up (default 3)\n"
          "      --warmup S       seconds of load before measuring (default 1)\n"
          "      --threads N      client threads, each with its own epoll loop (default 1)\n"
          "      --lines          every message is one line: SIZE - 1 bytes without '\\n',\n"
          "                       then '\\n' (for line protocols such as muxd's work service)\n"
          "      --heavy N        N more connections, each sending the heavy line and\n"
          "                       waiting for its reply, back to back (implies --lines);\n"
          "                       latency and msgs/s stay those of the CONNS light ones\n"
          "      --heavy-line L   'SPIN <ms>' or 'SLEEP <ms>', answered 'DONE <ms>'\n"
          "                       (default 'SPIN 50')\n"
          "      --json           one JSON object on stdout instead of text\n"
          "      --server-pid PID read that process's CPU time over the measured window\n"
          "      --idle           open N connections, print 'ready N', hold them until\n"
          "                       SIGTERM/SIGINT or stdin EOF, then check each with a round trip\n"
          "      --warm           idle mode: one round trip per connection before 'ready'\n"
          "HOST is a numeric IPv4 address or [IPv6].\n",
          f);
}

__attribute__((format(printf, 1, 2)))
static _Noreturn void bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("echo_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    usage(stderr);
    exit(2);
}

/* A suffix multiplier for sizes: k and m are powers of 1024. */
static unsigned long long suffix_scale(char **end)
{
    unsigned long long scale = 1;
    if (**end == 'k' || **end == 'K')
        scale = 1024;
    else if (**end == 'm' || **end == 'M')
        scale = 1024 * 1024;
    if (scale > 1)
        (*end)++;
    return scale;
}

static unsigned long long parse_count(const char *opt, const char *s, unsigned long long lo,
                                      unsigned long long hi, bool suffix)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = errno == 0 && end != s && *s != '-';
    unsigned long long scale = suffix && ok ? suffix_scale(&end) : 1;
    if (!ok || *end || v > hi / scale || v * scale < lo)
        bad_usage("%s: expected a number from %llu to %llu, got '%s'", opt, lo, hi, s);
    return v * scale;
}

static double parse_seconds(const char *opt, const char *s, double lo)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo) || v > 3600.0)
        bad_usage("%s: expected seconds from %g to 3600, got '%s'", opt, lo, s);
    return v;
}

/* "SPIN <ms>" or "SLEEP <ms>", exactly one blank, ms from 0 to 60000 in
 * plain digits: the request line and the reply it must get. */
static void parse_heavy_line(struct opts *o, const char *s)
{
    const char *sp = strchr(s, ' ');
    size_t word = sp ? (size_t)(sp - s) : 0;
    bool known = (word == 4 && memcmp(s, "SPIN", 4) == 0) ||
                 (word == 5 && memcmp(s, "SLEEP", 5) == 0);
    const char *d = sp ? sp + 1 : s;
    size_t digits = strspn(d, "0123456789");
    if (!known || digits == 0 || d[digits] != '\0' ||
        strtoull(d, NULL, 10) > HEAVY_MAX_MS)
        bad_usage("--heavy-line: expected 'SPIN <ms>' or 'SLEEP <ms>' with ms from 0 to "
                  "%llu, got '%s'", HEAVY_MAX_MS, s);
    /* The work service answers with the number as it prints it. */
    unsigned long long ms = strtoull(d, NULL, 10);
    snprintf(o->heavy_req, sizeof o->heavy_req, "%.*s %llu\n", (int)word, s, ms);
    snprintf(o->heavy_reply, sizeof o->heavy_reply, "DONE %llu\n", ms);
}

/* "1.2.3.4:port" or "[v6]:port", numeric only: a benchmark should not
 * depend on name resolution. */
static void parse_target(struct opts *o, const char *s)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        bad_usage("expected HOST:PORT, got '%s'", s);
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    uint16_t port = htons((uint16_t)parse_count("port", colon + 1, 1, 65535, false));
    memset(&o->addr, 0, sizeof o->addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;
    bool bracketed = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    if (bracketed)
        host[hl - 1] = '\0';
    if (!bracketed && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = port;
        o->addrlen = sizeof *a4;
    } else if (bracketed && inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = port;
        o->addrlen = sizeof *a6;
    } else {
        bad_usage("expected a numeric IPv4 address or [IPv6] address, got '%s'", s);
    }
    o->target = s;
}

enum {
    OPT_WARMUP = 256, OPT_THREADS, OPT_JSON, OPT_PID, OPT_IDLE, OPT_WARM, OPT_LINES, OPT_HEAVY,
    OPT_HEAVY_LINE
};

static const struct option longs[] = {
    { "conns", required_argument, NULL, 'c' },   { "size", required_argument, NULL, 's' },
    { "depth", required_argument, NULL, 'd' },   { "time", required_argument, NULL, 't' },
    { "warmup", required_argument, NULL, OPT_WARMUP },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "json", no_argument, NULL, OPT_JSON },     { "server-pid", required_argument, NULL, OPT_PID },
    { "idle", no_argument, NULL, OPT_IDLE },     { "warm", no_argument, NULL, OPT_WARM },
    { "lines", no_argument, NULL, OPT_LINES },   { "heavy", required_argument, NULL, OPT_HEAVY },
    { "heavy-line", required_argument, NULL, OPT_HEAVY_LINE },
    { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
};

/* One option; false for one that getopt did not recognise. */
static bool take_option(struct opts *o, int ch, const char *arg)
{
    switch (ch) {
    case 'c': o->conns = (unsigned)parse_count("-c", arg, 1, 1000000, false); break;
    case 's': o->size = (size_t)parse_count("-s", arg, 1, MAX_SIZE, true); break;
    case 'd': o->depth = (unsigned)parse_count("-d", arg, 1, MAX_DEPTH, false); break;
    case 't': o->seconds = parse_seconds("-t", arg, 0.001); break;
    case OPT_WARMUP: o->warmup = parse_seconds("--warmup", arg, 0.0); break;
    case OPT_THREADS: o->threads = (unsigned)parse_count("--threads", arg, 1, 256, false); break;
    case OPT_JSON: o->json = true; break;
    case OPT_PID: o->server_pid = (pid_t)parse_count("--server-pid", arg, 1, 1u << 30, false); break;
    case OPT_IDLE: o->idle = true; break;
    case OPT_WARM: o->warm = true; break;
    case OPT_LINES: o->lines = true; break;
    case OPT_HEAVY: o->heavy = (unsigned)parse_count("--heavy", arg, 0, 10000, false); break;
    case OPT_HEAVY_LINE: parse_heavy_line(o, arg); break;
    case 'h': usage(stdout); exit(0);
    default: return false;
    }
    return true;
}

void parse_args(struct opts *o, int argc, char **argv)
{
    *o = (struct opts){ .conns = 100, .depth = 1, .threads = 1, .size = 64, .seconds = 3.0,
                        .warmup = 1.0 };
    parse_heavy_line(o, "SPIN 50");
    int ch;
    while ((ch = getopt_long(argc, argv, "c:s:d:t:h", longs, NULL)) != -1) {
        if (!take_option(o, ch, optarg)) {
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc - 1)
        bad_usage("%s", optind < argc ? "one HOST:PORT expected" : "HOST:PORT missing");
    parse_target(o, argv[optind]);
    if (o->heavy > 0 && o->idle)
        bad_usage("--heavy is for load mode, not --idle");
    if (o->heavy > 0)
        o->lines = true; /* the light lines share a line protocol with the heavy ones */
    if (o->threads > o->conns)
        o->threads = o->conns; /* a thread without connections has nothing to do */
}
