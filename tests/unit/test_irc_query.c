/* test_irc_query.c - unit tests for the pure parts of the chat queries
 * (src/proto/chat/irc_query.c): WHO's options with WHOX fields and token,
 * and LIST's conditions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/chat/irc.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

/* The letters of o's fields, in reply order. */
static void fields_of(const struct irc_who_opts *o, char *out)
{
    size_t n = 0;
    for (const char *f = IRC_WHOX_ORDER; *f; f++)
        if (irc_whox_has(o, *f))
            out[n++] = *f;
    out[n] = '\0';
}

Test(irc_query, who_without_options)
{
    struct irc_who_opts o;
    irc_who_opts_parse(NULL, &o);
    cr_assert(!o.whox && !o.opers && o.fields == 0);
    irc_who_opts_parse("o", &o);
    cr_assert(!o.whox && o.opers);
}

Test(irc_query, whox_fields_come_out_in_spec_order)
{
    struct irc_who_opts o;
    char f[32];
    irc_who_opts_parse("%rafnhuct,42", &o);
    cr_assert(o.whox && !o.opers);
    fields_of(&o, f);
    cr_assert_str_eq(f, "tcuhnfar");
    cr_assert_str_eq(o.token, "42");
    irc_who_opts_parse("o%nd", &o);
    cr_assert(o.whox && o.opers);
    fields_of(&o, f);
    cr_assert_str_eq(f, "nd");
    /* Unknown letters are ignored (the spec: non-standard fields). */
    irc_who_opts_parse("%nzZ%r", &o);
    fields_of(&o, f);
    cr_assert_str_eq(f, "nr");
}

Test(irc_query, whox_token_is_one_to_three_digits)
{
    struct irc_who_opts o;
    irc_who_opts_parse("%t,123", &o);
    cr_assert_str_eq(o.token, "123");
    static const char *const bad[] = { "%t,1234", "%t,", "%t,1a", "%t,-1", "%t" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        irc_who_opts_parse(bad[i], &o);
        cr_assert_str_eq(o.token, "0", "%s", bad[i]);
    }
}

Test(irc_query, list_counts_and_masks)
{
    char a[] = ">2,<10,#a*,!#ab*";
    struct irc_list_query q = { 0 };
    irc_list_parse(a, &q);
    cr_assert_eq(q.more_than, 2);
    cr_assert_eq(q.less_than, 10);
    cr_assert_eq(q.nmasks, 1);
    cr_assert_eq(q.nnots, 1);
    cr_assert(irc_list_match(&q, "#apple", 3));
    cr_assert(irc_list_match(&q, "#APPLE", 9));
    cr_assert(!irc_list_match(&q, "#apple", 2), "> is strict");
    cr_assert(!irc_list_match(&q, "#apple", 10), "< is strict");
    cr_assert(!irc_list_match(&q, "#abc", 5), "!mask excludes");
    cr_assert(!irc_list_match(&q, "#b", 5), "not a listed mask");
}

Test(irc_query, list_conditions_from_two_parameters_combine)
{
    char names[] = "#x,#y", conds[] = ">1,>3,<9,<5";
    struct irc_list_query q = { 0 };
    irc_list_parse(names, &q);
    irc_list_parse(conds, &q);
    cr_assert_eq(q.more_than, 3, "the tightest > holds");
    cr_assert_eq(q.less_than, 5, "the tightest < holds");
    cr_assert(irc_list_match(&q, "#X", 4));
    cr_assert(!irc_list_match(&q, "#z", 4));
}

Test(irc_query, list_malformed_counts_are_dropped)
{
    char a[] = ">x,<,>99999999999,<-1";
    struct irc_list_query q = { 0 };
    irc_list_parse(a, &q);
    cr_assert_eq(q.more_than, 0);
    cr_assert_eq(q.less_than, 0);
    cr_assert_eq(q.nmasks, 0);
    cr_assert(irc_list_match(&q, "#any", 1));
}

Test(irc_query, list_keeps_at_most_16_masks)
{
    char a[256] = "";
    for (int i = 0; i < 20; i++)
        snprintf(a + strlen(a), sizeof a - strlen(a), "%s#c%d", i ? "," : "", i);
    struct irc_list_query q = { 0 };
    irc_list_parse(a, &q);
    cr_assert_eq(q.nmasks, IRC_LIST_MASKS);
    cr_assert(irc_list_match(&q, "#c15", 1));
    cr_assert(!irc_list_match(&q, "#c16", 1));
}
