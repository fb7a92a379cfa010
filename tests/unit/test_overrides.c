/* test_overrides.c - the command line over the config file (-w, -b), and
 * max_connections against the descriptor ceiling. */
#include <criterion/criterion.h>

#include <string.h>

#include "app/cli.h"
#include "app/config.h"
#include "app/fdlimit.h"
#include "app/overrides.h"

static char err[512];

static int override(struct mx_config *cfg, char **argv)
{
    struct mx_cli cli;
    int argc = 0;
    while (argv[argc])
        argc++;
    cr_assert_eq(mx_cli_parse(argc, argv, &cli, err, sizeof err), 0, "%s", err);
    mx_config_default(cfg);
    err[0] = '\0';
    return mx_cli_override(&cli, cfg, err, sizeof err);
}

Test(overrides, workers_and_backend)
{
    struct mx_config cfg;
    cr_assert_eq(override(&cfg, (char *[]){ "muxd", "-w", "3", "-b", "poll", NULL }), 0, "%s",
                 err);
    cr_assert_eq(cfg.workers, 3);
    cr_assert_str_eq(cfg.backend, "poll");
    cr_assert_eq(override(&cfg, (char *[]){ "muxd", NULL }), 0);
    cr_assert_str_eq(cfg.backend, "auto");
}

/* The mistake is on the command line: the message must not send the
 * reader to the config file. */
Test(overrides, unknown_backend_blames_the_command_line)
{
    struct mx_config cfg;
    cr_assert_eq(override(&cfg, (char *[]){ "muxd", "-b", "kqueue", NULL }), -1);
    cr_assert_str_eq(err, "-b/--backend: expected one of auto, epoll, io_uring, poll, "
                          "got 'kqueue'");
}

Test(fdlimit, fits_or_warns)
{
    char buf[512] = "";
    cr_assert_not(mx_fd_ceiling_warning(1000, 1048576, buf, sizeof buf));
    cr_assert_not(mx_fd_ceiling_warning(100000, 0, buf, sizeof buf), "0: no limit");
    cr_assert_not(mx_fd_ceiling_warning(1024 - MX_FD_RESERVE, 1024, buf, sizeof buf));
    cr_assert(mx_fd_ceiling_warning(1024 - MX_FD_RESERVE + 1, 1024, buf, sizeof buf));
    cr_assert(mx_fd_ceiling_warning(100000, 1024, buf, sizeof buf));
    cr_assert_not_null(strstr(buf, "max_connections = 100000"), "%s", buf);
    cr_assert_not_null(strstr(buf, "at most 1024 descriptors (hard RLIMIT_NOFILE)"), "%s", buf);
    cr_assert(mx_fd_ceiling_warning(1, 10, buf, sizeof buf), "less than the reserve");
}
