/* test_irc_tags.c - unit tests for the IRCv3 tag pieces
 * (src/proto/chat/irc_tags.c) and the parser's "@tags" (irc_parse.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "proto/chat/irc.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static char out[IRC_IN_MAX];

Test(irc_tags, escape_every_special)
{
    const char v[] = "a;b c\\d\re\nf";
    cr_assert_eq(irc_tag_escape(v, strlen(v), out, sizeof out), 16);
    cr_assert_str_eq(out, "a\\:b\\sc\\\\d\\re\\nf");
    cr_assert_eq(irc_tag_escape(v, strlen(v), out, 16), SIZE_MAX, "no room for the NUL");
    cr_assert_eq(irc_tag_escape("", 0, out, 1), 0);
    cr_assert_str_eq(out, "");
}

Test(irc_tags, unescape_reverses_and_is_lenient)
{
    const char *e = "a\\:b\\sc\\\\d\\re\\nf";
    cr_assert_eq(irc_tag_unescape(e, strlen(e), out, sizeof out), 11);
    cr_assert_str_eq(out, "a;b c\\d\re\nf");
    /* An undefined escape is the letter; a lone trailing backslash goes. */
    cr_assert_eq(irc_tag_unescape("\\b\\", 3, out, sizeof out), 1);
    cr_assert_str_eq(out, "b");
    cr_assert_eq(irc_tag_unescape("abc", 3, out, 3), SIZE_MAX);
}

Test(irc_tags, key_rules)
{
    cr_assert(irc_tag_key_valid("+typing", 7));
    cr_assert(irc_tag_key_valid("+example.com/x-y", 16));
    cr_assert(irc_tag_key_valid("time", 4));
    cr_assert(!irc_tag_key_valid("+", 1));
    cr_assert(!irc_tag_key_valid("", 0));
    cr_assert(!irc_tag_key_valid("+/x", 3), "empty vendor");
    cr_assert(!irc_tag_key_valid("+v/", 3), "empty name");
    cr_assert(!irc_tag_key_valid("+a_b", 4));
    cr_assert(!irc_tag_key_valid("+a.b", 4), "'.' only in a vendor");
}

Test(irc_tags, client_tags_kept_in_canonical_form)
{
    size_t n = irc_client_tags("label=1;+a=x\\sy;time=z;+v.io/b;+c=;+bad_key=1;+d=q\\", out,
                               sizeof out);
    cr_assert_str_eq(out, "+a=x\\sy;+v.io/b;+c;+d=q");
    cr_assert_eq(n, strlen(out));
    cr_assert_eq(irc_client_tags("label=1;time=2", out, sizeof out), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(irc_client_tags("+a=12345", out, 6), SIZE_MAX);
    /* An undefined escape comes out as its letter; a raw ';' ends the
     * tag, so the backslash before it is a lone trailing one. */
    irc_client_tags("+a=\\x\\;+b", out, sizeof out);
    cr_assert_str_eq(out, "+a=x;+b");
}

Test(irc_tags, tag_get_last_wins_and_unescapes)
{
    char v[64];
    cr_assert(irc_tag_get("label=a;x=1;label=b\\sc", "label", v, sizeof v));
    cr_assert_str_eq(v, "b c");
    cr_assert(irc_tag_get("flag;y=2", "flag", v, sizeof v));
    cr_assert_str_eq(v, "");
    cr_assert(!irc_tag_get("labelx=1", "label", v, sizeof v));
    cr_assert(!irc_tag_get("label=toolong", "label", v, 4));
}

Test(irc_tags, time_format)
{
    char t[IRC_TIME_LEN + 1];
    struct timespec ts = { .tv_sec = 1796302496, .tv_nsec = 789999999 };
    cr_assert_eq(irc_time_fmt(&ts, t, sizeof t), IRC_TIME_LEN);
    cr_assert_str_eq(t, "2026-12-03T12:54:56.789Z");
    ts = (struct timespec){ .tv_sec = 0, .tv_nsec = 5000000 };
    irc_time_fmt(&ts, t, sizeof t);
    cr_assert_str_eq(t, "1970-01-01T00:00:00.005Z");
    cr_assert_eq(irc_time_fmt(&ts, t, IRC_TIME_LEN), 0, "no room for the NUL");
}

Test(irc_tags, words_fit)
{
    const char *w[] = { "away-notify", "batch", "cap-notify", "echo-message" };
    cr_assert_eq(irc_words_fit(w, 4, 200), 4);
    cr_assert_eq(irc_words_fit(w, 4, 17), 2, "\"away-notify batch\" is 17");
    cr_assert_eq(irc_words_fit(w, 4, 16), 1);
    cr_assert_eq(irc_words_fit(w, 4, 3), 1, "a long word goes alone");
    cr_assert_eq(irc_words_fit(w + 2, 2, 23), 2);
    cr_assert_eq(irc_words_fit(w, 0, 10), 0);
}

static char line[IRC_IN_MAX + 1];
static struct irc_msg m;

Test(irc_tags, parser_takes_tags)
{
    strcpy(line, "@+a=1;label=x :nick PRIVMSG #c :hi there");
    cr_assert_eq(irc_parse(line, &m), IRC_OK);
    cr_assert_str_eq(m.tags, "+a=1;label=x");
    cr_assert_str_eq(m.prefix, "nick");
    cr_assert_str_eq(m.cmd, "PRIVMSG");
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[1], "hi there");
    strcpy(line, "@a   TAGMSG #c");
    cr_assert_eq(irc_parse(line, &m), IRC_OK);
    cr_assert_str_eq(m.tags, "a");
    cr_assert_str_eq(m.cmd, "TAGMSG");
    strcpy(line, "@a=1");
    cr_assert_eq(irc_parse(line, &m), IRC_ENOCMD);
    strcpy(line, "PING x");
    cr_assert_eq(irc_parse(line, &m), IRC_OK);
    cr_assert_null(m.tags);
}
