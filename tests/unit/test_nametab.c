/* test_nametab.c - the case-insensitive name table of the chat service. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "proto/chat/nametab.h"

struct item {
    struct nt_node node;
    char name[16];
};

static struct item items[1000];

static void count(struct nt_node *n, void *arg)
{
    (void)n;
    (*(int *)arg)++;
}

Test(nametab, finds_under_rfc1459_casemapping)
{
    struct nametab t = { 0 };
    struct item a = { .name = "Nick[a]" }, b = { .name = "#Chan^" };
    a.node.name = a.name;
    b.node.name = b.name;
    cr_assert_eq(nt_add(&t, &a.node), 0);
    cr_assert_eq(nt_add(&t, &b.node), 0);
    cr_assert_eq(nt_find(&t, "nick{A}"), &a.node);
    cr_assert_eq(nt_find(&t, "#chan~"), &b.node);
    cr_assert_null(nt_find(&t, "nick[b]"));
    nt_del(&t, &a.node);
    cr_assert_null(nt_find(&t, "NICK[A]"));
    cr_assert_eq(nt_find(&t, "#CHAN^"), &b.node);
    cr_assert_eq(t.n, 1);
    nt_fini(&t);
}

Test(nametab, grows_and_keeps_every_name)
{
    struct nametab t = { 0 };
    for (int i = 0; i < 1000; i++) {
        snprintf(items[i].name, sizeof items[i].name, "user%d", i);
        items[i].node.name = items[i].name;
        cr_assert_eq(nt_add(&t, &items[i].node), 0);
    }
    cr_assert_geq(t.nb, 1000, "did not grow: %zu buckets", t.nb);
    for (int i = 0; i < 1000; i++) {
        char up[16];
        snprintf(up, sizeof up, "USER%d", i);
        cr_assert_eq(nt_find(&t, up), &items[i].node, "lost %s", up);
    }
    for (int i = 0; i < 1000; i += 2)
        nt_del(&t, &items[i].node);
    int n = 0;
    nt_each(&t, count, &n);
    cr_assert_eq(n, 500);
    cr_assert_eq(t.n, 500);
    cr_assert_null(nt_find(&t, "user0"));
    cr_assert_eq(nt_find(&t, "user1"), &items[1].node);
    nt_fini(&t);
}
