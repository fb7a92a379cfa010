/* cli.h - the daemon's command line. Flags override the config file. */
#ifndef MUXD_APP_CLI_H
#define MUXD_APP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct mx_cli {
    const char *config_path;     /* -c FILE; default "config/muxd.conf" */
    long workers;                /* -w/--workers N; -1 = not given */
    const char *backend;         /* -b/--backend NAME; NULL = not given */
    bool check_config;           /* --check-config */
    bool version;                /* --version */
    bool help;                   /* -h/--help */
};

/* 0 on success; -1 with a one-line message in err (the caller prints usage
 * and exits 2). */
int mx_cli_parse(int argc, char **argv, struct mx_cli *out, char *err, size_t errlen);

/* The usage text. */
void mx_cli_usage(FILE *out);

#endif
