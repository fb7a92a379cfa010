/* nametab.c - chained hashing over irc_casehash; doubles at load 1. */
#include <errno.h>
#include <stdlib.h>

#include "proto/chat/irc.h"
#include "proto/chat/nametab.h"

struct nt_node *nt_find(const struct nametab *t, const char *name)
{
    if (t->nb == 0)
        return NULL;
    uint64_t h = irc_casehash(name);
    for (struct nt_node *n = t->b[h & (t->nb - 1)]; n; n = n->next)
        if (n->hash == h && irc_casecmp(n->name, name) == 0)
            return n;
    return NULL;
}

static int grow(struct nametab *t)
{
    size_t nb = t->nb ? t->nb * 2 : 64;
    struct nt_node **b = calloc(nb, sizeof *b);
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < t->nb; i++) {
        struct nt_node *n, *next;
        for (n = t->b[i]; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return 0;
}

int nt_add(struct nametab *t, struct nt_node *n)
{
    if (t->n >= t->nb && grow(t) < 0)
        return -ENOMEM;
    n->hash = irc_casehash(n->name);
    struct nt_node **head = &t->b[n->hash & (t->nb - 1)];
    n->next = *head;
    *head = n;
    t->n++;
    return 0;
}

void nt_del(struct nametab *t, struct nt_node *n)
{
    struct nt_node **p = &t->b[n->hash & (t->nb - 1)];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p) {
        *p = n->next;
        t->n--;
    }
}

void nt_each(const struct nametab *t, void (*fn)(struct nt_node *, void *), void *arg)
{
    for (size_t i = 0; i < t->nb; i++)
        for (struct nt_node *n = t->b[i]; n; n = n->next)
            fn(n, arg);
}

void nt_fini(struct nametab *t)
{
    free(t->b);
    *t = (struct nametab){ 0 };
}
