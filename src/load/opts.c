/* opts.c - parsing muxd-load's command line (see opts.h; the table of
 * options is in optab.c). Every check says what it wanted and what it got,
 * in err, and returns LD_PARSE_ERROR: nothing here exits or prints. */
#include "opts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "optab.h"

/* The work service's longest request, in milliseconds. */
#define HEAVY_MAX_MS 60000ull
#define MAX_SECONDS 86400.0
#define MAX_RATE 1e9

/* Where the reason goes; one per parse. */
struct perr {
    char *buf;
    size_t len;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct perr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->buf, e->len, fmt, ap);
    va_end(ap);
    return LD_PARSE_ERROR;
}

/* A suffix multiplier for sizes: k and m are powers of 1024. */
static unsigned long long suffix_scale(const char **end)
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

static int parse_count(struct perr *e, const char *opt, const char *s, unsigned long long lo,
                       unsigned long long hi, bool suffix, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = errno == 0 && end != s && isdigit((unsigned char)*s);
    const char *rest = end;
    unsigned long long scale = suffix && ok ? suffix_scale(&rest) : 1;
    if (!ok || *rest || v > hi / scale || v * scale < lo)
        return fail(e, "%s: expected a number from %llu to %llu, got '%s'", opt, lo, hi, s);
    *out = v * scale;
    return 0;
}

static int parse_unsigned(struct perr *e, const char *opt, const char *s, unsigned lo,
                          unsigned hi, unsigned *out)
{
    unsigned long long v;
    if (parse_count(e, opt, s, lo, hi, false, &v) < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Seconds or a rate: a plain decimal number in [lo, hi]. */
static int parse_real(struct perr *e, const char *opt, const char *s, double lo, double hi,
                      bool lo_open, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    bool ok = end != s && !*end && errno == 0 && (isdigit((unsigned char)*s) || *s == '.');
    if (!ok || v < lo || (lo_open && v <= lo) || v > hi)
        return fail(e, "%s: expected a number %s %g and at most %g, got '%s'", opt,
                    lo_open ? "above" : "from", lo, hi, s);
    *out = v;
    return 0;
}

/* "SPIN <ms>" or "SLEEP <ms>", one blank, ms from 0 to 60000 in plain
 * digits: the request line and the reply it must get. */
static int parse_heavy_line(struct perr *e, struct ld_opts *o, const char *s)
{
    const char *sp = strchr(s, ' ');
    size_t word = sp ? (size_t)(sp - s) : 0;
    bool known = (word == 4 && memcmp(s, "SPIN", 4) == 0) ||
                 (word == 5 && memcmp(s, "SLEEP", 5) == 0);
    const char *d = sp ? sp + 1 : s;
    size_t digits = strspn(d, "0123456789");
    if (!known || digits == 0 || digits > 5 || d[digits] != '\0' ||
        strtoull(d, NULL, 10) > HEAVY_MAX_MS)
        return fail(e, "--heavy-line: expected 'SPIN <ms>' or 'SLEEP <ms>' with ms from 0 to "
                    "%llu, got '%s'", HEAVY_MAX_MS, s);
    /* The work service answers with the number as it prints it. */
    unsigned long long ms = strtoull(d, NULL, 10);
    snprintf(o->heavy_req, sizeof o->heavy_req, "%.*s %llu\n", (int)word, s, ms);
    snprintf(o->heavy_reply, sizeof o->heavy_reply, "DONE %llu\n", ms);
    return 0;
}

/* RFC 1459 nicknames: a letter, then letters, digits and - [ ] \ ` ^ { }
 * (and _ | which every server takes). */
static int parse_nick_prefix(struct perr *e, struct ld_opts *o, const char *s)
{
    size_t n = strlen(s);
    bool ok = n > 0 && n <= LD_PREFIX_MAX && isalpha((unsigned char)s[0]);
    for (size_t i = 1; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || strchr("-[]\\`^{}_|", s[i]);
    if (!ok)
        return fail(e, "--nick-prefix: expected a letter and up to %d more letters, digits or "
                    "-[]\\`^{}_|, got '%s'", LD_PREFIX_MAX - 1, s);
    memcpy(o->nick_prefix, s, n + 1);
    return 0;
}

/* Capability names: letters, digits, '-', '/', '.', '=' and spaces. */
static int parse_caps(struct perr *e, struct ld_opts *o, const char *s)
{
    size_t n = strlen(s);
    bool ok = n > 0 && n <= LD_CAPS_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || strchr("-/.= ", s[i]);
    if (!ok)
        return fail(e, "--caps: expected 1 to %d characters of capability names "
                    "(letters, digits, -/.=) and spaces, got '%s'", LD_CAPS_MAX, s);
    memcpy(o->caps, s, n + 1);
    return 0;
}

/* A channel name may hold anything but blanks, commas, ':' and controls. */
static int parse_chan_prefix(struct perr *e, struct ld_opts *o, const char *s)
{
    size_t n = strlen(s);
    bool ok = n > 0 && n <= LD_PREFIX_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = isgraph((unsigned char)s[i]) && s[i] != ',' && s[i] != ':';
    if (!ok)
        return fail(e, "--chan-prefix: expected 1 to %d printable characters without ',' or "
                    "':', got '%s'", LD_PREFIX_MAX, s);
    memcpy(o->chan_prefix, s, n + 1);
    return 0;
}

/* Calls take() on each entry of a comma-separated list, copied out and
 * NUL-terminated; an empty or overlong entry is refused here. */
typedef int take_item_fn(struct perr *e, struct ld_opts *o, const char *item);

static int each_item(struct perr *e, struct ld_opts *o, const char *what, const char *s,
                     take_item_fn *take)
{
    char item[LD_TARGET_TEXT_MAX + 1];
    for (const char *p = s;; p++) {
        size_t n = strcspn(p, ",");
        if (n == 0)
            return fail(e, "%s: an empty entry in '%s'", what, s);
        if (n >= sizeof item)
            return fail(e, "%s: expected entries of at most %d characters, got '%.*s'", what,
                        LD_TARGET_TEXT_MAX, (int)n, p);
        memcpy(item, p, n);
        item[n] = '\0';
        if (take(e, o, item) < 0)
            return -1;
        p += n;
        if (!*p)
            return 0;
    }
}

/* One server: "1.2.3.4:port" or "[v6]:port", numeric only: a load test
 * should not depend on name resolution. Every reason names the entry. */
static int take_target(struct perr *e, struct ld_opts *o, const char *s)
{
    if (o->ntargets == LD_MAX_TARGETS)
        return fail(e, "at most %u servers in HOST:PORT,HOST:PORT..., got more in '%s'",
                    LD_MAX_TARGETS, o->target);
    struct ld_target *t = &o->targets[o->ntargets];
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        return fail(e, "expected HOST:PORT, got '%s'", s);
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    unsigned port;
    struct perr quiet = { NULL, 0 };
    if (parse_unsigned(&quiet, "port", colon + 1, 1, 65535, &port) < 0)
        return fail(e, "expected HOST:PORT with a port from 1 to 65535, got '%s'", s);
    memset(&t->addr, 0, sizeof t->addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
    bool bracketed = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    if (bracketed)
        host[hl - 1] = '\0';
    if (!bracketed && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        t->addrlen = sizeof *a4;
    } else if (bracketed && inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        t->addrlen = sizeof *a6;
    } else {
        return fail(e, "expected a numeric IPv4 address or [IPv6] address, got '%s'", s);
    }
    snprintf(t->text, sizeof t->text, "%s", s);
    o->ntargets++;
    return 0;
}

/* HOST:PORT, or in chat HOST:PORT,HOST:PORT,...: client i connects to
 * entry i % n. An entry may repeat (a server taking a larger share). */
static int parse_targets(struct perr *e, struct ld_opts *o, const char *s)
{
    if (strchr(s, ',') && o->mode != LD_CHAT)
        return fail(e, "a list of servers (HOST:PORT,HOST:PORT...) is for chat mode only; "
                    "%s mode takes one HOST:PORT, got '%s'", ld_mode_name(o->mode), s);
    o->target = s;
    o->ntargets = 0;
    if (!*s)
        return fail(e, "expected HOST:PORT, got ''");
    return each_item(e, o, "HOST:PORT list", s, take_target);
}

/* One process of --server-pid's list; one listed twice would count twice. */
static int take_server_pid(struct perr *e, struct ld_opts *o, const char *s)
{
    unsigned long long pid;
    if (parse_count(e, "--server-pid", s, 1, 1u << 30, false, &pid) < 0)
        return -1;
    if (o->nserver_pids == LD_MAX_SERVER_PIDS)
        return fail(e, "--server-pid: at most %u processes, got more", LD_MAX_SERVER_PIDS);
    for (unsigned i = 0; i < o->nserver_pids; i++)
        if (o->server_pids[i] == (int)pid)
            return fail(e, "--server-pid: process %llu is listed twice (its CPU would count "
                        "twice)", pid);
    o->server_pids[o->nserver_pids++] = (int)pid;
    return 0;
}

/* Sizes: chat text has its own ceiling (IRC's 512-byte lines). */
static int take_size(struct perr *e, struct ld_opts *o, const char *arg)
{
    unsigned long long v;
    unsigned long long hi = o->mode == LD_CHAT || o->mode == LD_HOSTILE ? LD_CHAT_MAX_SIZE
                                                                        : LD_MAX_SIZE;
    if (parse_count(e, "-s", arg, 1, hi, true, &v) < 0)
        return -1;
    o->size = (size_t)v;
    return 0;
}

/* hostile's own options (--cases is resolved once --proto is known). */
static int take_hostile_option(struct perr *e, struct ld_opts *o, int id, const char *arg)
{
    switch (id) {
    case O_PROTO:
        if (strcmp(arg, "echo") != 0 && strcmp(arg, "chat") != 0)
            return fail(e, "--proto: expected echo or chat, got '%s'", arg);
        o->hproto = arg[0] == 'c' ? LD_HP_CHAT : LD_HP_ECHO;
        return 0;
    case O_CASES: o->hcases_arg = arg; return 0;
    case O_ABUSERS: return parse_unsigned(e, "--abusers", arg, 1, 100, &o->abusers);
    case O_FLOOD_CONNS:
        return parse_unsigned(e, "--flood-conns", arg, 1, LD_FLOOD_CONNS_MAX, &o->flood_conns);
    case O_ALLOW_REMOTE: o->allow_remote = true; return 0;
    }
    return fail(e, "internal: option %d", id);
}

/* One option whose mode was already checked. */
static int take_option(struct perr *e, struct ld_opts *o, int id, const char *arg)
{
    switch (id) {
    case O_CONNS: return parse_unsigned(e, "-c", arg, 1, LD_MAX_CONNS, &o->conns);
    case O_THREADS: return parse_unsigned(e, "-t", arg, 1, LD_MAX_THREADS, &o->threads);
    case O_SIZE: return take_size(e, o, arg);
    case O_DEPTH:
        o->depth_set = true;
        return parse_unsigned(e, "-d", arg, 1, LD_MAX_DEPTH, &o->depth);
    case O_RATE:
        o->rate_set = true;
        return parse_real(e, "--rate", arg, 0.0, MAX_RATE, true, &o->rate);
    case O_DURATION: return parse_real(e, "--duration", arg, 0.0, MAX_SECONDS, true, &o->duration);
    case O_WARMUP: return parse_real(e, "--warmup", arg, 0.0, MAX_SECONDS, false, &o->warmup);
    case O_DRAIN: return parse_real(e, "--drain", arg, 0.0, MAX_SECONDS, false, &o->drain);
    case O_JSON: o->json = true; return 0;
    case O_SRC_IPS: return parse_unsigned(e, "--src-ips", arg, 1, 254, &o->src_ips);
    case O_SERVER_PID:
        o->nserver_pids = 0; /* the last --server-pid counts */
        return each_item(e, o, "--server-pid", arg, take_server_pid);
    case O_LINES: o->lines = true; return 0;
    case O_HEAVY: return parse_unsigned(e, "--heavy", arg, 0, 10000, &o->heavy);
    case O_HEAVY_LINE: return parse_heavy_line(e, o, arg);
    case O_CHANNELS: return parse_unsigned(e, "--channels", arg, 1, LD_MAX_CONNS, &o->channels);
    case O_SENDERS: return parse_unsigned(e, "--senders", arg, 1, LD_MAX_CONNS, &o->senders);
    case O_NICK_PREFIX: return parse_nick_prefix(e, o, arg);
    case O_CHAN_PREFIX: return parse_chan_prefix(e, o, arg);
    case O_CAPS: return parse_caps(e, o, arg);
    case O_CONNECT_RATE:
        return parse_real(e, "--connect-rate", arg, 0.0, MAX_RATE, true, &o->connect_rate);
    case O_MAX_FAIL:
        return parse_unsigned(e, "--max-connect-failures", arg, 0, LD_MAX_CONNS,
                              &o->max_connect_failures);
    default: return take_hostile_option(e, o, id, arg);
    }
    return fail(e, "internal: option %d", id);
}

static void set_defaults(struct ld_opts *o, enum ld_mode mode)
{
    *o = (struct ld_opts){ .mode = mode, .conns = 100, .threads = 1, .depth = 1, .size = 64,
                           .duration = 5.0, .warmup = 1.0, .drain = 2.0, .channels = 1,
                           .senders = 1, .heavy = mode == LD_WORK ? 1 : 0,
                           .rate = mode == LD_CHAT ? 100.0 : 0.0 };
    if (mode == LD_HOSTILE) {
        o->conns = 8;
        o->duration = 3.0;
        o->rate = 0.0; /* per protocol, in check_hostile */
    }
    o->abusers = 1;
    o->flood_conns = 1000;
    strcpy(o->nick_prefix, "ld");
    strcpy(o->chan_prefix, "load");
    struct perr none = { NULL, 0 };
    (void)parse_heavy_line(&none, o, "SPIN 50");
}

/* 127/8, ::1 and ::ffff:127.x.y.z: what hostile may aim at unasked. */
static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static int check_hostile(struct perr *e, struct ld_opts *o)
{
    if (!o->allow_remote && !is_loopback(&o->targets[0].addr))
        return fail(e, "hostile mode aims at loopback only (127.0.0.0/8, ::1), got '%s'; "
                    "--allow-remote for a server of your own elsewhere", o->target);
    if (!o->rate_set)
        o->rate = o->hproto == LD_HP_CHAT ? 32.0 : 200.0;
    o->hcases = ld_hcase_default(o->hproto);
    char bad[32];
    if (o->hcases_arg && ld_hcase_parse(o->hcases_arg, o->hproto, &o->hcases, bad,
                                        sizeof bad) < 0)
        return fail(e, "--cases: no case '%s' for --proto %s", bad,
                    o->hproto == LD_HP_CHAT ? "chat" : "echo");
    return 0;
}

/* Rules between options, once all are read. */
static int check_combination(struct perr *e, struct ld_opts *o)
{
    if (o->mode == LD_HOSTILE)
        return check_hostile(e, o);
    if (o->depth_set && o->rate_set)
        return fail(e, "-d and --rate exclude each other: -d is the closed loop, --rate the "
                    "open one");
    for (unsigned i = 0; o->src_ips && i < o->ntargets; i++)
        if (o->targets[i].addr.ss_family != AF_INET)
            return fail(e, "--src-ips needs IPv4 targets (127.0.0.x sources), got '%s'",
                        o->targets[i].text);
    if (o->max_connect_failures >= o->conns)
        return fail(e, "--max-connect-failures %u: must be below -c %u", o->max_connect_failures,
                    o->conns);
    if (o->mode == LD_WORK)
        o->lines = true; /* the work service is a line protocol */
    if (o->lines && o->size < 2)
        return fail(e, "-s: a line needs at least 2 bytes (text and '\\n'), got %zu", o->size);
    if (o->mode != LD_CHAT)
        return 0;
    if (o->conns < 2)
        return fail(e, "-c: chat needs at least 2 clients, got %u", o->conns);
    if (o->senders > o->conns)
        return fail(e, "--senders %u: more than the %u clients", o->senders, o->conns);
    if (o->channels > o->conns)
        return fail(e, "--channels %u: more than the %u clients", o->channels, o->conns);
    return 0;
}

/* The table row of a getopt result; -1 for an unknown option. */
static int row_of(int ch)
{
    if (ch >= 256 && ch < 256 + O_COUNT)
        return ch - 256;
    for (int i = 0; i < O_COUNT; i++)
        if (ld_optab[i].shrt && ld_optab[i].shrt == ch)
            return i;
    return -1;
}

static int parse_mode(struct perr *e, const char *word, enum ld_mode *mode)
{
    for (int m = 0; m < LD_NMODES; m++)
        if (strcmp(word, ld_mode_name((enum ld_mode)m)) == 0) {
            *mode = (enum ld_mode)m;
            return 0;
        }
    return fail(e, "unknown mode '%s': expected echo, idle, chat, work or hostile", word);
}

/* getopt_long over argv[1..] (the mode word stands in as argv[0]). */
static int parse_options(struct perr *e, struct ld_opts *o, int argc, char **argv)
{
    struct option longs[O_COUNT + 1];
    char shorts[2 * O_COUNT + 2] = ":";
    size_t k = 1;
    for (int i = 0; i < O_COUNT; i++) {
        const struct ld_optdef *d = &ld_optab[i];
        longs[i] = (struct option){ d->name, d->arg ? required_argument : no_argument, NULL,
                                    d->shrt ? d->shrt : 256 + i };
        if (d->shrt) {
            shorts[k++] = d->shrt;
            if (d->arg)
                shorts[k++] = ':';
        }
    }
    longs[O_COUNT] = (struct option){ 0 };
    shorts[k] = '\0';
    optind = 0; /* GNU: start afresh (a test parses many command lines) */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const char *word = argv[optind - 1];
        if (ch == ':')
            return fail(e, "%s needs a value", word);
        int row = row_of(ch);
        if (row < 0)
            return fail(e, "unknown option '%s'", word);
        if (!(ld_optab[row].modes & LD_M(o->mode)))
            return fail(e, "--%s is not an option of %s mode (see muxd-load %s --help)",
                        ld_optab[row].name, ld_mode_name(o->mode), ld_mode_name(o->mode));
        if (row == O_HELP)
            return LD_PARSE_HELP;
        if (take_option(e, o, row, optarg) < 0)
            return LD_PARSE_ERROR;
    }
    if (optind != argc)
        return optind == argc - 1 ? parse_targets(e, o, argv[optind])
                                  : fail(e, "one HOST:PORT expected, got '%s' and more",
                                         argv[optind]);
    return fail(e, "HOST:PORT missing");
}

int ld_parse_args(struct ld_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    struct perr e = { err, errlen };
    if (errlen)
        err[0] = '\0';
    set_defaults(o, LD_NMODES);
    if (argc < 2)
        return fail(&e, "MODE missing: expected echo, idle, chat, work or hostile");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return LD_PARSE_HELP;
    enum ld_mode mode = LD_NMODES;
    if (parse_mode(&e, argv[1], &mode) < 0)
        return LD_PARSE_ERROR;
    set_defaults(o, mode);
    int rc = parse_options(&e, o, argc - 1, argv + 1);
    if (rc != LD_PARSE_OK)
        return rc;
    return check_combination(&e, o) < 0 ? LD_PARSE_ERROR : LD_PARSE_OK;
}
