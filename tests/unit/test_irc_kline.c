/* test_irc_kline.c - K-line masks (normalised, each refusal with its
 * reason), matching and expiry, the capped list, and the file: its text
 * both ways (file:line errors) and its atomic write read back. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/chat/kline.h"

static void norm_ok(const char *in, const char *want)
{
    char out[KLINE_MASK_MAX + 1];
    const char *why = NULL;
    cr_assert_eq(kline_mask_norm(in, out, sizeof out, &why), 0, "%s: %s", in, why);
    cr_assert_str_eq(out, want);
}

static void norm_bad(const char *in, const char *why_has)
{
    char out[KLINE_MASK_MAX + 1];
    const char *why = NULL;
    cr_assert_eq(kline_mask_norm(in, out, sizeof out, &why), -1, "%s was taken", in);
    cr_assert(why && strstr(why, why_has), "%s: %s", in, why);
}

Test(irc_kline, masks_are_normalised)
{
    norm_ok("*@127.0.0.5", "*@127.0.0.5");
    norm_ok("Bob@Host.EXAMPLE", "bob@host.example");
    norm_ok("***x@**.example.com", "*x@*.example.com");
    norm_ok("~u?@0::1", "~u?@0::1");
    norm_ok("*@10.0.*", "*@10.0.*");
}

Test(irc_kline, bad_masks_say_why)
{
    norm_bad("", "user@host");
    norm_bad("127.0.0.5", "user@host");
    norm_bad("@host", "user@host");
    norm_bad("user@", "user@host");
    norm_bad("a@b@c", "user@host");
    norm_bad("a,b@host", "user part");
    norm_bad("a b@host", "user part");
    norm_bad("a@10.0.0.0/8", "host part");
    norm_bad("a@h\x01", "host part");
    norm_bad("a@h\xc3\xa9", "host part");
    norm_bad("*@*", "ban everyone");
    norm_bad("x@*.*", "ban everyone");
    norm_bad("*@*:*", "ban everyone");
    char longhost[100];
    memset(longhost, 'h', sizeof longhost - 1);
    longhost[0] = '*';
    longhost[1] = '@';
    longhost[sizeof longhost - 1] = '\0';
    norm_bad(longhost, "at most 64");
    norm_bad("abcdefghijklmnopq@h", "too long");
}

static struct kline kl(const char *mask, int64_t expires, const char *reason)
{
    struct kline k = { .expires = expires, .set_at = 100 };
    snprintf(k.mask, sizeof k.mask, "%s", mask);
    snprintf(k.by, sizeof k.by, "oper");
    snprintf(k.reason, sizeof k.reason, "%s", reason);
    return k;
}

Test(irc_kline, matching_and_expiry)
{
    struct kline k = kl("*@127.0.0.5", 0, "r");
    cr_assert(kline_matches(&k, "bob", "127.0.0.5", 1000));
    cr_assert_not(kline_matches(&k, "bob", "127.0.0.50", 1000));
    struct kline u = kl("bad*@*.example", 0, "r");
    cr_assert(kline_matches(&u, "BADGUY", "x.EXAMPLE", 1000));
    cr_assert_not(kline_matches(&u, "good", "x.example", 1000));
    struct kline t = kl("*@h", 200, "r");
    cr_assert(kline_matches(&t, "u", "h", 199));
    cr_assert_not(kline_matches(&t, "u", "h", 200));
    struct kline_list l = { 0 };
    cr_assert_eq(kline_put(&l, &k, 10, 0), 0);
    cr_assert_eq(kline_put(&l, &t, 10, 0), 0);
    cr_assert_eq(kline_find(&l, "u", "h", 150), &l.v[1]);
    cr_assert_null(kline_find(&l, "u", "h", 250));
    kline_expire(&l, 250);
    cr_assert_eq(l.n, 1);
    kline_list_free(&l);
}

Test(irc_kline, the_list_replaces_caps_and_removes)
{
    struct kline_list l = { 0 };
    struct kline a = kl("*@a", 0, "one"), b = kl("*@b", 50, "two"), c = kl("*@c", 0, "three");
    cr_assert_eq(kline_put(&l, &a, 2, 0), 0);
    cr_assert_eq(kline_put(&l, &b, 2, 0), 0);
    cr_assert_eq(kline_put(&l, &c, 2, 0), -ENOSPC);
    struct kline a2 = kl("*@a", 0, "again");
    cr_assert_eq(kline_put(&l, &a2, 2, 0), 0, "the same mask replaces, even when full");
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0].reason, "again");
    /* Expired ones make room. */
    cr_assert_eq(kline_put(&l, &c, 2, 60), 0);
    cr_assert(kline_remove(&l, "*@a"));
    cr_assert_not(kline_remove(&l, "*@a"));
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.v[0].mask, "*@c");
    kline_list_free(&l);
}

static int parse(const char *text, struct kline_list *l, unsigned max, char *why, size_t len,
                 unsigned *line)
{
    return kline_parse_text(text, l, max, 1000, line, why, len);
}

Test(irc_kline, text_round_trip)
{
    struct kline_list l = { 0 }, back = { 0 };
    struct kline a = kl("*@a", 0, "spam: and more"), b = kl("u@b", 5000, ""),
                 old = kl("*@old", 500, "gone");
    kline_put(&l, &a, 10, 0);
    kline_put(&l, &b, 10, 0);
    kline_put(&l, &old, 10, 0);
    size_t n;
    char *text = kline_format(&l, 1000, &n);
    cr_assert_eq(strlen(text), n);
    cr_assert(strstr(text, "*@a 0 100 oper :spam: and more\n"), "%s", text);
    cr_assert_null(strstr(text, "*@old"), "an expired K-line is written: %s", text);
    char why[200];
    unsigned line;
    cr_assert_eq(parse(text, &back, 10, why, sizeof why, &line), 0, "%s", why);
    cr_assert_eq(back.n, 2);
    cr_assert_str_eq(back.v[0].reason, "spam: and more");
    cr_assert_eq(back.v[1].expires, 5000);
    cr_assert_str_eq(back.v[1].reason, "");
    free(text);
    kline_list_free(&l);
    kline_list_free(&back);
}

static void text_bad(const char *text, unsigned max, unsigned want_line, const char *why_has)
{
    struct kline_list l = { 0 };
    char why[200];
    unsigned line;
    cr_assert_eq(parse(text, &l, max, why, sizeof why, &line), -1, "taken: %s", text);
    cr_assert_eq(line, want_line, "%s: line %u", text, line);
    cr_assert(strstr(why, why_has), "%s: %s", text, why);
    cr_assert_eq(l.n, 0);
}

Test(irc_kline, bad_text_names_the_line)
{
    const char *ok = "# comment\n\n*@a 0 1 x :r\r\n";
    struct kline_list l = { 0 };
    char why[200];
    unsigned line;
    cr_assert_eq(parse(ok, &l, 10, why, sizeof why, &line), 0, "%s", why);
    cr_assert_eq(l.n, 1);
    kline_list_free(&l);
    text_bad("*@a 0 1 x :r\nnomask 0 1 x :r\n", 10, 2, "user@host");
    text_bad("*@a never 1 x :r\n", 10, 1, "expiry");
    text_bad("*@a 0 -1 x :r\n", 10, 1, "was set");
    text_bad("*@a 0 1 :r\n", 10, 1, "who set it");
    text_bad("*@a 0 1 x r\n", 10, 1, "':'");
    text_bad("*@a 0 1 x :r\n*@A 0 1 y :s\n", 10, 2, "same mask");
    text_bad("*@a 0 1 x :r\n*@b 0 1 x :r\n", 1, 2, "max_klines");
    char big[700];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "*@a 0 1 x :", 11);
    text_bad(big, 10, 1, "longer than");
    /* An expired line counts for nothing, not even against the cap. */
    cr_assert_eq(parse("*@a 5 1 x :r\n*@b 0 1 x :r\n", &l, 1, why, sizeof why, &line), 0);
    kline_list_free(&l);
}

Test(irc_kline, the_file_is_replaced_whole_and_read_back)
{
    char dir[] = "/tmp/muxd-kline-unit-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[128], err[300];
    snprintf(path, sizeof path, "%s/k", dir);
    struct kline_list l = { 0 };
    struct kline_stamp st0, st1, st2;
    cr_assert_eq(kline_file_load(path, 10, 1000, &l, &st0, err, sizeof err), 0, "%s", err);
    cr_assert_not(st0.exists);
    const char *text = "*@a 0 1 x :r\n";
    cr_assert_eq(kline_file_write(path, text, strlen(text), err, sizeof err), 0, "%s", err);
    cr_assert_eq(kline_file_load(path, 10, 1000, &l, &st1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l.n, 1);
    cr_assert(st1.exists && !kline_stamp_same(&st0, &st1));
    kline_file_stamp(path, &st2);
    cr_assert(kline_stamp_same(&st1, &st2));
    cr_assert_eq(access(path, F_OK), 0);
    char tmp[140];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "the temporary file stays");
    text = "*@a 0 1 x :r\nbad\n";
    cr_assert_eq(kline_file_write(path, text, strlen(text), err, sizeof err), 0, "%s", err);
    cr_assert_eq(kline_file_load(path, 10, 1000, &l, &st2, err, sizeof err), -1);
    char want[160];
    snprintf(want, sizeof want, "%s:2: ", path);
    cr_assert(strstr(err, want), "%s", err);
    /* A directory that is not there: the write says what failed. */
    char nowhere[160];
    snprintf(nowhere, sizeof nowhere, "%s/no/k", dir);
    cr_assert_lt(kline_file_write(nowhere, text, strlen(text), err, sizeof err), 0);
    cr_assert(strstr(err, "cannot create"), "%s", err);
    unlink(path);
    rmdir(dir);
    kline_list_free(&l);
}
