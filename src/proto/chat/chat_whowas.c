/* chat_whowas.c - the WHOWAS history: who used a nick before it quit or
 * changed it. A ring of fixed entries, allocated on first use and never
 * grown, so its memory is bounded (WHOWAS_MAX entries, some 220 KiB) and
 * a quit never allocates. One nick holds at most per_nick entries: a
 * client hopping between two nicks cannot flush everyone else's history.
 * Under mu (chat_int.h); calls nothing above irc_case.c.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

/* Slot i counted back from the newest (0). */
static unsigned slot_back(const struct whowas *w, unsigned i)
{
    return (w->next + w->cap - 1 - i) % w->cap;
}

static bool same_nick(const struct whowas_entry *e, uint64_t hash, const char *nick)
{
    return e->hash == hash && irc_casecmp(e->nick, nick) == 0;
}

/* Frees the oldest entry of nick if it has per_nick already. */
static void trim_nick(struct whowas *w, unsigned per_nick, uint64_t hash, const char *nick)
{
    unsigned seen = 0;
    for (unsigned i = 0; i < w->cap; i++) {
        struct whowas_entry *e = &w->v[slot_back(w, i)];
        if (same_nick(e, hash, nick) && ++seen >= per_nick) {
            e->hash = 0;
            return;
        }
    }
}

void whowas_add(struct whowas *w, unsigned cap, unsigned per_nick, const struct whowas_entry *e)
{
    if (!w->v) {
        w->v = calloc(cap, sizeof *w->v);
        if (!w->v)
            return;
        w->cap = cap;
        w->next = 0;
    }
    uint64_t hash = irc_casehash(e->nick);
    hash += !hash; /* 0 marks a free slot */
    if (per_nick)
        trim_nick(w, per_nick, hash, e->nick);
    struct whowas_entry *slot = &w->v[w->next];
    *slot = *e;
    slot->hash = hash;
    w->next = (w->next + 1) % w->cap;
}

unsigned whowas_find(const struct whowas *w, const char *nick, struct whowas_entry *out,
                     unsigned max)
{
    if (!w->v)
        return 0;
    uint64_t hash = irc_casehash(nick);
    hash += !hash;
    unsigned n = 0;
    for (unsigned i = 0; i < w->cap && n < max; i++) {
        const struct whowas_entry *e = &w->v[slot_back(w, i)];
        if (same_nick(e, hash, nick))
            out[n++] = *e;
    }
    return n;
}

void whowas_free(struct whowas *w)
{
    free(w->v);
    *w = (struct whowas){ 0 };
}
