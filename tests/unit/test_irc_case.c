/* test_irc_case.c - unit tests for rfc1459 casemapping and the nick,
 * channel and mask rules (src/proto/chat/irc_case.c). */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "proto/chat/irc.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

Test(irc_case, tolower_rfc1459)
{
    cr_assert_eq(irc_tolower('A'), 'a');
    cr_assert_eq(irc_tolower('Z'), 'z');
    cr_assert_eq(irc_tolower('['), '{');
    cr_assert_eq(irc_tolower(']'), '}');
    cr_assert_eq(irc_tolower('\\'), '|');
    cr_assert_eq(irc_tolower('^'), '~');
    cr_assert_eq(irc_tolower('~'), '~');
    cr_assert_eq(irc_tolower('{'), '{');
    cr_assert_eq(irc_tolower('`'), '`');
    cr_assert_eq(irc_tolower('_'), '_');
    cr_assert_eq(irc_tolower('@'), '@');
}

Test(irc_case, casefold)
{
    char out[32];
    irc_casefold(out, "Nick[A]\\~x", sizeof out);
    cr_assert_str_eq(out, "nick{a}|~x");
    irc_casefold(out, "{}|^", sizeof out);
    cr_assert_str_eq(out, "{}|~");
}

Test(irc_case, folding_stays_in_ascii)
{
    /* No byte folds across the 0x80 line, so a high byte can never alias
     * an ASCII name, and folding a folded byte changes nothing. */
    for (int c = 1; c < 256; c++) {
        unsigned char f = (unsigned char)irc_tolower((char)c);
        cr_assert_eq(f < 0x80, c < 0x80, "byte 0x%02x folds to 0x%02x", c, f);
        cr_assert_eq(irc_tolower((char)f), (char)f, "folding is idempotent");
    }
}

Test(irc_case, casefold_truncates)
{
    char out[4];
    memset(out, 'x', sizeof out);
    irc_casefold(out, "ABCDEF", sizeof out);
    cr_assert_str_eq(out, "abc");
    irc_casefold(out, "ABCDEF", 1);
    cr_assert_str_eq(out, "");
    irc_casefold(out, "", sizeof out);
    cr_assert_str_eq(out, "");
}

Test(irc_case, casecmp)
{
    cr_assert_eq(irc_casecmp("Nick[]\\~", "nICK{}|^"), 0);
    cr_assert_eq(irc_casecmp("", ""), 0);
    cr_assert_lt(irc_casecmp("abc", "abd"), 0);
    cr_assert_gt(irc_casecmp("ABD", "abc"), 0);
    cr_assert_lt(irc_casecmp("ab", "abc"), 0, "a prefix sorts first");
    cr_assert_gt(irc_casecmp("abc", "AB"), 0);
    cr_assert_neq(irc_casecmp("a_", "a-"), 0);
    /* Bytes above 0x7f compare as unsigned. */
    cr_assert_gt(irc_casecmp("\xe9", "a"), 0);
}

Test(irc_case, casehash)
{
    cr_assert_eq(irc_casehash("Nick[a]"), irc_casehash("nick{A}"));
    cr_assert_eq(irc_casehash("#Chan\\~"), irc_casehash("#chan|^"));
    cr_assert_neq(irc_casehash("nick"), irc_casehash("nick_"));
    /* FNV-1a 64 reference values: empty string and "a". */
    cr_assert_eq(irc_casehash(""), 0xcbf29ce484222325u);
    cr_assert_eq(irc_casehash("a"), 0xaf63dc4c8601ec8cu);
    cr_assert_eq(irc_casehash("A"), 0xaf63dc4c8601ec8cu);
}

Test(irc_nick, valid)
{
    cr_assert(irc_nick_valid("a", 9));
    cr_assert(irc_nick_valid("Guest42", 9));
    cr_assert(irc_nick_valid("[foo]", 9));
    cr_assert(irc_nick_valid("`_^{|}\\", 9), "specials may start and fill");
    cr_assert(irc_nick_valid("a-b-c", 9));
    cr_assert(irc_nick_valid("abcdefghi", 9), "exactly nicklen");
}

Test(irc_nick, invalid)
{
    cr_assert_not(irc_nick_valid("", 9));
    cr_assert_not(irc_nick_valid("1abc", 9), "starts with a digit");
    cr_assert_not(irc_nick_valid("-abc", 9), "starts with '-'");
    cr_assert_not(irc_nick_valid("abcdefghij", 9), "one past nicklen");
    cr_assert_not(irc_nick_valid("a", 0));
    cr_assert_not(irc_nick_valid("a b", 9));
    cr_assert_not(irc_nick_valid("a!b", 9));
    cr_assert_not(irc_nick_valid("a@b", 9));
    cr_assert_not(irc_nick_valid("#chan", 9));
    cr_assert_not(irc_nick_valid(":nick", 9));
    cr_assert_not(irc_nick_valid("a~b", 9), "'~' is not special in RFC 2812");
    cr_assert_not(irc_nick_valid("n\xc3\xa9", 9));
}

Test(irc_nick, long_input_stops_at_limit)
{
    static char big[1 << 16];
    memset(big, 'a', sizeof big - 1);
    cr_assert_not(irc_nick_valid(big, 30));
    cr_assert(irc_nick_valid(big, sizeof big - 1));
    cr_assert(irc_nick_valid(big, SIZE_MAX), "SIZE_MAX is no limit");
    cr_assert(irc_channel_valid("#a", SIZE_MAX));
}

Test(irc_channel, valid)
{
    cr_assert(irc_channel_valid("#a", 50));
    cr_assert(irc_channel_valid("#muxd-dev", 50));
    cr_assert(irc_channel_valid("##", 50));
    cr_assert(irc_channel_valid("#\xc3\xa9t\xc3\xa9", 50), "other bytes pass");
    cr_assert(irc_channel_valid("#abcd", 5), "exactly chanlen");
}

Test(irc_channel, invalid)
{
    cr_assert_not(irc_channel_valid("", 50));
    cr_assert_not(irc_channel_valid("#", 50), "no name after '#'");
    cr_assert_not(irc_channel_valid("chan", 50), "no '#'");
    cr_assert_not(irc_channel_valid("&chan", 50));
    cr_assert_not(irc_channel_valid("#abcde", 5), "one past chanlen");
    cr_assert_not(irc_channel_valid("#a", 1));
    cr_assert_not(irc_channel_valid("#a,#b", 50));
    cr_assert_not(irc_channel_valid("#a b", 50));
    cr_assert_not(irc_channel_valid("#a:b", 50));
    cr_assert_not(irc_channel_valid("#a\ab", 50));
    cr_assert_not(irc_channel_valid("#a\rb", 50));
    cr_assert_not(irc_channel_valid("#a\nb", 50));
    cr_assert_not(irc_channel_valid("#ab,", 50), "bad byte at the end");
}

Test(irc_mask, matches)
{
    cr_assert(irc_mask_match("*!*@host.example", "nick!user@host.example"));
    cr_assert(irc_mask_match("nick!*@*", "nick!user@host.example"));
    cr_assert(irc_mask_match("n?ck!*", "nIck!u@h"));
    cr_assert(irc_mask_match("*", ""));
    cr_assert(irc_mask_match("*", "anything"));
    cr_assert(irc_mask_match("", ""));
    cr_assert(irc_mask_match("a**b", "ab"));
    cr_assert(irc_mask_match("*b", "abab"));
    cr_assert(irc_mask_match("a*b*c", "axxbyybzc"));
}

Test(irc_mask, case_insensitive_rfc1459)
{
    cr_assert(irc_mask_match("NICK!*@HOST", "nick!u@host"));
    cr_assert(irc_mask_match("n[x]!*", "N{X}!u@h"));
    cr_assert(irc_mask_match("a\\b~*", "A|B^c"));
}

Test(irc_mask, no_match)
{
    cr_assert_not(irc_mask_match("*!*@host", "nick!user@other"));
    cr_assert_not(irc_mask_match("nick!*@*", "nicky!u@h"));
    cr_assert_not(irc_mask_match("?", ""));
    cr_assert_not(irc_mask_match("??", "a"));
    cr_assert_not(irc_mask_match("", "a"));
    cr_assert_not(irc_mask_match("a", ""));
    cr_assert_not(irc_mask_match("*a", "bbb"));
    cr_assert_not(irc_mask_match("a*", "ba"));
}

Test(irc_mask, pathological_is_fast)
{
    static char s[20001];
    memset(s, 'a', sizeof s - 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_not(irc_mask_match("*a*a*a*a*a*a*a*a*a*a*b", s));
    s[sizeof s - 2] = 'b';
    cr_assert(irc_mask_match("*a*a*a*a*a*a*a*a*a*a*b", s));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* Quadratic would take seconds here, exponential forever; the greedy
     * matcher is about one pass per star. Generous for sanitizer builds. */
    cr_assert_lt(ms, 1000.0, "took %.1f ms", ms);
}

/* irc_mask_normalise into a fresh buffer; "" when refused. */
static const char *norm(const char *in, size_t cap)
{
    static char out[128];
    memset(out, 'x', sizeof out);
    size_t n = irc_mask_normalise(in, out, cap);
    if (n == 0)
        return "";
    cr_assert_eq(strlen(out), n, "length returned for '%s'", in);
    return out;
}

Test(irc_mask_normalise, fills_the_missing_parts)
{
    cr_assert_str_eq(norm("bob", 128), "bob!*@*");
    cr_assert_str_eq(norm("*@host", 128), "*!*@host");
    cr_assert_str_eq(norm("user@host", 128), "*!user@host");
    cr_assert_str_eq(norm("nick!user", 128), "nick!user@*");
    cr_assert_str_eq(norm("nick!", 128), "nick!*@*");
    cr_assert_str_eq(norm("!u@", 128), "*!u@*");
    cr_assert_str_eq(norm("@", 128), "*!*@*");
    cr_assert_str_eq(norm("!", 128), "*!*@*");
    cr_assert_str_eq(norm("*", 128), "*!*@*");
    /* A bare word that looks like a host is one. */
    cr_assert_str_eq(norm("10.0.0.*", 128), "*!*@10.0.0.*");
    cr_assert_str_eq(norm("fe80:1", 128), "*!*@fe80:1");
    cr_assert_str_eq(norm("*.example.org", 128), "*!*@*.example.org");
}

Test(irc_mask_normalise, keeps_full_masks_and_case)
{
    cr_assert_str_eq(norm("cat!*@*", 128), "cat!*@*");
    cr_assert_str_eq(norm("*!ubob@127.0.0.1", 128), "*!ubob@127.0.0.1");
    cr_assert_str_eq(norm("Nick[A]!U@H", 128), "Nick[A]!U@H");
    cr_assert_str_eq(norm("*!*@::1", 128), "*!*@::1");
}

Test(irc_mask_normalise, splits_at_the_first_at_sign)
{
    /* Only a '!' before the '@' ends the nick. */
    cr_assert_str_eq(norm("u@h!x", 128), "*!u@h!x");
    cr_assert_str_eq(norm("a!b!c@d", 128), "a!b!c@d");
    cr_assert_str_eq(norm("a@b@c", 128), "*!a@b@c");
}

Test(irc_mask_normalise, refuses_what_breaks_a_line)
{
    char out[64] = "untouched";
    cr_assert_eq(irc_mask_normalise("", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise(":evil", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise(":", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise("a b", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise("a!b@c d", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise("a\tb", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise("a\x01" "b", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise("a\x7f", out, sizeof out), 0);
    cr_assert_eq(irc_mask_normalise("a\r", out, sizeof out), 0);
    /* A ':' inside is fine (IPv6 hosts). */
    cr_assert_str_eq(norm("a:b!c@d", 128), "a:b!c@d");
    /* Bytes above 0x7f are not control bytes. */
    cr_assert_str_eq(norm("\xc3\xa9", 128), "\xc3\xa9!*@*");
}

Test(irc_mask_normalise, refuses_what_does_not_fit)
{
    /* "bob!*@*" is 7 bytes: it needs a cap of 8. */
    cr_assert_str_eq(norm("bob", 8), "bob!*@*");
    cr_assert_str_eq(norm("bob", 7), "");
    cr_assert_str_eq(norm("bob", 1), "");
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_str_eq(norm(big, 128), "");
}
