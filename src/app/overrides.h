/* overrides.h - the command line's settings (-w, -b) laid over the
 * config file's. */
#ifndef MUXD_APP_OVERRIDES_H
#define MUXD_APP_OVERRIDES_H

#include <stddef.h>

#include "app/cli.h"
#include "app/config.h"

/* 0, or -1 with a message in err that names the option, not the file: a
 * bad -b value is the command line's mistake. */
int mx_cli_override(const struct mx_cli *cli, struct mx_config *cfg, char *err, size_t errlen);

#endif
