/* test_irc_fmt.c - unit tests for the IRC reply formatter
 * (src/proto/chat/irc_fmt.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/chat/irc.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

/* Asserts that buf holds one line of n bytes ending in CRLF. */
static void assert_line(const char *buf, size_t n)
{
    cr_assert_eq(strlen(buf), n);
    cr_assert_geq(n, 2);
    cr_assert_eq(buf[n - 2], '\r');
    cr_assert_eq(buf[n - 1], '\n');
    cr_assert_null(memchr(buf, '\r', n - 2), "no CR inside the text");
}

Test(irc_fmt, simple)
{
    char buf[IRC_LINE_MAX + 1];
    size_t n = irc_fmt(buf, sizeof buf, ":%s PRIVMSG %s :%s", "a!b@c", "#x", "hi");
    cr_assert_str_eq(buf, ":a!b@c PRIVMSG #x :hi\r\n");
    cr_assert_eq(n, strlen(buf));
}

Test(irc_fmt, empty_text)
{
    char buf[16];
    cr_assert_eq(irc_fmt(buf, sizeof buf, "%s", ""), 2);
    cr_assert_str_eq(buf, "\r\n");
}

Test(irc_fmt, exactly_510_is_kept)
{
    char text[IRC_LINE_MAX];
    memset(text, 'x', 510);
    text[510] = '\0';
    char buf[IRC_LINE_MAX + 1];
    size_t n = irc_fmt(buf, sizeof buf, "%s", text);
    cr_assert_eq(n, IRC_LINE_MAX);
    assert_line(buf, n);
    cr_assert_eq(memcmp(buf, text, 510), 0);
}

Test(irc_fmt, longer_is_cut_to_512)
{
    char text[2000];
    memset(text, 'y', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    char buf[4096];
    memset(buf, '#', sizeof buf);
    size_t n = irc_fmt(buf, sizeof buf, "a%sb", text);
    cr_assert_eq(n, IRC_LINE_MAX, "cut to 510 + CRLF even with a big cap");
    assert_line(buf, n);
    cr_assert_eq(buf[0], 'a');
    cr_assert_eq(buf[509], 'y');

    n = irc_fmt(buf, IRC_LINE_MAX + 1, "%s", text);
    cr_assert_eq(n, IRC_LINE_MAX);
    assert_line(buf, n);
}

Test(irc_fmt, one_past_510_is_cut)
{
    char text[512];
    memset(text, 'z', 511);
    text[511] = '\0';
    char buf[IRC_LINE_MAX + 1];
    cr_assert_eq(irc_fmt(buf, sizeof buf, "%s", text), IRC_LINE_MAX);
    assert_line(buf, IRC_LINE_MAX);
}

Test(irc_fmt, small_cap)
{
    char buf[16];
    memset(buf, '#', sizeof buf);
    size_t n = irc_fmt(buf, 8, "%s", "hello world");
    cr_assert_eq(n, 7, "cap - 1");
    cr_assert_str_eq(buf, "hello\r\n");
    cr_assert_eq(buf[8], '#', "nothing written past cap");

    cr_assert_eq(irc_fmt(buf, 3, "%s", "hello"), 2);
    cr_assert_str_eq(buf, "\r\n");
}

Test(irc_fmt, cap_too_small_for_a_line)
{
    char buf[4] = "###";
    cr_assert_eq(irc_fmt(buf, 2, "%s", "hello"), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(buf[1], '#');
    buf[0] = '#';
    cr_assert_eq(irc_fmt(buf, 1, "%s", "hello"), 0);
    cr_assert_str_eq(buf, "");
    buf[0] = '#';
    cr_assert_eq(irc_fmt(buf, 0, "%s", "hello"), 0);
    cr_assert_eq(buf[0], '#', "cap 0 touches nothing");
}

Test(irc_numeric, padding)
{
    char buf[IRC_LINE_MAX + 1];
    size_t n = irc_numeric(buf, sizeof buf, "irc.muxd", 1, "nick",
                           ":Welcome, %s", "nick");
    cr_assert_str_eq(buf, ":irc.muxd 001 nick :Welcome, nick\r\n");
    cr_assert_eq(n, strlen(buf));

    irc_numeric(buf, sizeof buf, "s", 42, "*", "%s :Nickname is unavailable", "x");
    cr_assert_str_eq(buf, ":s 042 * x :Nickname is unavailable\r\n");
    irc_numeric(buf, sizeof buf, "s", 433, "*", "x :in use");
    cr_assert_str_eq(buf, ":s 433 * x :in use\r\n");
    irc_numeric(buf, sizeof buf, "s", 0, "*", "x");
    cr_assert_str_eq(buf, ":s 000 * x\r\n");
}

Test(irc_numeric, long_reply_is_cut)
{
    char text[1000];
    memset(text, 'n', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    char buf[IRC_LINE_MAX + 1];
    size_t n = irc_numeric(buf, sizeof buf, "irc.muxd", 372, "nick", ":- %s", text);
    cr_assert_eq(n, IRC_LINE_MAX);
    assert_line(buf, n);
    cr_assert_eq(strncmp(buf, ":irc.muxd 372 nick :- nnn", 25), 0);
}

Test(irc_numeric, small_cap_cuts_the_head)
{
    char buf[32];
    memset(buf, '#', sizeof buf);
    size_t n = irc_numeric(buf, 10, "irc.muxd", 1, "nick", "%s", "text");
    cr_assert_eq(n, 9);
    cr_assert_str_eq(buf, ":irc.mu\r\n");
    cr_assert_eq(buf[10], '#');

    char tiny[2] = "#";
    cr_assert_eq(irc_numeric(tiny, 0, "s", 1, "n", "x"), 0);
    cr_assert_eq(tiny[0], '#');
    cr_assert_eq(irc_numeric(tiny, 1, "s", 1, "n", "x"), 0);
    cr_assert_eq(tiny[0], '\0');
}

Test(irc_numeric, long_server_and_target_are_cut)
{
    char name[700];
    memset(name, 's', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char buf[1024];
    size_t n = irc_numeric(buf, sizeof buf, name, 1, "nick", "%s", "x");
    cr_assert_eq(n, IRC_LINE_MAX);
    assert_line(buf, n);
}

/* ---- UTF-8 --------------------------------------------------------------- */

Test(irc_utf8, valid_and_invalid)
{
    cr_assert(irc_utf8_valid(""));
    cr_assert(irc_utf8_valid("plain ascii"));
    cr_assert(irc_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    cr_assert(irc_utf8_valid("\xf4\x8f\xbf\xbf"), "U+10FFFF");
    cr_assert(!irc_utf8_valid("caf\xe9"), "Latin-1");
    cr_assert(!irc_utf8_valid("\xc3"), "cut short");
    cr_assert(!irc_utf8_valid("\xc3x"), "a lead byte without its continuation");
    cr_assert(!irc_utf8_valid("\xa9"), "a lone continuation");
    cr_assert(!irc_utf8_valid("\xc0\xaf"), "overlong '/'");
    cr_assert(!irc_utf8_valid("\xe0\x80\xaf"), "overlong in 3 bytes");
    cr_assert(!irc_utf8_valid("\xed\xa0\x80"), "a surrogate");
    cr_assert(!irc_utf8_valid("\xf4\x90\x80\x80"), "past U+10FFFF");
    cr_assert(!irc_utf8_valid("\xff"));
}

Test(irc_utf8, cut_never_splits_a_sequence)
{
    const char *s = "ab\xe2\x82\xac" "cd";
    cr_assert_eq(irc_utf8_cut(s, 2), 2);
    cr_assert_eq(irc_utf8_cut(s, 3), 2, "inside the euro sign: before it");
    cr_assert_eq(irc_utf8_cut(s, 4), 2);
    cr_assert_eq(irc_utf8_cut(s, 5), 5);
    cr_assert_eq(irc_utf8_cut("\xa9\xa9\xa9\xa9\xa9", 4), 4, "no lead byte: cut as asked");
}

Test(irc_fmt, a_cut_line_keeps_whole_utf8_sequences)
{
    char text[600];
    memset(text, 'x', 509);
    memcpy(text + 509, "\xc3\xa9\xc3\xa9", 5);
    char buf[IRC_LINE_MAX + 1];
    size_t n = irc_fmt(buf, sizeof buf, "%s", text);
    cr_assert_eq(n, 511, "the e-acute that would straddle byte 510 is dropped whole");
    assert_line(buf, n);
}
