/* nametab.h - a hash table of names under rfc1459 casemapping (nicks,
 * channels). Nodes live inside their owners; the table never allocates a
 * node or copies a name. Not thread-safe: the chat state's lock guards it.
 */
#ifndef MUXD_PROTO_CHAT_NAMETAB_H
#define MUXD_PROTO_CHAT_NAMETAB_H

#include <stddef.h>
#include <stdint.h>

struct nt_node {
    struct nt_node *next;
    uint64_t hash;
    const char *name;   /* the owner's; must not change while in a table */
};

struct nametab {
    struct nt_node **b;
    size_t nb;          /* buckets: 0 or a power of two */
    size_t n;
};

/* The node named name (any case), or NULL. */
struct nt_node *nt_find(const struct nametab *t, const char *name);
/* Adds n (n->name set; not already in); -ENOMEM. */
int nt_add(struct nametab *t, struct nt_node *n);
void nt_del(struct nametab *t, struct nt_node *n);
/* Calls fn on every node; fn must not change the table. */
void nt_each(const struct nametab *t, void (*fn)(struct nt_node *, void *), void *arg);
void nt_fini(struct nametab *t);

#endif
