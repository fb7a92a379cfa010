/* overrides.c - -w and -b over the config file (see overrides.h). */
#include "app/overrides.h"

#include <stdio.h>

#include "app/config_keys.h"

int mx_cli_override(const struct mx_cli *cli, struct mx_config *cfg, char *err, size_t errlen)
{
    char why[256];

    if (cli->workers > 0)
        cfg->workers = (unsigned)cli->workers;
    if (!cli->backend)
        return 0;
    /* The file's own row parses it, so both accept the same names. */
    const struct mx_cfg_key *k = mx_cfg_key_find(MX_SECT_SERVER, "backend");
    if (k && mx_cfg_key_set(k, cfg, cli->backend, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "-b/--backend: %s", k ? why : "no such setting");
    return -1;
}
