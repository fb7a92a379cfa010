/* config_keys.h - key table rows, for the file reader in config.c and for
 * the protocols that list their own listener keys (protocols.h).
 *
 * Rows are visible so that each protocol's file can carry its keys; what a
 * type of value accepts, how it is stored and printed is still decided in
 * one place (config_keys.c). The reader finds a row, stores text through it
 * and numbers the global rows to catch a key given twice.
 */
#ifndef MUXD_APP_CONFIG_KEYS_H
#define MUXD_APP_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/config.h"

enum mx_cfg_sect {
    MX_SECT_NONE, MX_SECT_SERVER, MX_SECT_LISTENER, MX_SECT_LIMITS, MX_SECT_LOG,
    MX_SECT_OFFLOAD, MX_SECT_ADMIN, MX_SECT_OPER, MX_SECT_CLUSTER,
    MX_SECT_COUNT
};

/* Indexed by enum mx_cfg_sect; "" for MX_SECT_NONE. */
extern const char *const mx_cfg_sect_names[];

/* MX_CFG_ADDR: a listen address; a row whose default is "off" also takes
 * "off", stored as "". MX_CFG_TEXT: one word of printable bytes, no spaces (names, paths,
 * secrets). MX_CFG_PROTO: a protocol's name in the registry, stored as
 * text. MX_CFG_CRYPT: a crypt(3) hash, $6$ (SHA-512) or $y$ (yescrypt), stored as
 * text; anything else (a plain-text password) is refused. MX_CFG_ENUM stores the index into choices as a 32-bit number.
 * MX_CFG_CIDRS: comma-separated addresses and ranges, as the server
 * parses them (mx_proxy_from_check), stored as text. MX_CFG_HOSTPORT: an
 * address to connect to, HOST:PORT with a host name allowed
 * (mx_hostport_parse), or "" for none; stored as text. MX_CFG_NAME: ""
 * or 1 to max characters of A-Z a-z 0-9 . _ - (a name other machines
 * see), stored as text. */
enum mx_cfg_type {
    MX_CFG_UINT, MX_CFG_SIZE, MX_CFG_DURATION, MX_CFG_ENUM, MX_CFG_WORD, MX_CFG_ADDR,
    MX_CFG_TEXT, MX_CFG_PROTO, MX_CFG_CRYPT, MX_CFG_CIDRS, MX_CFG_HOSTPORT, MX_CFG_NAME
};

struct mx_cfg_key {
    enum mx_cfg_sect sect;
    const char *name;
    enum mx_cfg_type type;
    size_t off;                  /* in the struct the row's base points to */
    size_t width;                /* sizeof the field */
    unsigned long long min, max; /* UINT, SIZE, DURATION (ms); NAME: max = longest */
    bool has_auto;               /* "auto" is accepted and stored as auto_val */
    unsigned long long auto_val; /* outside min..max, so it reads back as auto */
    const char *const *choices;  /* ENUM, WORD; NULL-terminated */
    const char *def;             /* NULL: must be given */
    bool secret;                 /* printed as MX_CFG_SECRET_SHOWN when set */
    const char *help;
    bool live;                   /* a reload (SIGHUP) applies it */
};

/* .off and .width of a row for field f of struct type. */
#define MX_CFG_FIELD(type, f) .off = offsetof(type, f), .width = sizeof(((type *)0)->f)

#define MX_CFG_KIB 1024ULL
#define MX_CFG_MIB (1024ULL * MX_CFG_KIB)
#define MX_CFG_GIB (1024ULL * MX_CFG_MIB)
#define MX_CFG_SEC 1000ULL   /* durations are stored in ms */

/* The reader sizes its per-key bookkeeping by this, so it has to be a
 * constant; config_keys.c fails to build when it drifts from the table. */
#define MX_CFG_NKEYS 54

/* What --check-config shows of a secret that is set: its output goes to
 * terminals, logs and bug reports. */
#define MX_CFG_SECRET_SHOWN "********"

#define MX_CFG_LISTEN_SHAPE "host:port, [v6addr]:port or *:port"

/* A row of config_keys.c's own table (not a protocol's); NULL when
 * section s has no such key. */
const struct mx_cfg_key *mx_cfg_key_find(enum mx_cfg_sect s, const char *name);

/* 0 .. MX_CFG_NKEYS - 1, for rows mx_cfg_key_find returns. */
size_t mx_cfg_key_row(const struct mx_cfg_key *k);

/* Parses v as row k into base: a struct mx_config, a struct
 * mx_listener_cfg, or a protocol's own block, as the row says. On error
 * returns -1 and writes the reason, without file or key, into why. */
int mx_cfg_key_set(const struct mx_cfg_key *k, void *base, const char *v, char *why, size_t len);

/* A listener key: one of every listener's (listen, protocol), else the
 * key of each protocol that has one by that name, stored in that
 * protocol's block whatever l's protocol (it may be named further down).
 * 0 with *key set to the row's name; -ENOENT for no such key; -EINVAL
 * with the reason in why for a bad value. */
int mx_cfg_listener_set(struct mx_listener_cfg *l, const char *name, const char *v,
                        const char **key, char *why, size_t len);

void mx_cfg_listener_defaults(struct mx_listener_cfg *lsn);

/* Row k's value in base as config text ("8k", "30s", "raw", ...). */
void mx_cfg_key_format(const struct mx_cfg_key *k, const void *base, char *buf, size_t len);

/* What row k allows, for docs/config.md's reference table. */
void mx_cfg_key_describe(const struct mx_cfg_key *k, char *buf, size_t len);

/* Every value of cfg through its row, for values set in code rather than
 * read from a file; err as mx_config_validate writes it. */
int mx_cfg_check_values(const struct mx_config *cfg, const char *path, char *err, size_t errlen);

/* One difference between a running config and a new one (a reload). */
struct mx_cfg_change {
    const char *label;             /* "limits", "listener chat", ... */
    const struct mx_cfg_key *key;  /* NULL: a whole listener came or went */
    const char *was, *now;         /* config text; NULL where it is absent */
    void *run_base;                /* the key's struct in the running config */
    const void *next_base;         /* and in the new one */
};
typedef void mx_cfg_change_fn(const struct mx_cfg_change *ch, void *arg);

/* fn for every key whose value differs between run and next: the global
 * sections, then each listener (matched by name; its protocol's keys when
 * both speak the same), then listeners that went and came. */
void mx_config_diff(struct mx_config *run, const struct mx_config *next, mx_cfg_change_fn *fn,
                    void *arg);

/* Copies row k's field from the struct at src to the one at dst. */
void mx_cfg_key_copy(const struct mx_cfg_key *k, void *dst, const void *src);

#endif
