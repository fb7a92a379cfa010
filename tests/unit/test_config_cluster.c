/* test_config_cluster.c - the [cluster] section: its keys, their bounds,
 * every error message, and a reload keeping them until a restart. */
#include "config_fixture.h"

#include <stdlib.h>

#include "app/config_keys.h"

/* ---- [cluster] ------------------------------------------------------------ */

Test(config, cluster_section)
{
    struct mx_config cfg;

    load_ok(&cfg, LISTENER "[cluster]\nredis = redis.internal:6380\nredis_user = muxd\n"
                  "redis_password = s3cr3t!\nnode_name = chat-a.1_x\nheartbeat = 500ms\n"
                  "redis_timeout = 10s\nqueue_max = 16m\n");
    cr_assert_str_eq(cfg.cluster_redis, "redis.internal:6380");
    cr_assert_str_eq(cfg.cluster_redis_user, "muxd");
    cr_assert_str_eq(cfg.cluster_redis_password, "s3cr3t!");
    cr_assert_str_eq(cfg.cluster_node_name, "chat-a.1_x");
    cr_assert_eq(cfg.cluster_heartbeat_ms, 500);
    cr_assert_eq(cfg.cluster_timeout_ms, 10000);
    cr_assert_eq(cfg.cluster_queue_max, 16 * 1024 * 1024);

    /* The section may come in pieces, like [limits]; empty values are
     * the defaults' "none". */
    load_ok(&cfg, "[cluster]\nredis = [::1]:6379\n" LISTENER "[cluster]\nnode_name =\n"
                  "redis_password = pw\n");
    cr_assert_str_eq(cfg.cluster_redis, "[::1]:6379");
    cr_assert_str_eq(cfg.cluster_node_name, "");
    cr_assert_str_eq(cfg.cluster_redis_password, "pw");
    load_ok(&cfg, LISTENER "[cluster]\nredis =\n");
    cr_assert_str_eq(cfg.cluster_redis, "");
}

Test(config, cluster_redis_addresses)
{
    static const char *const good[] = {
        "127.0.0.1:6379", "10.0.0.5:1", "localhost:65535", "redis:6379",
        "redis-1.example.org:6379", "[::1]:6379", "[fd00::5]:6380", NULL,
    };
    static const char *const bad[] = {
        "redis", "127.0.0.1", ":6379", "redis:0", "redis:65536", "redis:port", "::1:6379",
        "[::1]", "[redis]:6379", "1.2.3:6379", "256.0.0.1:6379", "*:6379", "re#dis:6379",
        "redis:6379:1", "off", NULL,
    };
    struct mx_config cfg;
    char text[256], want[256];

    for (int i = 0; good[i]; i++) {
        snprintf(text, sizeof text, LISTENER "[cluster]\nredis = %s\n", good[i]);
        load_ok(&cfg, text);
        cr_assert_str_eq(cfg.cluster_redis, good[i]);
    }
    for (int i = 0; bad[i]; i++) {
        snprintf(text, sizeof text, LISTENER "[cluster]\nredis = %s\n", bad[i]);
        snprintf(want, sizeof want, ":4: [cluster] redis: expected host:port or "
                 "[v6addr]:port, port 1 to 65535, got '%s'", bad[i]);
        expect_error(text, want);
    }
}

Test(config, cluster_node_name)
{
    struct mx_config cfg;
    char name[40], text[128], want[160];

    memset(name, 'n', 32);
    name[32] = '\0';
    snprintf(text, sizeof text, LISTENER "[cluster]\nnode_name = %s\n", name);
    load_ok(&cfg, text);
    cr_assert_str_eq(cfg.cluster_node_name, name);
    load_ok(&cfg, LISTENER "[cluster]\nnode_name = A\n");
    cr_assert_str_eq(cfg.cluster_node_name, "A");

    strcat(name, "n");
    snprintf(text, sizeof text, LISTENER "[cluster]\nnode_name = %s\n", name);
    snprintf(want, sizeof want, ":4: [cluster] node_name: expected at most 32 characters of "
             "A-Z a-z 0-9 . _ -, got '%s'", name);
    expect_error(text, want);
    static const char *const bad[] = { "chat a", "chat:a", "chat/a", "ch\xc3\xa4t", "a*", NULL };
    for (int i = 0; bad[i]; i++) {
        snprintf(text, sizeof text, LISTENER "[cluster]\nnode_name = %s\n", bad[i]);
        snprintf(want, sizeof want, ":4: [cluster] node_name: expected at most 32 characters "
                 "of A-Z a-z 0-9 . _ -, got '%s'", bad[i]);
        expect_error(text, want);
    }
}

Test(config, cluster_ranges)
{
    static const struct { const char *text, *want; } cases[] = {
        { "heartbeat = 99ms",
          ":4: [cluster] heartbeat: expected a duration from 100ms to 60s, got '99ms'" },
        { "heartbeat = 61s",
          ":4: [cluster] heartbeat: expected a duration from 100ms to 60s, got '61s'" },
        { "heartbeat = 0",
          ":4: [cluster] heartbeat: expected a duration from 100ms to 60s, got '0'" },
        { "heartbeat = often",
          ":4: [cluster] heartbeat: expected a duration like 300s, 5m or 250ms, got 'often'" },
        { "redis_timeout = 50ms",
          ":4: [cluster] redis_timeout: expected a duration from 100ms to 60s, got '50ms'" },
        { "redis_timeout = 2m",
          ":4: [cluster] redis_timeout: expected a duration from 100ms to 60s, got '2m'" },
        { "redis_timeout =",
          ":4: [cluster] redis_timeout: expected a duration like 300s, 5m or 250ms, got ''" },
        { "queue_max = 63k",
          ":4: [cluster] queue_max: expected a size from 64k to 1g, got '63k'" },
        { "queue_max = 1025m",
          ":4: [cluster] queue_max: expected a size from 64k to 1g, got '1025m'" },
        { "queue_max = lots",
          ":4: [cluster] queue_max: expected a size like 8k, got 'lots'" },
        { "redis_user = a b",
          ":4: [cluster] redis_user: expected one word without spaces or control "
          "characters, got 'a b'" },
        { "nodename = a", ":4: [cluster] nodename: unknown key" },
        { "workers = 2", ":4: [cluster] workers: unknown key" },
    };
    char text[256];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, LISTENER "[cluster]\n%s\n", cases[i].text);
        expect_error(text, cases[i].want);
    }
    expect_error(LISTENER "[cluster]\nheartbeat = 1s\n[cluster]\nheartbeat = 2s\n",
                 ":6: [cluster] heartbeat: duplicate key (first at line 4)");
    expect_error(LISTENER "[Cluster]\n", ":3: [Cluster]: unknown section");
    expect_error(LISTENER "[cluster a]\n", ":3: [cluster a]: unknown section");

    struct mx_config cfg;
    load_ok(&cfg, LISTENER "[cluster]\nheartbeat = 100ms\nredis_timeout = 60s\n"
                  "queue_max = 64k\n");
    cr_assert_eq(cfg.cluster_heartbeat_ms, 100);
    cr_assert_eq(cfg.cluster_timeout_ms, 60000);
    cr_assert_eq(cfg.cluster_queue_max, 64 * 1024);
    load_ok(&cfg, LISTENER "[cluster]\nheartbeat = 60s\nredis_timeout = 100ms\n"
                  "queue_max = 1g\n");
    cr_assert_eq(cfg.cluster_heartbeat_ms, 60000);
    cr_assert_eq(cfg.cluster_timeout_ms, 100);
    cr_assert_eq(cfg.cluster_queue_max, 1024 * 1024 * 1024);
}

Test(config, cluster_user_and_password)
{
    struct mx_config cfg;
    char user[80], text[160], want[200];

    load_ok(&cfg, LISTENER "[cluster]\nredis_password = pw\n");
    cr_assert_str_eq(cfg.cluster_redis_user, "");
    load_ok(&cfg, LISTENER "[cluster]\nredis_user = muxd\n[log]\n[cluster]\nredis_password = pw\n");
    cr_assert_str_eq(cfg.cluster_redis_user, "muxd");

    /* A user alone: at the user's line, wherever the section ends. */
    expect_error(LISTENER "[cluster]\nredis = redis:6379\nredis_user = muxd\n[log]\n",
                 ":5: [cluster] redis_user: needs redis_password (Redis AUTH takes a user "
                 "with a password)");
    expect_error(LISTENER "[cluster]\nredis_user = muxd\nredis_password =\n",
                 ":4: [cluster] redis_user: needs redis_password (Redis AUTH takes a user "
                 "with a password)");
    /* Checked once the whole file is read: another error comes first. */
    expect_error(LISTENER "[cluster]\nredis_user = muxd\n[limits]\nmax_line = x\n",
                 ":6: [limits] max_line: expected a size like 8k, got 'x'");

    /* And again after values set in code. */
    load_ok(&cfg, LISTENER);
    strcpy(cfg.cluster_redis_user, "muxd");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [cluster] redis_user: needs redis_password (Redis AUTH "
                     "takes a user with a password)");
    strcpy(cfg.cluster_redis_password, "pw");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), 0, "%s", err);

    memset(user, 'u', 64);
    user[64] = '\0';
    snprintf(text, sizeof text, LISTENER "[cluster]\nredis_user = %s\n", user);
    snprintf(want, sizeof want, ":4: [cluster] redis_user: longer than 63 characters, got '%s'",
             user);
    expect_error(text, want);
}

/* A refused password is not repeated in the message: it goes to terminals
 * and logs like any other. */
Test(config, cluster_password_not_shown_in_errors)
{
    struct mx_config cfg;
    char pw[160], text[256];

    cr_assert_eq(load_text(&cfg, LISTENER "[cluster]\nredis_password = hunter 2\n"), -1);
    cr_assert_str_eq(strchr(err, ':'), ":4: [cluster] redis_password: expected one word "
                     "without spaces or control characters (value not shown)");
    memset(pw, 'p', 128);
    pw[128] = '\0';
    snprintf(text, sizeof text, LISTENER "[cluster]\nredis_password = %s\n", pw);
    cr_assert_eq(load_text(&cfg, text), -1);
    cr_assert_str_eq(strchr(err, ':'), ":4: [cluster] redis_password: longer than 127 "
                     "characters (value not shown)");
    pw[127] = '\0';
    snprintf(text, sizeof text, LISTENER "[cluster]\nredis_password = %s\n", pw);
    load_ok(&cfg, text);
    cr_assert_str_eq(cfg.cluster_redis_password, pw);
}

/* Values set in code are checked through their rows too. */
Test(config, cluster_validate_after_overrides)
{
    struct mx_config cfg;

    load_ok(&cfg, LISTENER);
    strcpy(cfg.cluster_redis, "redis");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [cluster] redis: expected host:port or [v6addr]:port, "
                     "port 1 to 65535, got 'redis'");
    strcpy(cfg.cluster_redis, "redis:6379");
    cfg.cluster_heartbeat_ms = 50;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [cluster] heartbeat: expected a duration from 100ms to 60s, "
                     "got '50ms'");
    cfg.cluster_heartbeat_ms = 100;
    cfg.cluster_queue_max = 1;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [cluster] queue_max: expected a size from 64k to 1g, "
                     "got '1'");
    cfg.cluster_queue_max = 64 * 1024;
    strcpy(cfg.cluster_node_name, "a b");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [cluster] node_name: expected at most 32 characters of "
                     "A-Z a-z 0-9 . _ -, got 'a b'");
    strcpy(cfg.cluster_node_name, "a");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), 0, "%s", err);
}

struct cluster_changes {
    unsigned n;
    char keys[8][32];
    bool any_live;
};

static void note_change(const struct mx_cfg_change *ch, void *arg)
{
    struct cluster_changes *c = arg;
    cr_assert_not_null(ch->key);
    cr_assert_str_eq(ch->label, "cluster", "a change in [%s] %s", ch->label, ch->key->name);
    cr_assert_lt(c->n, 8);
    snprintf(c->keys[c->n++], sizeof c->keys[0], "%s", ch->key->name);
    c->any_live |= ch->key->live;
}

/* A reload (reload.c) applies a global key only if its row is live and
 * logs the others as "kept until a restart", their running values left
 * alone: every [cluster] key is one of those, since the bus to Redis is
 * set up once at start. (mx_app_reload itself needs a running server;
 * this is the part of it a unit test reaches.) */
Test(config, cluster_keys_are_kept_until_a_restart)
{
    static struct mx_config run, next;
    static const char *const names[] = { "redis", "redis_user", "redis_password", "node_name",
                                         "heartbeat", "redis_timeout", "queue_max" };
    struct cluster_changes c = { 0 };

    load_ok(&run, LISTENER);
    load_ok(&next, LISTENER "[cluster]\nredis = 10.0.0.5:6379\nredis_user = u\n"
                   "redis_password = p\nnode_name = n\nheartbeat = 1s\nredis_timeout = 1s\n"
                   "queue_max = 1m\n");
    mx_config_diff(&run, &next, note_change, &c);
    cr_assert_eq(c.n, 7, "%u changes", c.n);
    for (unsigned i = 0; i < 7; i++)
        cr_assert_str_eq(c.keys[i], names[i]);
    cr_assert_not(c.any_live, "a [cluster] key would be applied by a reload");
    for (unsigned i = 0; i < 7; i++)
        cr_assert_not(mx_cfg_key_find(MX_SECT_CLUSTER, names[i])->live, "%s", names[i]);
    cr_assert(mx_cfg_key_find(MX_SECT_CLUSTER, "redis_password")->secret);
    cr_assert_str_eq(run.cluster_redis, "", "the diff changed the running config");
}
