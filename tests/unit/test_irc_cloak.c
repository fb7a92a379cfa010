/* test_irc_cloak.c - the host cloak (stable, keyed, shaped like
 * "a1b2c3d4.e5f6a7b8.cloak") and oper host lists (comma-separated masks). */
#include <criterion/criterion.h>

#include <ctype.h>
#include <string.h>

#include "proto/chat/irc.h"

static void cloak(const char *secret, const char *addr, char *out)
{
    cr_assert(irc_cloak(secret, addr, out, IRC_CLOAK_LEN + 1));
}

Test(irc_cloak, shape)
{
    char c[IRC_CLOAK_LEN + 1];
    cloak("0123456789abcdef", "127.0.0.1", c);
    cr_assert_eq(strlen(c), IRC_CLOAK_LEN, "%s", c);
    for (int i = 0; i < 17; i++)
        cr_assert(i == 8 || isxdigit((unsigned char)c[i]), "%s", c);
    cr_assert_eq(c[8], '.');
    cr_assert_str_eq(c + 17, ".cloak");
}

/* HMAC-SHA256("key", "127.0.0.1"), its first 8 bytes, checked against
 * `printf 127.0.0.1 | openssl dgst -sha256 -hmac key`. */
Test(irc_cloak, known_value)
{
    char c[IRC_CLOAK_LEN + 1];
    cloak("key", "127.0.0.1", c);
    cr_assert_str_eq(c, "0446f77a.aa069378.cloak");
}

Test(irc_cloak, stable_per_address_and_secret)
{
    char a[IRC_CLOAK_LEN + 1], b[IRC_CLOAK_LEN + 1];
    cloak("secret-one-secret-one", "10.0.0.1", a);
    cloak("secret-one-secret-one", "10.0.0.1", b);
    cr_assert_str_eq(a, b);
    cloak("secret-one-secret-one", "10.0.0.2", b);
    cr_assert_str_neq(a, b);
    cloak("secret-two-secret-two", "10.0.0.1", b);
    cr_assert_str_neq(a, b);
    cloak("secret-one-secret-one", "0::1", b);
    cr_assert_str_neq(a, b);
}

Test(irc_mask_list, any_mask_of_the_list)
{
    cr_assert(irc_mask_list_match("*!*@127.0.0.1", "a!u@127.0.0.1"));
    cr_assert(irc_mask_list_match("*!*@10.*,*!*@127.0.0.1", "a!u@127.0.0.1"));
    cr_assert(irc_mask_list_match("x!*@*,,BOSS!*@*", "boss!u@h"));
    cr_assert_not(irc_mask_list_match("*!*@10.*,*!*@192.168.*", "a!u@127.0.0.1"));
    cr_assert_not(irc_mask_list_match("", "a!u@h"));
    cr_assert_not(irc_mask_list_match(",,", "a!u@h"));
    cr_assert(irc_mask_list_match("*", "a!u@h"));
}
