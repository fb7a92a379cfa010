/* config_keys.h - the key table as the file reader in config.c sees it.
 *
 * Rows stay opaque so that what a key accepts is decided in one place
 * (config_keys.c): the reader finds a row, stores text through it and numbers
 * rows to catch a key given twice; defaults and per-value checks stay here.
 */
#ifndef MUXD_APP_CONFIG_KEYS_H
#define MUXD_APP_CONFIG_KEYS_H

#include <stddef.h>

#include "app/config.h"

enum mx_cfg_sect {
    MX_SECT_NONE, MX_SECT_SERVER, MX_SECT_LISTENER, MX_SECT_LIMITS, MX_SECT_LOG,
    MX_SECT_OFFLOAD,
    MX_SECT_COUNT
};

/* Indexed by enum mx_cfg_sect; "" for MX_SECT_NONE. */
extern const char *const mx_cfg_sect_names[];

/* The reader sizes its per-key bookkeeping by this, so it has to be a
 * constant; config_keys.c fails to build when it drifts from the table. */
#define MX_CFG_NKEYS 28

#define MX_CFG_LISTEN_SHAPE "host:port, [v6addr]:port or *:port"

struct mx_cfg_key;

/* NULL when section s has no such key. */
const struct mx_cfg_key *mx_cfg_key_find(enum mx_cfg_sect s, const char *name);

/* 0 .. MX_CFG_NKEYS - 1. */
size_t mx_cfg_key_row(const struct mx_cfg_key *k);

/* Parses v as row k into base: a struct mx_config, or a struct
 * mx_listener_cfg for listener rows. On error returns -1 and writes the
 * reason, without file or key, into why. */
int mx_cfg_key_set(const struct mx_cfg_key *k, void *base, const char *v, char *why, size_t len);

void mx_cfg_listener_defaults(struct mx_listener_cfg *lsn);

/* Every value of cfg through its row, for values set in code rather than
 * read from a file; err as mx_config_validate writes it. */
int mx_cfg_check_values(const struct mx_config *cfg, const char *path, char *err, size_t errlen);

#endif
