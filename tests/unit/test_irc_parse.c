/* test_irc_parse.c - unit tests for the IRC line checker and parser
 * (src/proto/chat/irc_parse.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/chat/irc.h"

/* Make UBSan findings fail the test instead of only printing (an explicit
 * UBSAN_OPTIONS in the environment still takes precedence). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

/* The parser writes into its line, so every case gets its own copy. */
static char line[IRC_LINE_MAX + 1];
static struct irc_msg m;

static int parse(const char *s)
{
    cr_assert_lt(strlen(s), sizeof line);
    strcpy(line, s);
    return irc_parse(line, &m);
}

static int check(const char *s) { return irc_line_check(s, strlen(s)); }

Test(irc_parse, command_only)
{
    cr_assert_eq(parse("QUIT"), IRC_OK);
    cr_assert_null(m.prefix);
    cr_assert_str_eq(m.cmd, "QUIT");
    cr_assert_eq(m.nparams, 0);
    cr_assert(!m.trailing);
}

Test(irc_parse, prefix_command_params_trailing)
{
    cr_assert_eq(parse(":nick!user@host PRIVMSG #chan :hello there"), IRC_OK);
    cr_assert_str_eq(m.prefix, "nick!user@host");
    cr_assert_str_eq(m.cmd, "PRIVMSG");
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[0], "#chan");
    cr_assert_str_eq(m.params[1], "hello there");
    cr_assert(m.trailing);
}

Test(irc_parse, middles_without_trailing)
{
    cr_assert_eq(parse("USER guest 0 * realname"), IRC_OK);
    cr_assert_null(m.prefix);
    cr_assert_eq(m.nparams, 4);
    cr_assert_str_eq(m.params[0], "guest");
    cr_assert_str_eq(m.params[1], "0");
    cr_assert_str_eq(m.params[2], "*");
    cr_assert_str_eq(m.params[3], "realname");
    cr_assert(!m.trailing);
}

Test(irc_parse, command_upper_cased_in_place)
{
    cr_assert_eq(parse("privMsg #a :x"), IRC_OK);
    cr_assert_str_eq(m.cmd, "PRIVMSG");
    cr_assert_eq(m.cmd, line, "cmd points into the line");
}

Test(irc_parse, empty_trailing)
{
    cr_assert_eq(parse(":x PRIVMSG #a :"), IRC_OK);
    cr_assert_str_eq(m.prefix, "x");
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[0], "#a");
    cr_assert_str_eq(m.params[1], "");
    cr_assert(m.trailing);
}

Test(irc_parse, trailing_keeps_colons_and_spaces)
{
    cr_assert_eq(parse("PRIVMSG #a :: a  b :c :  "), IRC_OK);
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[1], ": a  b :c :  ");
    cr_assert(m.trailing);
}

Test(irc_parse, colon_inside_middle_is_not_trailing)
{
    cr_assert_eq(parse("MODE #a:b +k x:y"), IRC_OK);
    cr_assert_eq(m.nparams, 3);
    cr_assert_str_eq(m.params[0], "#a:b");
    cr_assert_str_eq(m.params[2], "x:y");
    cr_assert(!m.trailing);
}

Test(irc_parse, repeated_spaces)
{
    cr_assert_eq(parse("  :pre   JOIN    #a    #b   :  text  "), IRC_OK);
    cr_assert_str_eq(m.prefix, "pre");
    cr_assert_str_eq(m.cmd, "JOIN");
    cr_assert_eq(m.nparams, 3);
    cr_assert_str_eq(m.params[0], "#a");
    cr_assert_str_eq(m.params[1], "#b");
    cr_assert_str_eq(m.params[2], "  text  ");
    cr_assert(m.trailing);
}

Test(irc_parse, trailing_spaces_after_middles_are_dropped)
{
    cr_assert_eq(parse("NICK foo   "), IRC_OK);
    cr_assert_eq(m.nparams, 1);
    cr_assert_str_eq(m.params[0], "foo");
    cr_assert(!m.trailing);
}

Test(irc_parse, numeric_commands)
{
    cr_assert_eq(parse(":srv 001 nick :Welcome"), IRC_OK);
    cr_assert_str_eq(m.cmd, "001");
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[1], "Welcome");
    cr_assert_eq(parse("433 * nick :in use"), IRC_OK);
    cr_assert_str_eq(m.cmd, "433");
}

Test(irc_parse, fourteen_middles_then_rest)
{
    cr_assert_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14"), IRC_OK);
    cr_assert_eq(m.nparams, 14);
    cr_assert_str_eq(m.params[13], "14");
    cr_assert(!m.trailing);

    cr_assert_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  17"), IRC_OK);
    cr_assert_eq(m.nparams, IRC_MAX_PARAMS);
    cr_assert_str_eq(m.params[13], "14");
    cr_assert_str_eq(m.params[14], "15 16  17", "the rest, spaces and all");
    cr_assert(m.trailing);
}

Test(irc_parse, fifteenth_param_drops_one_colon)
{
    cr_assert_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14   :a :b"), IRC_OK);
    cr_assert_eq(m.nparams, IRC_MAX_PARAMS);
    cr_assert_str_eq(m.params[14], "a :b");
    cr_assert(m.trailing);

    cr_assert_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 x:y"), IRC_OK);
    cr_assert_str_eq(m.params[14], "x:y");
    cr_assert(m.trailing);
}

Test(irc_parse, max_params_with_trailing_is_not_more)
{
    /* A long line of single-byte params never writes past params[14]. */
    char big[IRC_LINE_MAX];
    size_t n = 0;
    n += (size_t)snprintf(big, sizeof big, "CMD");
    while (n + 2 < sizeof big - 1)
        n += (size_t)snprintf(big + n, sizeof big - n, " p");
    cr_assert_eq(parse(big), IRC_OK);
    cr_assert_eq(m.nparams, IRC_MAX_PARAMS);
    cr_assert_eq(strncmp(m.params[14], "p p p", 5), 0);
}

Test(irc_parse, empty_and_spaces)
{
    cr_assert_eq(parse(""), IRC_EEMPTY);
    cr_assert_eq(parse(" "), IRC_EEMPTY);
    cr_assert_eq(parse("     "), IRC_EEMPTY);
}

Test(irc_parse, prefix_without_command)
{
    cr_assert_eq(parse(":"), IRC_ENOCMD);
    cr_assert_eq(parse(":nick"), IRC_ENOCMD);
    cr_assert_eq(parse(":nick!u@h   "), IRC_ENOCMD);
    cr_assert_eq(parse("  :nick"), IRC_ENOCMD);
}

Test(irc_parse, bad_commands)
{
    cr_assert_eq(parse("12"), IRC_EBADCMD);
    cr_assert_eq(parse("1234"), IRC_EBADCMD);
    cr_assert_eq(parse("1"), IRC_EBADCMD);
    cr_assert_eq(parse("PR1V #a"), IRC_EBADCMD);
    cr_assert_eq(parse("12A"), IRC_EBADCMD);
    cr_assert_eq(parse("A12"), IRC_EBADCMD);
    cr_assert_eq(parse(":p 12 x"), IRC_EBADCMD);
    cr_assert_eq(parse("PRIV-MSG x"), IRC_EBADCMD);
    cr_assert_eq(parse("\xc3\xa9T\xc3\xa9"), IRC_EBADCMD, "non-ASCII letters");
}

Test(irc_parse, colon_as_command_position)
{
    /* ":a :b" is a prefix "a" and a command ":b", which is not letters. */
    cr_assert_eq(parse(":a :b"), IRC_EBADCMD);
}

Test(irc_parse, failure_leaves_message_cleared)
{
    cr_assert_eq(parse(":x PRIVMSG #a :hi"), IRC_OK);
    cr_assert_eq(parse("   "), IRC_EEMPTY);
    cr_assert_eq(m.nparams, 0);
    cr_assert_null(m.prefix);
    cr_assert(!m.trailing);
}

Test(irc_line_check, plain_lines)
{
    cr_assert_eq(check("PRIVMSG #a :hi"), IRC_OK);
    cr_assert_eq(irc_line_check("", 0), IRC_OK);
}

Test(irc_line_check, cr_only_at_end)
{
    cr_assert_eq(check("PRIVMSG #a :hi\r"), IRC_OK);
    cr_assert_eq(check("\r"), IRC_OK);
    cr_assert_eq(check("PRIVMSG #a :h\ri"), IRC_EBARECR);
    cr_assert_eq(check("\rQUIT"), IRC_EBARECR);
    cr_assert_eq(check("QUIT\r\r"), IRC_EBARECR);
}

Test(irc_line_check, nul_anywhere)
{
    const char mid[] = { 'A', '\0', 'B' };
    const char end[] = { 'A', 'B', '\0' };
    const char cr_end[] = { 'A', '\0', '\r' };
    cr_assert_eq(irc_line_check(mid, sizeof mid), IRC_ENUL);
    cr_assert_eq(irc_line_check(end, sizeof end), IRC_ENUL);
    cr_assert_eq(irc_line_check(cr_end, sizeof cr_end), IRC_ENUL);
}

Test(irc_line_check, looks_only_at_n_bytes)
{
    const char s[] = "AB\rC";
    cr_assert_eq(irc_line_check(s, 3), IRC_OK, "the CR is the last of 3 bytes");
    cr_assert_eq(irc_line_check(s, 4), IRC_EBARECR);
}
