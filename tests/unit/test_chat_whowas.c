/* test_chat_whowas.c - unit tests for the WHOWAS history ring
 * (src/proto/chat/chat_whowas.c): newest first, case-insensitive, the
 * per-nick bound and the total bound. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/chat/chat_int.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static void add(struct whowas *w, unsigned cap, unsigned per, const char *nick, const char *user)
{
    struct whowas_entry e = { .when = 1 };
    snprintf(e.nick, sizeof e.nick, "%s", nick);
    snprintf(e.user, sizeof e.user, "%s", user);
    snprintf(e.host, sizeof e.host, "h");
    snprintf(e.real, sizeof e.real, "Real %s", nick);
    whowas_add(w, cap, per, &e);
}

Test(chat_whowas, empty_finds_nothing)
{
    struct whowas w = { 0 };
    struct whowas_entry out[4];
    cr_assert_eq(whowas_find(&w, "x", out, 4), 0);
    whowas_free(&w);
}

Test(chat_whowas, newest_first_and_casemapped)
{
    struct whowas w = { 0 };
    add(&w, 16, 8, "Bob[1]", "u1");
    add(&w, 16, 8, "other", "o");
    add(&w, 16, 8, "bob{1}", "u2");
    struct whowas_entry out[8];
    unsigned n = whowas_find(&w, "BOB[1]", out, 8);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(out[0].user, "u2");
    cr_assert_str_eq(out[1].user, "u1");
    cr_assert_str_eq(out[1].real, "Real Bob[1]");
    cr_assert_eq(whowas_find(&w, "bob", out, 8), 0, "no wildcards, no prefixes");
    cr_assert_eq(whowas_find(&w, "BOB[1]", out, 1), 1, "max is kept");
    cr_assert_str_eq(out[0].user, "u2");
    whowas_free(&w);
}

Test(chat_whowas, one_nick_keeps_at_most_per_nick)
{
    struct whowas w = { 0 };
    add(&w, 64, 8, "keep", "k");
    for (int i = 0; i < 20; i++) {
        char u[8];
        snprintf(u, sizeof u, "u%d", i);
        add(&w, 64, 8, "hop", u);
    }
    struct whowas_entry out[32];
    unsigned n = whowas_find(&w, "hop", out, 32);
    cr_assert_eq(n, 8);
    cr_assert_str_eq(out[0].user, "u19");
    cr_assert_str_eq(out[7].user, "u12");
    cr_assert_eq(whowas_find(&w, "keep", out, 32), 1, "others' history survives");
    whowas_free(&w);
}

Test(chat_whowas, the_ring_forgets_the_oldest)
{
    struct whowas w = { 0 };
    for (int i = 0; i < 10; i++) {
        char nick[8];
        snprintf(nick, sizeof nick, "n%d", i);
        add(&w, 4, 8, nick, "u");
    }
    struct whowas_entry out[2];
    cr_assert_eq(w.cap, 4);
    cr_assert_eq(whowas_find(&w, "n5", out, 2), 0);
    for (int i = 6; i < 10; i++) {
        char nick[8];
        snprintf(nick, sizeof nick, "n%d", i);
        cr_assert_eq(whowas_find(&w, nick, out, 2), 1, "%s", nick);
    }
    whowas_free(&w);
    cr_assert_null(w.v);
}
