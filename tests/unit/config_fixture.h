/* config_fixture.h - what the config tests share: write a config file,
 * load it, and compare error messages. Included by one test file each
 * (every test file is its own binary), hence the statics. */
#ifndef MUXD_TEST_CONFIG_FIXTURE_H
#define MUXD_TEST_CONFIG_FIXTURE_H

#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"
#include "app/protocols.h"
#include "proto/echo.h"

static char path[64];
static char err[512];

static inline const char *write_conf(const char *text)
{
    strcpy(path, "/tmp/muxd-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static inline int load_text(struct mx_config *cfg, const char *text)
{
    mx_config_default(cfg);
    write_conf(text);
    err[0] = '\0';
    int rc = mx_config_load(cfg, path, err, sizeof err);
    unlink(path);
    return rc;
}

static inline void load_ok(struct mx_config *cfg, const char *text)
{
    int rc = load_text(cfg, text);
    cr_assert_eq(rc, 0, "load failed: %s", err);
}

/* want is the message after the path, e.g. ":2: [server] wrkers: unknown key". */
static inline void expect_error(const char *text, const char *want)
{
    struct mx_config cfg;
    char full[600];

    cr_assert_eq(load_text(&cfg, text), -1, "loaded:\n%s", text);
    snprintf(full, sizeof full, "%s%s", path, want);
    cr_assert_str_eq(err, full);
}

#define LISTENER "[listener echo]\nlisten = 127.0.0.1:7000\n"

/* The value stored for listener i's key `key` in protocol proto's block:
 * a number, or the index of an enum's choice. Every protocol's block is
 * filled, whatever the listener speaks. */
static inline unsigned proto_key_u32(const struct mx_config *cfg, unsigned i,
                                     const char *proto, const char *key)
{
    const struct mx_app_proto *p = mx_app_proto_find(proto);
    uint32_t v;

    cr_assert_not_null(p, "no protocol %s", proto);
    for (size_t k = 0; k < p->nkeys; k++) {
        if (strcmp(p->keys[k].name, key) != 0)
            continue;
        cr_assert_eq(p->keys[k].width, sizeof v, "%s is not a 32-bit field", key);
        memcpy(&v, (const char *)mx_app_proto_cfg_const(&cfg->listeners[i], p) +
                       p->keys[k].off, sizeof v);
        return v;
    }
    cr_assert_fail("protocol %s has no key %s", proto, key);
    return 0;
}

#define LSN_MODE(cfg, i) proto_key_u32(cfg, i, "echo", "mode")
#define LSN_OFFLOAD(cfg, i) proto_key_u32(cfg, i, "work", "offload")

#endif
