/* test_config.c - defaults, the INI file, every error message. */
#include "config_fixture.h"

#include <stdlib.h>

#include "app/config_keys.h"
#include "muxd/proto.h"
#include "proto/work.h"

Test(config, defaults)
{
    struct mx_config cfg;

    memset(&cfg, 0xa5, sizeof cfg);
    mx_config_default(&cfg);
    cr_assert_eq(cfg.workers, 0);
    cr_assert_str_eq(cfg.backend, "auto");
    cr_assert_eq(cfg.listen_backlog, 4096);
    cr_assert_eq(cfg.shutdown_timeout_ms, 5000);
    cr_assert_eq(cfg.nlisteners, 0);
    cr_assert_eq(cfg.max_connections, 100000);
    cr_assert_eq(cfg.max_line, 8192);
    cr_assert_eq(cfg.output_high_water, 256 * 1024);
    cr_assert_eq(cfg.output_low_water, 64 * 1024);
    cr_assert_eq(cfg.output_max, 4 * 1024 * 1024);
    cr_assert_eq(cfg.idle_timeout_ms, 300000);
    cr_assert_eq(cfg.log_level, MX_LOG_INFO);
    cr_assert_eq(cfg.uring_buffers, 0, "auto");
    cr_assert_eq(cfg.uring_buffer_size, 8192);
    cr_assert_eq(cfg.offload_threads, MX_OFFLOAD_THREADS_AUTO);
    cr_assert_eq(cfg.offload_queue_max, 1024);
    /* A single node: no Redis, no AUTH, the host name (resolved later). */
    cr_assert_str_eq(cfg.cluster_redis, "");
    cr_assert_str_eq(cfg.cluster_redis_user, "");
    cr_assert_str_eq(cfg.cluster_redis_password, "");
    cr_assert_str_eq(cfg.cluster_node_name, "");
    cr_assert_eq(cfg.cluster_heartbeat_ms, 2000);
    cr_assert_eq(cfg.cluster_timeout_ms, 2000);
    cr_assert_eq(cfg.cluster_queue_max, 4 * 1024 * 1024);
}

/* A key of another protocol is checked like any value, then ignored; it
 * may come before `protocol` names the listener's own. */
Test(config, keys_of_other_protocols)
{
    struct mx_config cfg;

    load_ok(&cfg, LISTENER "motd_file = /nonexistent\noffload = off\n");
    cr_assert_str_eq(cfg.listeners[0].protocol, "echo");
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 0);
    load_ok(&cfg, "[listener w]\nlisten = *:0\noffload = off\nprotocol = work\n");
    cr_assert_str_eq(cfg.listeners[0].protocol, "work");
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 0);
    expect_error(LISTENER "register_timeout = soon\n",
                 ":3: [listener echo] register_timeout: expected a duration like 300s, 5m "
                 "or 250ms, got 'soon'");
    expect_error(LISTENER "flood_rate = 1\nprotocol = chat\nflood_rate = 2\n",
                 ":5: [listener echo] flood_rate: duplicate key (first at line 3)");
    expect_error(LISTENER "motd = hi\n", ":3: [listener echo] motd: unknown key");
}

Test(config, listener_defaults)
{
    struct mx_config cfg;

    load_ok(&cfg, LISTENER);
    cr_assert_str_eq(cfg.listeners[0].protocol, "echo");
    cr_assert_eq(LSN_MODE(&cfg, 0), MX_ECHO_RAW);
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 1, "offload defaults to on");
}

Test(config, defaults_need_a_listener)
{
    struct mx_config cfg;

    mx_config_default(&cfg);
    cr_assert_eq(mx_config_validate(&cfg, "x.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "x.conf: no [listener NAME] section; at least one is required");
}

Test(config, full_file)
{
    struct mx_config cfg;

    load_ok(&cfg,
            "; every key, none at its default\n"
            "[server]\n"
            "workers = 8\n"
            "backend = epoll\n"
            "listen_backlog = 128\n"
            "shutdown_timeout = 250ms\n"
            "\n"
            "[listener main]\n"
            "listen = [::1]:7001\n"
            "protocol = echo\n"
            "mode = upper\n"
            "offload = off\n"
            "\n"
            "[limits]\n"
            "max_connections = 10\n"
            "max_line = 1m\n"
            "output_high_water = 1m\n"
            "output_low_water = 0\n"
            "output_max = 1g\n"
            "idle_timeout = 0\n"
            "\n"
            "[offload]\n"
            "threads = 3\n"
            "queue_max = 7\n"
            "\n"
            "[log]\n"
            "level = debug\n");
    cr_assert_eq(cfg.workers, 8);
    cr_assert_str_eq(cfg.backend, "epoll");
    cr_assert_eq(cfg.listen_backlog, 128);
    cr_assert_eq(cfg.shutdown_timeout_ms, 250);
    cr_assert_eq(cfg.nlisteners, 1);
    cr_assert_str_eq(cfg.listeners[0].name, "main");
    cr_assert_str_eq(cfg.listeners[0].listen, "[::1]:7001");
    cr_assert_str_eq(cfg.listeners[0].protocol, "echo");
    cr_assert_eq(LSN_MODE(&cfg, 0), MX_ECHO_UPPER);
    cr_assert_eq(cfg.max_connections, 10);
    cr_assert_eq(cfg.max_line, 1024 * 1024);
    cr_assert_eq(cfg.output_high_water, 1024 * 1024);
    cr_assert_eq(cfg.output_low_water, 0);
    cr_assert_eq(cfg.output_max, 1024 * 1024 * 1024);
    cr_assert_eq(cfg.idle_timeout_ms, 0);
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 0);
    cr_assert_eq(cfg.offload_threads, 3);
    cr_assert_eq(cfg.offload_queue_max, 7);
    cr_assert_eq(cfg.log_level, MX_LOG_DEBUG);
}

Test(config, layout_comments_and_line_endings)
{
    struct mx_config cfg;

    load_ok(&cfg,
            "\xEF\xBB\xBF# a hash comment\r\n"
            "   [server]   ; why not\r\n"
            "\tworkers=auto\r\n"
            "    backend   =   epoll   ; an inline comment\r\n"
            "[ listener   spaced name  ]\r\n"
            "listen: *:0\r\n");
    cr_assert_eq(cfg.workers, 0);
    cr_assert_str_eq(cfg.backend, "epoll");
    cr_assert_str_eq(cfg.listeners[0].name, "spaced name");
    cr_assert_str_eq(cfg.listeners[0].listen, "*:0");
}

Test(config, several_listeners)
{
    struct mx_config cfg;

    load_ok(&cfg,
            "[listener a]\nlisten = 127.0.0.1:7000\n"
            "[listener b]\nlisten = *:7001\nmode = line\n"
            "[server]\nworkers = 2\n"
            "[listener c]\nmode = upper\nlisten = [::1]:0\n"
            "[listener d]\nlisten = 127.0.0.1:0\n");
    cr_assert_eq(cfg.nlisteners, 4);
    cr_assert_str_eq(cfg.listeners[0].name, "a");
    cr_assert_eq(LSN_MODE(&cfg, 0), MX_ECHO_RAW);
    cr_assert_str_eq(cfg.listeners[0].protocol, "echo");
    cr_assert_str_eq(cfg.listeners[1].listen, "*:7001");
    cr_assert_eq(LSN_MODE(&cfg, 1), MX_ECHO_LINE);
    cr_assert_str_eq(cfg.listeners[2].name, "c");
    cr_assert_eq(LSN_MODE(&cfg, 2), MX_ECHO_UPPER);
    cr_assert_str_eq(cfg.listeners[3].listen, "127.0.0.1:0");
    cr_assert_eq(cfg.workers, 2);
}

Test(config, listener_limits)
{
    char text[4096] = "";
    char name[80];
    struct mx_config cfg;

    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(text, sizeof text, "[listener %s]\nlisten = *:0\n", name);
    load_ok(&cfg, text);
    cr_assert_str_eq(cfg.listeners[0].name, name);

    snprintf(text, sizeof text, "[listener %sN]\nlisten = *:0\n", name);
    char want[200];
    snprintf(want, sizeof want, ":1: [listener %sN]: name longer than 63 characters", name);
    expect_error(text, want);

    text[0] = '\0';
    for (int i = 0; i < MX_MAX_LISTENERS; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "[listener l%d]\nlisten = *:0\n", i);
    load_ok(&cfg, text);
    cr_assert_eq(cfg.nlisteners, MX_MAX_LISTENERS);
    strcat(text, "[listener one too many]\nlisten = *:0\n");
    expect_error(text, ":33: [listener one too many]: too many listeners (at most 16)");
}

Test(config, overflow_policy)
{
    struct mx_config cfg;
    load_ok(&cfg, "[listener a]\nlisten = *:0\n");
    cr_assert_eq(cfg.listeners[0].overflow, MX_OVERFLOW_DISCONNECT);
    load_ok(&cfg, "[listener a]\nlisten = *:0\noverflow = drop_oldest\n"
                  "[listener b]\nlisten = *:0\noverflow = pause_producer\n");
    cr_assert_eq(cfg.listeners[0].overflow, MX_OVERFLOW_DROP_OLDEST);
    cr_assert_eq(cfg.listeners[1].overflow, MX_OVERFLOW_PAUSE_PRODUCER);
    expect_error("[listener a]\nlisten = *:0\noverflow = drop_newest\n",
                 ":3: [listener a] overflow: expected one of disconnect, drop_oldest, "
                 "pause_producer, got 'drop_newest'");
    /* A sealed record cannot be dropped: named at the overflow line. */
    expect_error("[listener a]\nlisten = *:0\ntls = on\ntls_cert = c\ntls_key = k\n"
                 "overflow = drop_oldest\n",
                 ":6: [listener a] overflow: drop_oldest cannot go with tls = on (a sealed "
                 "record cannot be dropped); use disconnect or pause_producer");
}

Test(config, listen_shapes)
{
    static const char *const good[] = {
        "127.0.0.1:7000", "*:0", "10.1.2.3:65535", "[::1]:7000", "[::]:0",
        "[::ffff:10.0.0.1]:80", "[fe80::1]:9", NULL,
    };
    struct mx_config cfg;
    char text[256];

    for (int i = 0; good[i]; i++) {
        snprintf(text, sizeof text, "[listener x]\nlisten = %s\n", good[i]);
        load_ok(&cfg, text);
        cr_assert_str_eq(cfg.listeners[0].listen, good[i]);
    }
}

Test(config, bad_listen)
{
    static const char *const bad[] = {
        "7000", ":7000", "127.0.0.1", "127.0.0.1:", "::1:7000", "[::1]7000", "[::1]:",
        "[]:1", "[1.2.3.4]:1", "[::1:1", "host:port", "h st:1", "*:-1", "**:1", NULL,
    };
    char text[256], want[256];

    for (int i = 0; bad[i]; i++) {
        snprintf(text, sizeof text, "[listener x]\nlisten = %s\n", bad[i]);
        snprintf(want, sizeof want, ":2: [listener x] listen: expected host:port, "
                 "[v6addr]:port or *:port, got '%s'", bad[i]);
        expect_error(text, want);
    }
    expect_error("[listener x]\nlisten = 1.2.3.4:65536\n",
                 ":2: [listener x] listen: port must be from 0 to 65535, got '1.2.3.4:65536'");
}

/* The server binds numeric addresses only; the file is refused as start-up
 * would refuse it, so --check-config says so too. */
Test(config, listen_host_names_refused)
{
    static const char *const names[] = {
        "localhost:7000", "my-host.example:1", "[fe80::1%eth0]:9", "1.2.3:80",
        "256.1.1.1:80", NULL,
    };
    char text[256], want[256];

    for (int i = 0; names[i]; i++) {
        snprintf(text, sizeof text, "[listener x]\nlisten = %s\n", names[i]);
        snprintf(want, sizeof want, ":2: [listener x] listen: expected a numeric address "
                 "(host names are not looked up), got '%s'", names[i]);
        expect_error(text, want);
    }
}

Test(config, bad_values)
{
    static const struct { const char *text, *want; } cases[] = {
        { "[limits]\nmax_line = abc\n",
          ":2: [limits] max_line: expected a size like 8k, got 'abc'" },
        { "[limits]\nmax_line =\n",
          ":2: [limits] max_line: expected a size like 8k, got ''" },
        { "[limits]\nmax_line = 15\n",
          ":2: [limits] max_line: expected a size from 16 to 1m, got '15'" },
        { "[limits]\nmax_line = 1025k\n",
          ":2: [limits] max_line: expected a size from 16 to 1m, got '1025k'" },
        { "[limits]\noutput_max = 99999999999999999999g\n",
          ":2: [limits] output_max: expected a size from 1k to 1g, "
          "got '99999999999999999999g'" },
        { "[limits]\nidle_timeout = 5h\n",
          ":2: [limits] idle_timeout: expected a duration like 300s, 5m or 250ms, got '5h'" },
        { "[limits]\nidle_timeout = -1\n",
          ":2: [limits] idle_timeout: expected a duration like 300s, 5m or 250ms, got '-1'" },
        { "[server]\nshutdown_timeout = 61m\n",
          ":2: [server] shutdown_timeout: expected a duration from 0 to 3600s, got '61m'" },
        { "[server]\nbackend = kqueue\n",
          ":2: [server] backend: expected one of auto, epoll, io_uring, poll, got 'kqueue'" },
        { "[listener x]\nlisten = *:0\nmode = Raw\n",
          ":3: [listener x] mode: expected one of raw, line, upper, got 'Raw'" },
        { "[listener x]\nprotocol = http\n",
          ":2: [listener x] protocol: expected one of echo, work, chat, got 'http'" },
        { "[listener x]\nprotocol = Work\n",
          ":2: [listener x] protocol: expected one of echo, work, chat, got 'Work'" },
        { "[listener x]\nprotocol = work\noffload = yes\n",
          ":3: [listener x] offload: expected one of off, on, got 'yes'" },
        { "[listener x]\noffload = 1\n",
          ":2: [listener x] offload: expected one of off, on, got '1'" },
        { "[offload]\nthreads = 257\n",
          ":2: [offload] threads: expected a number from 0 to 256 or auto, got '257'" },
        { "[offload]\nthreads = -1\n",
          ":2: [offload] threads: expected a number from 0 to 256 or auto, got '-1'" },
        { "[offload]\nthreads = Auto\n",
          ":2: [offload] threads: expected a number from 0 to 256 or auto, got 'Auto'" },
        { "[offload]\nthreads = 4294967295\n",
          ":2: [offload] threads: expected a number from 0 to 256 or auto, "
          "got '4294967295'" },
        { "[offload]\nqueue_max = 0\n",
          ":2: [offload] queue_max: expected a number from 1 to 1000000, got '0'" },
        { "[offload]\nqueue_max = 1000001\n",
          ":2: [offload] queue_max: expected a number from 1 to 1000000, got '1000001'" },
        { "[offload]\nqueue_max = 1k\n",
          ":2: [offload] queue_max: expected a number from 1 to 1000000, got '1k'" },
        { "[log]\nlevel = trace\n",
          ":2: [log] level: expected one of error, warn, info, debug, got 'trace'" },
        { "[server]\nworkers = 0\n",
          ":2: [server] workers: expected a number from 1 to 256 or auto, got '0'" },
        { "[server]\nworkers = 257\n",
          ":2: [server] workers: expected a number from 1 to 256 or auto, got '257'" },
        { "[server]\nworkers = many\n",
          ":2: [server] workers: expected a number from 1 to 256 or auto, got 'many'" },
        { "[server]\nlisten_backlog = 65536\n",
          ":2: [server] listen_backlog: expected a number from 1 to 65535, got '65536'" },
        { "[limits]\nmax_connections = 10000001\n",
          ":2: [limits] max_connections: expected a number from 1 to 10000000, "
          "got '10000001'" },
        { "[limits]\nmax_connections = 1e6\n",
          ":2: [limits] max_connections: expected a number from 1 to 10000000, got '1e6'" },
        { "[limits]\nmax_line = 8k;no space before the semicolon\n",
          ":2: [limits] max_line: expected a size like 8k, "
          "got '8k;no space before the semicolon'" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].text, cases[i].want);
}

Test(config, unknown_names)
{
    expect_error("[server]\nworkers = 2\nwrkers = 3\n", ":3: [server] wrkers: unknown key");
    expect_error("[listener x]\nlisten = *:0\nport = 1\n", ":3: [listener x] port: unknown key");
    expect_error(LISTENER "[limitz]\n", ":3: [limitz]: unknown section");
    expect_error("[limitz]\nmax_line = 8k\n", ":1: [limitz]: unknown section");
    expect_error("[Server]\n", ":1: [Server]: unknown section");
    expect_error("[server extra]\n", ":1: [server extra]: unknown section");
    expect_error("[]\n", ":1: []: unknown section");
    expect_error("[listener]\nlisten = *:0\n", ":1: [listener]: needs a name, like [listener echo]");
    expect_error("workers = 2\n[server]\n", ":1: workers: key outside any section");
    expect_error("[offload]\nthread = 2\n", ":2: [offload] thread: unknown key");
    expect_error("[offload]\nworkers = 2\n", ":2: [offload] workers: unknown key");
    expect_error("[server]\nthreads = 2\n", ":2: [server] threads: unknown key");
    expect_error("[offload]\noffload = on\n", ":2: [offload] offload: unknown key");
    expect_error("[Offload]\n", ":1: [Offload]: unknown section");
    expect_error("[offload pool]\n", ":1: [offload pool]: unknown section");
}

Test(config, duplicates)
{
    expect_error("[server]\nworkers = 2\n\nworkers = 3\n",
                 ":4: [server] workers: duplicate key (first at line 2)");
    expect_error("[limits]\nmax_line = 1k\n[server]\n[limits]\nmax_line = 2k\n",
                 ":5: [limits] max_line: duplicate key (first at line 2)");
    expect_error("[listener a]\nlisten = *:1\nlisten = *:2\n",
                 ":3: [listener a] listen: duplicate key (first at line 2)");
    expect_error("[listener a]\nlisten = *:1\n[listener a]\nlisten = *:2\n",
                 ":3: [listener a]: duplicate listener name (first at line 1)");
    expect_error("[listener a]\nlisten = *:7000\n[listener b]\nlisten = *:7000\n",
                 ": [listener b] listen: '*:7000' is already used by [listener a]");
    expect_error("[offload]\nthreads = 1\n[log]\n[offload]\nthreads = 2\n",
                 ":5: [offload] threads: duplicate key (first at line 2)");
    expect_error("[listener a]\noffload = on\noffload = off\n",
                 ":3: [listener a] offload: duplicate key (first at line 2)");

    /* The same key in two listeners, and the ephemeral port twice, are fine. */
    struct mx_config cfg;
    load_ok(&cfg, "[listener a]\nlisten = *:0\n[listener b]\nlisten = *:0\n");
    cr_assert_eq(cfg.nlisteners, 2);
}

Test(config, missing_pieces)
{
    expect_error("[server]\n\n[listener echo]\nmode = line\n\n[limits]\n",
                 ":3: [listener echo] listen: missing; expected host:port, [v6addr]:port "
                 "or *:port");
    expect_error("[limits]\n[listener last]\nmode = line\n",
                 ":2: [listener last] listen: missing; expected host:port, [v6addr]:port "
                 "or *:port");
    expect_error("[server]\nworkers = 2\n",
                 ": no [listener NAME] section; at least one is required");
    expect_error("", ": no [listener NAME] section; at least one is required");
}

Test(config, syntax_errors)
{
    expect_error("[server]\nworkers 2\n", ":2: syntax error");
    expect_error(LISTENER "[server\nworkers = 2\n", ":3: syntax error");
    expect_error("[server] workers = 2\n", ":1: syntax error");
    /* The earliest error wins, whoever finds it. */
    expect_error("[server]\nfoo\nbar = 1\n", ":2: syntax error");
    expect_error("[server]\nbar = 1\nfoo\n", ":2: [server] bar: unknown key");
    expect_error("[listener a]\nfoo\n[server]\n", ":2: syntax error");
}

Test(config, long_lines)
{
    char text[512], want[128];
    char comment[400];

    /* Comments may be long; a key line must fit inih's buffer. */
    memset(comment, 'c', sizeof comment - 1);
    comment[sizeof comment - 1] = '\0';
    snprintf(text, sizeof text, "; %s\n" LISTENER, comment);
    struct mx_config cfg;
    load_ok(&cfg, text);

    snprintf(text, sizeof text, LISTENER "mode = %.300s\n", comment);
    snprintf(want, sizeof want, ":3: line too long (at most 198 characters)");
    expect_error(text, want);
}

Test(config, missing_file)
{
    struct mx_config cfg;

    mx_config_default(&cfg);
    cr_assert_eq(mx_config_load(&cfg, "/nonexistent/muxd.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "/nonexistent/muxd.conf: cannot open: No such file or directory");
    cr_assert_eq(mx_config_load(&cfg, "/", err, sizeof err), -1);
    cr_assert_str_eq(err, "/: cannot read: Is a directory");
}

Test(config, water_marks)
{
    expect_error(LISTENER "[limits]\noutput_low_water = 256k\n",
                 ": [limits] output_low_water: must be less than output_high_water (256k), "
                 "got '256k'");
    expect_error(LISTENER "[limits]\noutput_high_water = 8m\n",
                 ": [limits] output_high_water: must not exceed output_max (4m), got '8m'");

    struct mx_config cfg;
    load_ok(&cfg, LISTENER "[limits]\noutput_high_water = 4m\noutput_low_water = 4095k\n");
    cr_assert_eq(cfg.output_high_water, cfg.output_max);
}

Test(config, uring_ring_shape)
{
    expect_error(LISTENER "[server]\nuring_buffers = 100\n",
                 ": [server] uring_buffers: expected a power of two like 256, got '100'");
    expect_error(LISTENER "[server]\nuring_buffers = 65536\n",
                 ":4: [server] uring_buffers: expected a number from 1 to 32768 or auto, got '65536'");
    expect_error(LISTENER "[server]\nuring_buffer_size = 100\n",
                 ":4: [server] uring_buffer_size: expected a size from 512 to 1m, got '100'");

    struct mx_config cfg;
    load_ok(&cfg, LISTENER "[server]\nbackend = io_uring\nuring_buffers = 4\n"
                  "uring_buffer_size = 512\n");
    cr_assert_str_eq(cfg.backend, "io_uring");
    cr_assert_eq(cfg.uring_buffers, 4);
    cr_assert_eq(cfg.uring_buffer_size, 512);
    cr_assert_eq(cfg.uring_incremental, 0, "auto by default");
    cr_assert_eq(cfg.uring_bundles, 0, "auto by default");
    cr_assert_eq(cfg.uring_fixed_files, 0, "auto by default");

    load_ok(&cfg, LISTENER "[server]\nuring_buffers = auto\nuring_incremental = off\n"
                  "uring_bundles = off\nuring_fixed_files = off\n");
    cr_assert_eq(cfg.uring_buffers, 0);
    cr_assert_eq(cfg.uring_fixed_files, 1);
    cr_assert_eq(cfg.uring_incremental, 1);
    cr_assert_eq(cfg.uring_bundles, 1);
    expect_error(LISTENER "[server]\nuring_bundles = yes\n",
                 ":4: [server] uring_bundles: expected one of auto, off, got 'yes'");
}

#define WORK_ON "[listener work]\nlisten = 127.0.0.1:7100\nprotocol = work\n"

Test(config, work_listener)
{
    struct mx_config cfg;

    load_ok(&cfg, WORK_ON "[listener slow]\nlisten = *:0\nprotocol = work\noffload = off\n");
    cr_assert_eq(cfg.nlisteners, 2);
    cr_assert_str_eq(cfg.listeners[0].protocol, "work");
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 1);
    cr_assert_str_eq(cfg.listeners[1].protocol, "work");
    cr_assert_eq(LSN_OFFLOAD(&cfg, 1), 0);
    cr_assert_eq(cfg.offload_threads, MX_OFFLOAD_THREADS_AUTO);

    load_ok(&cfg, WORK_ON "[offload]\nthreads = auto\nqueue_max = 1000000\n");
    cr_assert_eq(cfg.offload_threads, MX_OFFLOAD_THREADS_AUTO);
    cr_assert_eq(cfg.offload_queue_max, 1000000);
    load_ok(&cfg, WORK_ON "[offload]\nthreads = 256\nqueue_max = 1\n");
    cr_assert_eq(cfg.offload_threads, 256);
    cr_assert_eq(cfg.offload_queue_max, 1);
}

Test(config, offload_needs_a_pool)
{
    struct mx_config cfg;

    expect_error(WORK_ON "[offload]\nthreads = 0\n",
                 ": [listener work] offload: needs [offload] threads > 0");
    expect_error("[offload]\nthreads = 0\n" WORK_ON "offload = on\n",
                 ": [listener work] offload: needs [offload] threads > 0");
    /* The listener named is the one that offloads, not the first one. */
    expect_error("[listener a]\nlisten = *:0\noffload = on\n"
                 "[listener b]\nlisten = *:0\nprotocol = work\noffload = off\n"
                 "[listener c]\nlisten = *:0\nprotocol = work\n"
                 "[offload]\nthreads = 0\n",
                 ": [listener c] offload: needs [offload] threads > 0");

    /* Without a pool: echo ignores offload, and work may run inline. */
    load_ok(&cfg, LISTENER "offload = on\n[offload]\nthreads = 0\n");
    cr_assert_eq(cfg.offload_threads, 0);
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 1);
    load_ok(&cfg, WORK_ON "offload = off\n[offload]\nthreads = 0\n");
    cr_assert_eq(LSN_OFFLOAD(&cfg, 0), 0);

    /* Checked again after values set in code. */
    load_ok(&cfg, WORK_ON);
    cfg.offload_threads = 0;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [listener work] offload: needs [offload] threads > 0");
    cfg.offload_threads = 257;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [offload] threads: expected a number from 0 to 256 or "
                     "auto, got '257'");
    cfg.offload_threads = 1;
    cfg.offload_queue_max = 0;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [offload] queue_max: expected a number from 1 to 1000000, "
                     "got '0'");
    cfg.offload_queue_max = 1;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), 0, "%s", err);
}

Test(config, failed_load_leaves_cfg_alone)
{
    struct mx_config cfg, before;

    mx_config_default(&cfg);
    before = cfg;
    write_conf("[server]\nworkers = 3\n[listener a]\nlisten = *:0\n[limits]\nmax_line = x\n");
    cr_assert_eq(mx_config_load(&cfg, path, err, sizeof err), -1);
    unlink(path);
    cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0);
}

Test(config, small_error_buffer)
{
    struct mx_config cfg;
    char small[12];

    memset(small, 'x', sizeof small);
    mx_config_default(&cfg);
    write_conf("[limits]\nmax_line = abc\n");
    cr_assert_eq(mx_config_load(&cfg, path, small, sizeof small), -1);
    unlink(path);
    cr_assert_eq(strlen(small), sizeof small - 1);
    cr_assert_eq(strncmp(small, path, sizeof small - 1), 0);
}

Test(config, validate_after_overrides)
{
    struct mx_config cfg;

    load_ok(&cfg, LISTENER);
    cfg.workers = 300;
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [server] workers: expected a number from 1 to 256 or auto, "
                     "got '300'");
    cfg.workers = 256;
    strcpy(cfg.backend, "kqueue");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), -1);
    cr_assert_str_eq(err, "m.conf: [server] backend: expected one of auto, epoll, io_uring, poll, got 'kqueue'");
    strcpy(cfg.backend, "epoll");
    cr_assert_eq(mx_config_validate(&cfg, "m.conf", err, sizeof err), 0, "%s", err);
}


Test(config, admin_section)
{
    struct mx_config cfg;

    load_ok(&cfg, "[listener e]\nlisten = 127.0.0.1:0\n");
    cr_assert_str_eq(cfg.admin_listen, "", "the admin listener is off by default");
    cr_assert_eq(cfg.admin_request_timeout_ms, 5000);
    load_ok(&cfg, "[listener e]\nlisten = 127.0.0.1:0\n[admin]\nlisten = 127.0.0.1:9100\n"
                  "request_timeout = 250ms\n");
    cr_assert_str_eq(cfg.admin_listen, "127.0.0.1:9100");
    cr_assert_eq(cfg.admin_request_timeout_ms, 250);
    load_ok(&cfg, "[listener e]\nlisten = 127.0.0.1:0\n[admin]\nlisten = off\n");
    cr_assert_str_eq(cfg.admin_listen, "");
    expect_error("[listener e]\nlisten = 127.0.0.1:0\n[admin]\nlisten = 9100\n",
                 ":4: [admin] listen: expected host:port, [v6addr]:port or *:port, got '9100'");
    expect_error("[listener e]\nlisten = 127.0.0.1:0\n[admin]\nnope = 1\n",
                 ":4: [admin] nope: unknown key");
}
