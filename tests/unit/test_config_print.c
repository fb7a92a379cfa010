/* test_config_print.c - printing the settings back, and the key table
 * against the shipped config and docs/config.md. */
#include "config_fixture.h"

#include <stdbool.h>
#include <stdlib.h>

#include "muxd/log.h"
#include "muxd/proto.h"
#include "proto/echo.h"
#include "proto/work.h"

static char *print_to_string(const struct mx_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    mx_config_print(cfg, f);
    fclose(f);
    return text;
}

/* The value printed for key in text, which has one "key = value" a line. */
static void printed_value(const char *text, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);

    for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '='))
            continue;
        const char *v = strchr(line, '=') + 1;
        v += strspn(v, " ");
        snprintf(out, len, "%.*s", (int)strcspn(v, "\n"), v);
        return;
    }
    cr_assert_fail("no '%s' in:\n%s", key, text);
}

/* --check-config's output ends up in terminals, logs and bug reports: a
 * chat password shows that it is set, never what it is. */
Test(config, print_hides_the_password)
{
    struct mx_config cfg;
    char v[64];

    load_ok(&cfg, "[listener a]\nlisten = 127.0.0.1:0\nprotocol = chat\npassword = s3cret\n"
                  "[listener b]\nlisten = 127.0.0.1:0\nprotocol = chat\n");
    char *text = print_to_string(&cfg);
    cr_assert_null(strstr(text, "s3cret"), "%s", text);
    printed_value(text, "password", v, sizeof v);
    cr_assert_str_eq(v, "********");
    /* b's password, unset, prints as unset. */
    cr_assert_not_null(strstr(strstr(text, "[listener b]"), "password                = \n"),
                       "%s", text);
    free(text);
}

/* An oper's hash is as good as a password to someone with time to spend
 * on it; a cloak secret unmasks every address. */
Test(config, print_hides_oper_hashes_and_cloak_secrets)
{
    struct mx_config cfg;
    load_ok(&cfg, "[listener a]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                  "cloak_hosts = on\ncloak_secret = 0123456789abcdefXYZ\n"
                  "[oper boss]\nhosts = *!*@127.0.0.1\npassword = "
                  "$6$salt$abcdefghijklmnopqrstuvwxyz0123\n");
    char *text = print_to_string(&cfg);
    cr_assert_null(strstr(text, "abcdefghijklmnopqrstuvwxyz0123"), "%s", text);
    cr_assert_null(strstr(text, "0123456789abcdefXYZ"), "%s", text);
    cr_assert_not_null(strstr(text, "[oper boss]\npassword                = ********\n"
                                    "hosts                   = *!*@127.0.0.1\n"), "%s", text);
    free(text);
}

Test(config, print_round_trip)
{
    struct mx_config a, b;

    load_ok(&a, "[server]\nworkers = 3\nbackend = epoll\nshutdown_timeout = 1500ms\n"
                "[listener one]\nlisten = [::1]:7000\nmode = line\n"
                "[listener two words]\nlisten = *:0\n"
                "[limits]\nmax_line = 1000\noutput_low_water = 0\nidle_timeout = 2m\n"
                "[log]\nlevel = warn\n");
    char *first = print_to_string(&a);
    load_ok(&b, first);
    char *second = print_to_string(&b);
    cr_assert_str_eq(second, first);

    cr_assert_eq(b.workers, 3);
    cr_assert_eq(b.shutdown_timeout_ms, 1500);
    cr_assert_eq(b.nlisteners, 2);
    cr_assert_str_eq(b.listeners[1].name, "two words");
    cr_assert_eq(LSN_MODE(&b, 0), MX_ECHO_LINE);
    cr_assert_eq(b.max_line, 1000);
    cr_assert_eq(b.idle_timeout_ms, 120000);
    cr_assert_eq(b.log_level, MX_LOG_WARN);

    char v[64];
    printed_value(first, "shutdown_timeout", v, sizeof v);
    cr_assert_str_eq(v, "1500ms");
    printed_value(first, "idle_timeout", v, sizeof v);
    cr_assert_str_eq(v, "120s");
    printed_value(first, "output_high_water", v, sizeof v);
    cr_assert_str_eq(v, "256k");
    free(first);
    free(second);
}

/* [cluster] prints whole, a single node's too, and reads back the same;
 * its password as ********. */
Test(config, print_round_trip_cluster)
{
    struct mx_config a, b;
    char v[64];

    load_ok(&a, LISTENER);
    char *single = print_to_string(&a);
    cr_assert_not_null(strstr(single, "\n[cluster]\nredis                   = \n"
                                      "redis_user              = \n"
                                      "redis_password          = \n"
                                      "node_name               = \n"
                                      "heartbeat               = 2s\n"
                                      "redis_timeout           = 2s\n"
                                      "queue_max               = 4m\n"), "%s", single);
    load_ok(&b, single);
    cr_assert_str_eq(b.cluster_redis, "");
    free(single);

    load_ok(&a, LISTENER "[cluster]\nredis = [fd00::5]:6380\nredis_user = muxd\n"
                "redis_password = s3cret\nnode_name = chat-a\nheartbeat = 1500ms\n"
                "redis_timeout = 1m\nqueue_max = 65536\n");
    char *first = print_to_string(&a);
    cr_assert_null(strstr(first, "s3cret"), "%s", first);
    printed_value(first, "redis_password", v, sizeof v);
    cr_assert_str_eq(v, "********");
    printed_value(first, "redis", v, sizeof v);
    cr_assert_str_eq(v, "[fd00::5]:6380");
    printed_value(first, "heartbeat", v, sizeof v);
    cr_assert_str_eq(v, "1500ms");
    printed_value(first, "redis_timeout", v, sizeof v);
    cr_assert_str_eq(v, "60s");
    load_ok(&b, first);
    char *second = print_to_string(&b);
    cr_assert_str_eq(second, first);
    cr_assert_str_eq(b.cluster_redis_user, "muxd");
    cr_assert_str_eq(b.cluster_node_name, "chat-a");
    cr_assert_eq(b.cluster_heartbeat_ms, 1500);
    cr_assert_eq(b.cluster_timeout_ms, 60000);
    cr_assert_eq(b.cluster_queue_max, 64 * 1024);
    free(first);
    free(second);
}

Test(config, print_auto_workers)
{
    struct mx_config cfg;
    char v[64];

    load_ok(&cfg, LISTENER);
    char *text = print_to_string(&cfg);
    printed_value(text, "workers", v, sizeof v);
    cr_assert_str_eq(v, "auto");
    printed_value(text, "backend", v, sizeof v);
    cr_assert_str_eq(v, "auto");
    printed_value(text, "level", v, sizeof v);
    cr_assert_str_eq(v, "info");
    cr_assert_not_null(strstr(text, "\n[listener echo]\n"));
    printed_value(text, "mode", v, sizeof v);
    cr_assert_str_eq(v, "raw");
    printed_value(text, "threads", v, sizeof v);
    cr_assert_str_eq(v, "auto");
    printed_value(text, "queue_max", v, sizeof v);
    cr_assert_str_eq(v, "1024");
    cr_assert_not_null(strstr(text, "\n[offload]\nthreads "), "no [offload] section in:\n%s",
                       text);
    free(text);
}

Test(config, print_round_trip_offload)
{
    struct mx_config a, b;
    char v[64];

    load_ok(&a, "[listener w]\nlisten = *:0\nprotocol = work\noffload = off\n"
                "[offload]\nthreads = 0\nqueue_max = 5\n");
    char *first = print_to_string(&a);
    load_ok(&b, first);
    char *second = print_to_string(&b);
    cr_assert_str_eq(second, first);
    printed_value(first, "protocol", v, sizeof v);
    cr_assert_str_eq(v, "work");
    printed_value(first, "offload", v, sizeof v);
    cr_assert_str_eq(v, "off");
    /* 0 is no pool, not auto. */
    printed_value(first, "threads", v, sizeof v);
    cr_assert_str_eq(v, "0");
    cr_assert_eq(b.offload_threads, 0);
    cr_assert_eq(b.offload_queue_max, 5);
    cr_assert_eq(LSN_OFFLOAD(&b, 0), 0);
    free(first);
    free(second);
}

/* Listener NAME's section of printed text: from its header to the blank
 * line after it. */
static char *printed_section(const char *text, const char *name)
{
    char head[96];

    snprintf(head, sizeof head, "\n[listener %s]\n", name);
    const char *start = strstr(text, head);
    cr_assert_not_null(start, "no %s in:\n%s", head, text);
    start += strlen(head);
    const char *end = strstr(start, "\n\n");
    return strndup(start, end ? (size_t)(end - start) + 1 : strlen(start));
}

static bool has_key(const char *section, const char *key)
{
    char line[64];

    snprintf(line, sizeof line, "%s ", key);
    for (const char *l = section; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, line, strlen(line)) == 0)
            return true;
    return false;
}

/* --check-config shows each listener the keys of its own protocol only,
 * after those of every listener; the rest are the other protocols'. */
Test(config, print_shows_each_listener_its_own_keys)
{
    static const char *const common[] = { "listen", "protocol" };
    struct mx_config cfg, back;

    load_ok(&cfg, "[listener e]\nlisten = *:0\nmode = line\noffload = off\n"
                  "motd_file = /nonexistent\n"
                  "[listener w]\nlisten = *:0\nprotocol = work\nmode = upper\n"
                  "[listener c]\nlisten = *:0\nprotocol = chat\nflood_rate = 0\n");
    char *text = print_to_string(&cfg);
    for (unsigned i = 0; i < cfg.nlisteners; i++) {
        const struct mx_listener_cfg *l = &cfg.listeners[i];
        char *sect = printed_section(text, l->name);
        for (size_t k = 0; k < 2; k++)
            cr_assert(has_key(sect, common[k]), "[listener %s] lacks %s:\n%s", l->name,
                      common[k], sect);
        for (size_t p = 0; p < mx_app_nprotos; p++) {
            const struct mx_app_proto *proto = mx_app_protos[p];
            bool own = strcmp(proto->name, l->protocol) == 0;
            for (size_t k = 0; k < proto->nkeys; k++)
                cr_assert_eq(has_key(sect, proto->keys[k].name), own,
                             "[listener %s] (%s) %s %s:\n%s", l->name, l->protocol,
                             own ? "lacks" : "shows", proto->keys[k].name, sect);
        }
        free(sect);
    }
    char v[64];
    printed_value(text, "flood_rate", v, sizeof v);
    cr_assert_str_eq(v, "0");
    load_ok(&back, text);
    char *again = print_to_string(&back);
    cr_assert_str_eq(again, text);
    free(again);
    free(text);
}

/* What main serves each listener with comes from its protocol's row. */
Test(config, options_come_from_the_listeners_keys)
{
    struct mx_config cfg;
    struct mx_app_listener al;

    load_ok(&cfg, "[listener e]\nlisten = *:0\nmode = upper\n"
                  "[listener w]\nlisten = *:0\nprotocol = work\noffload = off\n");
    cr_assert_eq(mx_app_listener_prepare(&al, &cfg, &cfg.listeners[0], err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(al.p->proto, &mx_echo_proto);
    const struct mx_echo_opts *eo = mx_app_listener_data(&al, NULL);
    cr_assert_eq(eo->mode, MX_ECHO_UPPER);
    mx_app_listener_free(&al);

    cr_assert_eq(mx_app_listener_prepare(&al, &cfg, &cfg.listeners[1], err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(al.p->proto, &mx_work_proto);
    const struct mx_work_opts *wo = mx_app_listener_data(&al, NULL);
    cr_assert_eq(wo->offload, false);
    mx_app_listener_free(&al);
}

Test(config, chat_motd_is_read_when_options_are_built)
{
    struct mx_config cfg;
    struct mx_app_listener al;
    char text[160];

    snprintf(text, sizeof text, "[listener talk]\nlisten = *:0\nprotocol = chat\n"
                                "motd_file = /nonexistent/motd\n");
    load_ok(&cfg, text);
    cr_assert_eq(mx_app_listener_prepare(&al, &cfg, &cfg.listeners[0], err, sizeof err), -1);
    cr_assert_str_eq(err, "[listener talk] motd_file: cannot read '/nonexistent/motd': "
                          "No such file or directory");
    mx_app_listener_free(&al);
}

/* The registry's names are those the services give themselves, and no
 * protocol reuses a key every listener has. */
Test(config, registry_rows_agree_with_their_protocols)
{
    for (size_t i = 0; i < mx_app_nprotos; i++) {
        const struct mx_app_proto *p = mx_app_protos[i];
        cr_assert_str_eq(p->name, p->proto->name);
        cr_assert_eq(mx_app_proto_find(p->name), p);
        cr_assert_not_null(p->opts_new, "%s has no option builder", p->name);
        cr_assert_eq(!p->state_new, !p->state_free, "%s: state_new without state_free",
                     p->name);
        for (size_t k = 0; k < p->nkeys; k++)
            cr_assert_null(mx_cfg_key_find(MX_SECT_LISTENER, p->keys[k].name),
                           "%s's key %s is every listener's", p->name, p->keys[k].name);
    }
    cr_assert_null(mx_app_proto_find("http"));
}

/* The names in the table must mean what the enums' owners say they mean. */
Test(config, enum_names_agree_with_their_modules)
{
    static const char *const modes[] = { "raw", "line", "upper" };
    static const char *const levels[] = { "error", "warn", "info", "debug" };
    struct mx_config cfg;
    char text[128];

    for (int i = 0; i < 3; i++) {
        enum mx_echo_mode m;
        snprintf(text, sizeof text, LISTENER "mode = %s\n", modes[i]);
        load_ok(&cfg, text);
        cr_assert_eq(mx_echo_mode_parse(modes[i], &m), 0);
        cr_assert_eq(LSN_MODE(&cfg, 0), m, "mode %s", modes[i]);
    }
    /* The protocol names are those the services give themselves. */
    snprintf(text, sizeof text, LISTENER "protocol = work\n");
    load_ok(&cfg, text);
    cr_assert_str_eq(cfg.listeners[0].protocol, mx_work_proto.name);
    for (int i = 0; i < 4; i++) {
        enum mx_log_level l;
        snprintf(text, sizeof text, LISTENER "[log]\nlevel = %s\n", levels[i]);
        load_ok(&cfg, text);
        cr_assert_eq(mx_log_level_parse(levels[i], &l), 0);
        cr_assert_eq(cfg.log_level, l, "level %s", levels[i]);
    }
}

/* __FILE__ is absolute under CMake; the repository is two levels up. */
static void repo_file(const char *rel, char *out, size_t len)
{
    const char *tail = strstr(__FILE__, "tests/unit/");

    cr_assert_not_null(tail, "cannot find the repository from %s", __FILE__);
    snprintf(out, len, "%.*s%s", (int)(tail - __FILE__), __FILE__, rel);
}

Test(config, metrics_config_loads_with_admin_on)
{
    struct mx_config cfg;
    char file[1024];

    repo_file("config/muxd-metrics.conf", file, sizeof file);
    mx_config_default(&cfg);
    cr_assert_eq(mx_config_load(&cfg, file, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(cfg.admin_listen, "127.0.0.1:9100");
}

static char *slurp(const char *file)
{
    FILE *f = fopen(file, "r");
    char *text = NULL;
    size_t cap = 0;

    cr_assert_not_null(f, "%s: %s", file, strerror(errno));
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    cr_assert_gt(n, 0, "%s is empty", file);
    return text;
}

Test(config, shipped_config_loads)
{
    struct mx_config cfg, defaults;
    char file[1024];

    repo_file("config/muxd.conf", file, sizeof file);
    mx_config_default(&cfg);
    cr_assert_eq(mx_config_load(&cfg, file, err, sizeof err), 0, "%s", err);
    cr_assert_geq(cfg.nlisteners, 1);

    /* Its settings are the documented defaults. */
    mx_config_default(&defaults);
    defaults.nlisteners = cfg.nlisteners;
    memcpy(defaults.listeners, cfg.listeners, sizeof cfg.listeners);
    char *a = print_to_string(&cfg), *b = print_to_string(&defaults);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}

Test(config, docs_carry_the_reference)
{
    char file[1024], *table = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&table, &len);

    mx_config_reference(f);
    fclose(f);
    repo_file("docs/config.md", file, sizeof file);
    char *docs = slurp(file);
    cr_assert_not_null(strstr(docs, table),
                       "docs/config.md lacks the current key table; paste in:\n%s", table);
    free(docs);
    free(table);
}
