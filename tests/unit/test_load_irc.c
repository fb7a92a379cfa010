/* test_load_irc.c - chat mode's IRC line splitting and the load message
 * texts: round trips through format and parse, corrupt and foreign texts. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "irc.h"

static struct ld_irc_line parse(const char *text, char *buf, size_t len)
{
    struct ld_irc_line m;
    snprintf(buf, len, "%s", text);
    cr_assert_eq(ld_irc_parse(buf, &m), 0, "'%s' did not parse", text);
    return m;
}

Test(load_irc, tags_skipped)
{
    char buf[256];
    struct ld_irc_line m = parse("@time=2026-12-03T12:00:00.000Z;+a=b :ld1!u@h PRIVMSG #c :x y",
                                 buf, sizeof buf);
    cr_assert_str_eq(m.prefix, "ld1!u@h");
    cr_assert_str_eq(m.cmd, "PRIVMSG");
    cr_assert_str_eq(m.params[1], "x y");
}

Test(load_irc, privmsg_with_prefix)
{
    char buf[256];
    struct ld_irc_line m = parse(":ld5!~ld5@localhost PRIVMSG #load0 :1 2 3 abc def", buf,
                                 sizeof buf);
    cr_assert_str_eq(m.prefix, "ld5!~ld5@localhost");
    cr_assert_str_eq(m.cmd, "PRIVMSG");
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[0], "#load0");
    cr_assert_str_eq(m.params[1], "1 2 3 abc def");
}

Test(load_irc, numerics_ping_and_blanks)
{
    char buf[256];
    struct ld_irc_line m = parse(":irc.example 001 ld0 :Welcome to the net", buf, sizeof buf);
    cr_assert_str_eq(m.cmd, "001");
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[1], "Welcome to the net");
    m = parse("PING :irc.example", buf, sizeof buf);
    cr_assert_str_eq(m.prefix, "");
    cr_assert_str_eq(m.cmd, "PING");
    cr_assert_str_eq(m.params[0], "irc.example");
    m = parse(":a  JOIN   #chan", buf, sizeof buf);
    cr_assert_str_eq(m.cmd, "JOIN");
    cr_assert_eq(m.nparams, 1);
    cr_assert_str_eq(m.params[0], "#chan");
    m = parse(":srv 433 * ld0 :Nickname is already in use", buf, sizeof buf);
    cr_assert_str_eq(m.cmd, "433");
    cr_assert_str_eq(m.params[1], "ld0");
    char empty[4] = "";
    struct ld_irc_line none;
    cr_assert_eq(ld_irc_parse(empty, &none), -1);
    char only_prefix[] = ":srv";
    cr_assert_eq(ld_irc_parse(only_prefix, &none), -1);
}

Test(load_irc, fifteen_params_at_most)
{
    char buf[256];
    struct ld_irc_line m = parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", buf, sizeof buf);
    cr_assert_eq(m.nparams, LD_IRC_MAX_PARAMS);
    cr_assert_str_eq(m.params[14], "15 16 17");
}

Test(load_irc, load_text_round_trip)
{
    char buf[512];
    const size_t sizes[] = { 1, 20, 64, 400 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct ld_load_msg m = { .sender = 17, .seq = 123456789012ull,
                                 .ts_ns = 987654321098765ull }, back;
        size_t len = ld_load_format(buf, sizeof buf, &m, sizes[i]);
        cr_assert_gt(len, 0);
        cr_assert_eq(len, strlen(buf));
        cr_assert_eq(len, ld_load_len(&m, sizes[i]));
        cr_assert(len >= sizes[i]);
        cr_assert(sizes[i] < 40 || len == sizes[i], "size %zu gave %zu", sizes[i], len);
        cr_assert_eq(ld_load_parse(buf, &back), 0, "'%s'", buf);
        cr_assert_eq(back.sender, m.sender);
        cr_assert_eq(back.seq, m.seq);
        cr_assert_eq(back.ts_ns, m.ts_ns);
    }
}

Test(load_irc, corrupt_and_foreign_texts)
{
    char buf[512];
    struct ld_load_msg m = { .sender = 3, .seq = 9, .ts_ns = 1000 }, back;
    size_t len = ld_load_format(buf, sizeof buf, &m, 100);
    buf[len - 5] ^= 0x01; /* one padding byte flipped */
    cr_assert_eq(ld_load_parse(buf, &back), -2);
    cr_assert_eq(ld_load_parse("hello world", &back), -1);
    cr_assert_eq(ld_load_parse("1 2", &back), -1);
    cr_assert_eq(ld_load_parse("1 x 3 ", &back), -1);
    cr_assert_eq(ld_load_parse("99999999999 2 3 ", &back), -1);
    /* Found by tests/fuzz/fuzz_load_irc: a number ld_load_format would
     * not write is a corrupted one, not the same message. */
    cr_assert_eq(ld_load_parse("8 01 7 ", &back), -1);
    cr_assert_eq(ld_load_parse("0 0 0 ", &back), 0);
    /* Too small a buffer is refused, not overrun. */
    cr_assert_eq(ld_load_format(buf, 10, &m, 100), 0);
}
