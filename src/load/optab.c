/* optab.c - the option table and the --help texts printed from it. */
#include "optab.h"

#include <string.h>

#define E LD_M(LD_ECHO)
#define I LD_M(LD_IDLE)
#define C LD_M(LD_CHAT)
#define W LD_M(LD_WORK)
#define H LD_M(LD_HOSTILE)

const struct ld_optdef ld_optab[O_COUNT] = {
    [O_CONNS] = { "conns", 'c', "N", LD_ALL | H,
                  "connections (default 100); chat: IRC clients; work: light clients;\n"
                  "hostile: well-behaved clients (default 8)" },
    [O_THREADS] = { "threads", 't', "N", LD_ALL,
                    "client threads, each with its own epoll loop (default 1)" },
    [O_SIZE] = { "size", 's', "BYTES", LD_ALL | H,
                 "message size, k/m suffix allowed (default 64); chat: bytes of\n"
                 "message text, 1 to 400 (padded up to it); hostile: a\n"
                 "well-behaved probe, up to 400" },
    [O_DEPTH] = { "depth", 'd', "N", E | W,
                  "closed loop: messages in flight per connection (default 1)" },
    [O_RATE] = { "rate", 0, "R", E | C | W | H,
                 "open loop: R messages/s in all, latency counted from each\n"
                 "message's intended send time (chat: default 100); hostile:\n"
                 "well-behaved probes/s in all (default 200; --proto chat 32)" },
    [O_DURATION] = { "duration", 0, "S", LD_ALL | H,
                     "measured seconds (default 5); idle: seconds to hold;\n"
                     "hostile: the baseline and each case (default 3)" },
    [O_WARMUP] = { "warmup", 0, "S", E | C | W, "seconds of load before measuring (default 1)" },
    [O_DRAIN] = { "drain", 0, "S", C,
                  "seconds to wait for deliveries still in flight (default 2);\n"
                  "later ones count as late, ones that never come as lost" },
    [O_JSON] = { "json", 0, NULL, LD_ALL | H, "one JSON object on stdout instead of text" },
    [O_SRC_IPS] = { "src-ips", 0, "K", LD_ALL,
                    "bind connections round-robin to 127.0.0.1 .. 127.0.0.K\n"
                    "(IPv4 targets; more source ports for large runs)" },
    [O_SERVER_PID] = { "server-pid", 0, "PID[,PID...]", LD_ALL,
                       "read that process's CPU time over the measured window;\n"
                       "a list: the sum of theirs (up to 16)" },
    [O_LINES] = { "lines", 0, NULL, E | I,
                  "every message is one line: SIZE - 1 bytes, then '\\n'" },
    [O_HEAVY] = { "heavy", 0, "N", W,
                  "heavy connections beside the light ones (default 1)" },
    [O_HEAVY_LINE] = { "heavy-line", 0, "LINE", W,
                       "'SPIN <ms>' or 'SLEEP <ms>', answered 'DONE <ms>' (default\n"
                       "'SPIN 50'), sent back to back by each heavy connection" },
    [O_CHANNELS] = { "channels", 0, "C", C,
                     "channels (default 1); client i joins #<prefix><i % C>" },
    [O_SENDERS] = { "senders", 0, "S", C, "clients 0 .. S-1 send (default 1)" },
    [O_NICK_PREFIX] = { "nick-prefix", 0, "P", C | H, "nicknames are P<i> (default ld)" },
    [O_CHAN_PREFIX] = { "chan-prefix", 0, "P", C | H,
                        "channels are #P<c> (default load; hostile: #P0 is the\n"
                        "well-behaved clients' channel)" },
    [O_CAPS] = { "caps", 0, "LIST", C,
                 "IRCv3 capabilities every client asks for, space-separated\n"
                 "(e.g. 'server-time message-tags'): CAP REQ before NICK, then\n"
                 "CAP END; the server must ACK them (default none)" },
    [O_CONNECT_RATE] = { "connect-rate", 0, "R", LD_ALL,
                         "at most R new connections per second (default unlimited)" },
    [O_MAX_FAIL] = { "max-connect-failures", 0, "N", E | I | W,
                     "failed connects to tolerate (default 0); the rest run on" },
    [O_PROTO] = { "proto", 0, "echo|chat", H,
                  "the server's protocol: echo (a line echo) or chat (IRC)\n"
                  "(default echo)" },
    [O_CASES] = { "cases", 0, "LIST", H,
                  "comma-separated cases (default: all that fit --proto):\n"
                  "slowloris, never-reader, overlong-line, garbage,\n"
                  "reset-mid-write, connect-flood; chat also join-storm,\n"
                  "nick-storm, flood" },
    [O_ABUSERS] = { "abusers", 0, "N", H,
                    "abusive connections per case, 1 to 100 (default 1)" },
    [O_FLOOD_CONNS] = { "flood-conns", 0, "N", H,
                        "connect-flood: connections at most (default 1000)" },
    [O_ALLOW_REMOTE] = { "allow-remote", 0, NULL, H,
                         "allow a target outside loopback (127/8, ::1): only\n"
                         "against a server you own" },
    [O_HELP] = { "help", 'h', NULL, LD_ALL | H, "this help" },
};

static const char *const mode_names[LD_NMODES] = { "echo", "idle", "chat", "work",
                                                   "hostile" };

static const char *const mode_help[LD_NMODES] = {
    "echo: every connection sends messages and checks every echoed byte;\n"
    "closed loop (-d in flight per connection) or open loop (--rate).\n",
    "idle: opens the connections, holds them idle for --duration, then proves\n"
    "each is still served with one verified round trip.\n",
    "chat: IRC clients register (NICK/USER, wait for 001), join channels, and\n"
    "--senders of them send PRIVMSGs at --rate in all; every receiver measures\n"
    "end-to-end latency and checks loss, duplication and order per sender.\n"
    "HOST:PORT may be a list, HOST:PORT,HOST:PORT... (up to 16): nodes of one\n"
    "network; client i connects to entry i % n.\n",
    "work: light echo-line clients (-c) plus --heavy clients sending a heavy\n"
    "request back to back (muxd's work service); light latency reported apart.\n",
    "hostile: abusive clients, one named case at a time, beside well-behaved\n"
    "ones; says per case whether the server CUT, THROTTLED, REFUSED or IGNORED\n"
    "the abuser and what the well-behaved p99 did. Loopback targets only.\n",
};

const char *ld_mode_name(enum ld_mode mode)
{
    return mode < LD_NMODES ? mode_names[mode] : "?";
}

/* One option: "  -c, --conns N" (or "      --rate R"), then its help
 * lines in a column of their own. */
static void print_opt(FILE *f, const struct ld_optdef *d)
{
    char head[64];
    snprintf(head, sizeof head, "  %c%c%s--%s%s%s", d->shrt ? '-' : ' ', d->shrt ? d->shrt : ' ',
             d->shrt ? ", " : "  ", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
    if (strlen(head) >= 28)
        fprintf(f, "%s\n", head); /* the help starts on the next line */
    const char *h = d->help;
    bool first = strlen(head) < 28;
    while (*h) {
        const char *nl = strchr(h, '\n');
        int len = nl ? (int)(nl - h) : (int)strlen(h);
        fprintf(f, "%-28s%.*s\n", first ? head : "", len, h);
        first = false;
        h += len + (nl ? 1 : 0);
    }
}

static void print_general(FILE *f)
{
    fputs("usage: muxd-load MODE [options] HOST:PORT\n"
          "       muxd-load MODE --help\n"
          "MODE is one of:\n", f);
    for (int m = 0; m < LD_NMODES; m++)
        fprintf(f, "  %s", mode_help[m]);
    fputs("Options taken by every load mode (hostile: see muxd-load hostile --help):\n", f);
    for (int i = 0; i < O_COUNT; i++)
        if ((ld_optab[i].modes & LD_ALL) == LD_ALL)
            print_opt(f, &ld_optab[i]);
    fputs("HOST is a numeric IPv4 address or [IPv6]. Exit status: 0 on a clean run,\n"
          "1 when a check failed (the reason is on stderr), 2 for a bad command line.\n"
          "The manual is docs/load.md.\n", f);
}

void ld_print_usage(FILE *f, enum ld_mode mode)
{
    if (mode >= LD_NMODES) {
        print_general(f);
        return;
    }
    fprintf(f, "usage: muxd-load %s [options] HOST:PORT\n%s", mode_names[mode], mode_help[mode]);
    for (int i = 0; i < O_COUNT; i++)
        if (ld_optab[i].modes & LD_M(mode))
            print_opt(f, &ld_optab[i]);
}
