/* test_config_print.c - printing the settings back, and the key table
 * against the shipped config and docs/config.md. */
#include "config_fixture.h"

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
    cr_assert_eq(b.listeners[0].mode, MX_ECHO_LINE);
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
    printed_value(text, "offload", v, sizeof v);
    cr_assert_str_eq(v, "on");
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
    cr_assert_eq(b.listeners[0].offload, 0);
    free(first);
    free(second);
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
        cr_assert_eq(cfg.listeners[0].mode, m, "mode %s", modes[i]);
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
