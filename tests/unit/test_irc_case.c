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
