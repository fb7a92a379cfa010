/* optab.h - the option table behind opts.c and the --help texts (private
 * to src/load: one row per option, the modes that take it, its help). */
#ifndef MUXD_LOAD_OPTAB_H
#define MUXD_LOAD_OPTAB_H

#include "opts.h"

#define LD_M(m) (1u << (m))
/* The load modes; hostile takes only the rows that name it. */
#define LD_ALL (LD_M(LD_ECHO) | LD_M(LD_IDLE) | LD_M(LD_CHAT) | LD_M(LD_WORK))

enum ld_opt_id {
    O_CONNS, O_THREADS, O_SIZE, O_DEPTH, O_RATE, O_DURATION, O_WARMUP, O_DRAIN, O_JSON,
    O_SRC_IPS, O_SERVER_PID, O_LINES, O_HEAVY, O_HEAVY_LINE, O_CHANNELS, O_SENDERS,
    O_NICK_PREFIX, O_CHAN_PREFIX, O_CAPS, O_CONNECT_RATE, O_MAX_FAIL, O_PROTO, O_CASES,
    O_ABUSERS, O_FLOOD_CONNS, O_ALLOW_REMOTE, O_HELP, O_COUNT
};

struct ld_optdef {
    const char *name;    /* long name */
    char shrt;           /* short letter, or 0 */
    const char *arg;     /* argument's name in the help, NULL for a flag */
    unsigned modes;      /* LD_M() bits of the modes that take it */
    const char *help;    /* one or more lines, '\n' separated */
};

extern const struct ld_optdef ld_optab[O_COUNT];

#endif
