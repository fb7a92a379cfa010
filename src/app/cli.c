/* cli.c - the daemon's command line, parsed with getopt_long. */
#include "app/cli.h"

#include <getopt.h>
#include <string.h>

#include "app/units.h"

/* Set by the build to SYSCONFDIR/muxd/muxd.conf of the install prefix. */
#ifndef MUXD_DEFAULT_CONFIG
#define MUXD_DEFAULT_CONFIG "/etc/muxd/muxd.conf"
#endif
#define DEFAULT_CONFIG MUXD_DEFAULT_CONFIG
#define MAX_WORKERS 256

/* Long-only options get values past any char so they cannot clash. */
enum { OPT_CHECK_CONFIG = 256, OPT_VERSION };

static const struct option long_opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "workers", required_argument, NULL, 'w' },
    { "backend", required_argument, NULL, 'b' },
    { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* '+': stop at the first non-option instead of permuting argv, so a stray
 * word is reported rather than skipped. ':': report a missing argument
 * apart from an unknown option. */
static const char short_opts[] = "+:c:w:b:h";

static const char *long_name(int val)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == val)
            return o->name;
    return NULL;
}

/* The offending option as the user spelled it. A missing value can only be
 * at the end of argv, so argv[optind - 1] holds it. Otherwise optopt tells:
 * 0 for an unknown long option (which getopt has stepped past), the value of
 * a known option for "--version=x", else the unknown short letter. */
static int bad_option(int c, char **argv, char *err, size_t errlen)
{
    const char *arg = argv[optind - 1];
    const char *name = long_name(optopt);

    if (c == ':' && strncmp(arg, "--", 2) == 0)
        snprintf(err, errlen, "option '%s' needs a value", arg);
    else if (c == ':')
        snprintf(err, errlen, "option '-%c' needs a value", optopt);
    else if (optopt == 0)
        snprintf(err, errlen, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
    else if (name)
        snprintf(err, errlen, "option '--%s' takes no value", name);
    else
        snprintf(err, errlen, "unknown option '-%c'", optopt);
    return -1;
}

static int parse_workers(const char *arg, struct mx_cli *out, char *err, size_t errlen)
{
    unsigned long n;

    /* 0 means "one per CPU" in the file, but here leaving -w out says that
     * already, so a 0 is more likely a mistake. */
    if (mx_parse_uint(arg, MAX_WORKERS, &n) != 0 || n == 0) {
        snprintf(err, errlen, "-w/--workers: expected a number from 1 to %d, got '%s'",
                 MAX_WORKERS, arg);
        return -1;
    }
    out->workers = (long)n;
    return 0;
}

static int non_empty(const char *what, const char *arg, char *err, size_t errlen)
{
    if (*arg)
        return 0;
    snprintf(err, errlen, "%s: expected a value, got ''", what);
    return -1;
}

static int apply(int c, char **argv, struct mx_cli *out, char *err, size_t errlen)
{
    switch (c) {
    case 'c':
        out->config_path = optarg;
        return non_empty("-c/--config", optarg, err, errlen);
    case 'w':
        return parse_workers(optarg, out, err, errlen);
    case 'b':
        out->backend = optarg;
        return non_empty("-b/--backend", optarg, err, errlen);
    case OPT_CHECK_CONFIG:
        out->check_config = true;
        return 0;
    case OPT_VERSION:
        out->version = true;
        return 0;
    case 'h':
        out->help = true;
        return 0;
    default:
        return bad_option(c, argv, err, errlen);
    }
}

int mx_cli_parse(int argc, char **argv, struct mx_cli *out, char *err, size_t errlen)
{
    int c;

    *out = (struct mx_cli){ .config_path = DEFAULT_CONFIG, .workers = -1 };
    /* 0 rather than 1 makes glibc forget a half-read cluster left over
     * from an earlier call, so tests can parse many command lines. */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        if (apply(c, argv, out, err, errlen))
            return -1;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

void mx_cli_usage(FILE *out)
{
    fputs("usage: muxd [-c FILE] [-w N] [-b NAME] [--check-config] [--version] [-h]\n"
          "\n"
          "  -c, --config FILE   config file (default " DEFAULT_CONFIG ")\n"
          "  -w, --workers N     reactor threads, 1 to 256; overrides [server] workers\n"
          "  -b, --backend NAME  I/O backend; overrides [server] backend\n"
          "      --check-config  check the config, print the effective settings, exit\n"
          "      --version       print the version and exit\n"
          "  -h, --help          print this help and exit\n",
          out);
}
