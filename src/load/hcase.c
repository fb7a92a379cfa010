/* hcase.c - hostile mode's case table and --cases parsing. */
#include "hcase.h"

#include <stdio.h>
#include <string.h>

const struct ld_hcase_def ld_hcases[HC_COUNT] = {
    [HC_SLOWLORIS] = { "slowloris", false, true,
                       "one byte of a line each second, never finished" },
    [HC_NEVER_READER] = { "never-reader", false, true,
                          "sends (echo) or joins the busy channel (chat), never reads" },
    [HC_OVERLONG] = { "overlong-line", false, true, "a line of 1 MiB, far past any max_line" },
    [HC_GARBAGE] = { "garbage", false, false, "random bytes: NULs, invalid UTF-8, CR, LF" },
    [HC_RESET] = { "reset-mid-write", false, false,
                   "a large request, then RST (SO_LINGER 0) while the server writes" },
    [HC_CONNECT_FLOOD] = { "connect-flood", false, false,
                           "connections as fast as possible, each from its own 127.x.y.z" },
    [HC_JOIN_STORM] = { "join-storm", true, true, "JOIN and PART of hundreds of channels" },
    [HC_NICK_STORM] = { "nick-storm", true, true, "NICK changes as fast as possible" },
    [HC_FLOOD] = { "flood", true, true,
                   "PRIVMSG flood to the channel the well-behaved clients are in" },
};

uint32_t ld_hcase_default(enum ld_hproto proto)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < HC_COUNT; i++)
        if (proto == LD_HP_CHAT || !ld_hcases[i].chat_only)
            m |= 1u << i;
    return m;
}

static int find(const char *name, size_t len)
{
    for (int i = 0; i < HC_COUNT; i++)
        if (strlen(ld_hcases[i].name) == len && memcmp(ld_hcases[i].name, name, len) == 0)
            return i;
    return -1;
}

int ld_hcase_parse(const char *list, enum ld_hproto proto, uint32_t *mask, char *bad,
                   unsigned badlen)
{
    uint32_t m = 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        int i = find(p, len);
        if (i < 0 || (ld_hcases[i].chat_only && proto != LD_HP_CHAT)) {
            snprintf(bad, badlen, "%.*s", (int)len, p);
            return -1;
        }
        m |= 1u << i;
        if (!p[len])
            break;
        p += len + 1;
    }
    *mask = m;
    return 0;
}
