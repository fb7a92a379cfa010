/* test_cli.c - the command line: every flag, overrides, mistakes. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "app/cli.h"

static struct mx_cli cli;
static char err[256];

/* argv as main gets it: argv[0], the words, then NULL. */
#define PARSE(...) parse((char *[]){ "muxd", __VA_ARGS__, NULL })
#define PARSE_NONE() parse((char *[]){ "muxd", NULL })

static int parse(char **argv)
{
    int argc = 0;

    while (argv[argc])
        argc++;
    err[0] = '\0';
    return mx_cli_parse(argc, argv, &cli, err, sizeof err);
}

static void parse_ok(char **argv)
{
    cr_assert_eq(parse(argv), 0, "%s", err);
}

static void expect_error(char **argv, const char *want)
{
    cr_assert_eq(parse(argv), -1, "accepted %s", argv[1]);
    cr_assert_str_eq(err, want);
}

Test(cli, defaults)
{
    cr_assert_eq(PARSE_NONE(), 0, "%s", err);
    cr_assert_str_eq(cli.config_path, MUXD_DEFAULT_CONFIG);
    cr_assert(cli.config_path[0] == '/', "the default config is not an absolute path");
    cr_assert_eq(cli.workers, -1);
    cr_assert_null(cli.backend);
    cr_assert_not(cli.check_config);
    cr_assert_not(cli.version);
    cr_assert_not(cli.help);
}

Test(cli, config_path)
{
    parse_ok((char *[]){ "muxd", "-c", "a.conf", NULL });
    cr_assert_str_eq(cli.config_path, "a.conf");
    parse_ok((char *[]){ "muxd", "-cb.conf", NULL });
    cr_assert_str_eq(cli.config_path, "b.conf");
    parse_ok((char *[]){ "muxd", "--config", "c.conf", NULL });
    cr_assert_str_eq(cli.config_path, "c.conf");
    parse_ok((char *[]){ "muxd", "--config=d.conf", NULL });
    cr_assert_str_eq(cli.config_path, "d.conf");
}

Test(cli, workers)
{
    parse_ok((char *[]){ "muxd", "-w", "1", NULL });
    cr_assert_eq(cli.workers, 1);
    parse_ok((char *[]){ "muxd", "-w256", NULL });
    cr_assert_eq(cli.workers, 256);
    parse_ok((char *[]){ "muxd", "--workers", "8", NULL });
    cr_assert_eq(cli.workers, 8);
    parse_ok((char *[]){ "muxd", "--workers=3", "-w", "5", NULL });
    cr_assert_eq(cli.workers, 5, "the last one wins");
}

Test(cli, bad_workers)
{
    static const char *const bad[] = { "0", "257", "-1", "abc", "4x", "", " 4", "auto", NULL };
    char want[128];

    for (int i = 0; bad[i]; i++) {
        snprintf(want, sizeof want,
                 "-w/--workers: expected a number from 1 to 256, got '%s'", bad[i]);
        expect_error((char *[]){ "muxd", "-w", (char *)bad[i], NULL }, want);
        expect_error((char *[]){ "muxd", "--workers", (char *)bad[i], NULL }, want);
    }
}

Test(cli, backend)
{
    parse_ok((char *[]){ "muxd", "-b", "epoll", NULL });
    cr_assert_str_eq(cli.backend, "epoll");
    parse_ok((char *[]){ "muxd", "--backend=auto", NULL });
    cr_assert_str_eq(cli.backend, "auto");
    /* Which names exist is the config's business (mx_config_validate). */
    parse_ok((char *[]){ "muxd", "--backend", "io_uring", NULL });
    cr_assert_str_eq(cli.backend, "io_uring");
    expect_error((char *[]){ "muxd", "-b", "", NULL }, "-b/--backend: expected a value, got ''");
}

Test(cli, switches)
{
    parse_ok((char *[]){ "muxd", "--check-config", NULL });
    cr_assert(cli.check_config);
    cr_assert_not(cli.version);
    parse_ok((char *[]){ "muxd", "--version", NULL });
    cr_assert(cli.version);
    cr_assert_not(cli.check_config);
    parse_ok((char *[]){ "muxd", "-h", NULL });
    cr_assert(cli.help);
    parse_ok((char *[]){ "muxd", "--help", NULL });
    cr_assert(cli.help);
    parse_ok((char *[]){ "muxd", "--check", NULL });
    cr_assert(cli.check_config, "a unique prefix is enough");
}

Test(cli, everything_at_once)
{
    parse_ok((char *[]){ "muxd", "--check-config", "-c", "x.conf", "-w", "4",
                         "--backend", "epoll", NULL });
    cr_assert(cli.check_config);
    cr_assert_str_eq(cli.config_path, "x.conf");
    cr_assert_eq(cli.workers, 4);
    cr_assert_str_eq(cli.backend, "epoll");
    cr_assert_not(cli.help);
}

Test(cli, unknown_options)
{
    expect_error((char *[]){ "muxd", "--bogus", NULL }, "unknown option '--bogus'");
    expect_error((char *[]){ "muxd", "--bogus=1", NULL }, "unknown option '--bogus'");
    expect_error((char *[]){ "muxd", "-x", NULL }, "unknown option '-x'");
    expect_error((char *[]){ "muxd", "-hx", NULL }, "unknown option '-x'");
    expect_error((char *[]){ "muxd", "--check-config", "-xh", NULL }, "unknown option '-x'");
    expect_error((char *[]){ "muxd", "--c", NULL }, "unknown option '--c'");
}

Test(cli, values_missing_or_unwanted)
{
    expect_error((char *[]){ "muxd", "-c", NULL }, "option '-c' needs a value");
    expect_error((char *[]){ "muxd", "-hw", NULL }, "option '-w' needs a value");
    expect_error((char *[]){ "muxd", "--backend", NULL }, "option '--backend' needs a value");
    expect_error((char *[]){ "muxd", "--version=2", NULL }, "option '--version' takes no value");
    expect_error((char *[]){ "muxd", "--help=yes", NULL }, "option '--help' takes no value");
}

Test(cli, stray_words)
{
    expect_error((char *[]){ "muxd", "muxd.conf", NULL }, "unexpected argument 'muxd.conf'");
    expect_error((char *[]){ "muxd", "-w", "2", "extra", "-h", NULL },
                 "unexpected argument 'extra'");
}

Test(cli, parses_again_after_a_failure)
{
    /* A failure inside "-hx" leaves getopt mid-cluster; the next parse must
     * start afresh. */
    cr_assert_eq(PARSE("-hx"), -1);
    cr_assert_eq(PARSE("-w", "2"), 0, "%s", err);
    cr_assert_eq(cli.workers, 2);
    cr_assert_not(cli.help);
    cr_assert_eq(PARSE_NONE(), 0, "%s", err);
    cr_assert_eq(cli.workers, -1);
}

Test(cli, usage_lists_every_flag)
{
    static const char *const flags[] = {
        "usage: muxd", "-c, --config FILE", "-w, --workers N", "-b, --backend NAME",
        "--check-config", "--version", "-h, --help", MUXD_DEFAULT_CONFIG, NULL,
    };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    mx_cli_usage(f);
    fclose(f);
    for (int i = 0; flags[i]; i++)
        cr_assert_not_null(strstr(text, flags[i]), "usage lacks '%s':\n%s", flags[i], text);
    free(text);
}
