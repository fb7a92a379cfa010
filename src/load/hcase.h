/* hcase.h - hostile mode's named cases: what each is called on the command
 * line, which protocol it fits, and whether the server leaving it
 * unchecked (IGNORED) is a finding. Part of muxd_load_core: the command
 * line (opts.c) parses --cases against this table. */
#ifndef MUXD_LOAD_HCASE_H
#define MUXD_LOAD_HCASE_H

#include <stdbool.h>
#include <stdint.h>

enum ld_hproto { LD_HP_ECHO, LD_HP_CHAT };

enum ld_hcase {
    HC_SLOWLORIS, HC_NEVER_READER, HC_OVERLONG, HC_GARBAGE, HC_RESET, HC_CONNECT_FLOOD,
    HC_JOIN_STORM, HC_NICK_STORM, HC_FLOOD, HC_COUNT
};

struct ld_hcase_def {
    const char *name;
    bool chat_only;
    /* IGNORED means a resource grows or a slot is held without bound:
     * a finding. Where it does not (an echo server echoing garbage, a
     * reset the server shrugs off) IGNORED is the right answer. */
    bool ignored_is_finding;
    const char *what;        /* one line for the report and --help */
};

extern const struct ld_hcase_def ld_hcases[HC_COUNT];

/* Every case that fits proto, as a bit mask (bit = enum ld_hcase). */
uint32_t ld_hcase_default(enum ld_hproto proto);
/* "slowloris,never-reader": the mask, or -1 with the unknown name (or
 * a chat case under --proto echo) in bad (at most badlen bytes). */
int ld_hcase_parse(const char *list, enum ld_hproto proto, uint32_t *mask, char *bad,
                   unsigned badlen);

#endif
