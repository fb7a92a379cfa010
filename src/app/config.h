/* config.h - the daemon's settings: defaults, the INI file, printing.
 *
 * One table row per key (config_keys.c) drives parsing, validation, defaults and
 * --check-config output. Errors name file, line, section and key.
 */
#ifndef MUXD_APP_CONFIG_H
#define MUXD_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "muxd/log.h"
#include "proto/echo.h"

#define MX_MAX_LISTENERS 16

struct mx_listener_cfg {
    char name[64];
    char listen[128];            /* "127.0.0.1:7000", "[::1]:7000" */
    char protocol[16];           /* "echo" | "work" | "chat" */
    enum mx_echo_mode mode;      /* protocol = echo */
    unsigned offload;            /* protocol = work: 1 = on, 0 = off */
    /* protocol = chat */
    char server_name[64];
    char motd_file[256];         /* "" = none */
    char password[64];           /* "" = none */
    unsigned register_timeout_ms;
    unsigned ping_interval_ms;   /* 0 = never */
    unsigned ping_timeout_ms;
    unsigned flood_rate;         /* lines per second; 0 = off */
    unsigned flood_burst;
    unsigned max_channels;
};

/* [offload] threads = auto; main resolves it to the number of workers. */
#define MX_OFFLOAD_THREADS_AUTO 0xffffffffu

struct mx_config {
    /* [server] */
    unsigned workers;            /* 0 = auto (online CPUs) */
    char backend[16];            /* "auto" | "epoll" | "io_uring" | "poll" */
    int listen_backlog;
    unsigned shutdown_timeout_ms;
    unsigned uring_buffers;      /* per worker, a power of two */
    size_t uring_buffer_size;
    /* [listener NAME] */
    struct mx_listener_cfg listeners[MX_MAX_LISTENERS];
    unsigned nlisteners;
    /* [limits] */
    size_t max_connections;
    size_t max_line;
    size_t output_high_water;
    size_t output_low_water;
    size_t output_max;
    unsigned idle_timeout_ms;    /* 0 = never */
    /* [offload] */
    unsigned offload_threads;    /* 0 = no pool; MX_OFFLOAD_THREADS_AUTO */
    size_t offload_queue_max;
    /* [log] */
    enum mx_log_level log_level;
};

void mx_config_default(struct mx_config *cfg);

/* Loads path over cfg (which holds defaults). On error returns -1 and writes
 * one line such as
 *   "muxd.conf:12: [limits] max_line: expected a size like 8k, got 'abc'"
 * into err. Checks cross-key rules (low < high <= max, at least one
 * listener, an offload pool for work listeners with offload = on) too. */
int mx_config_load(struct mx_config *cfg, const char *path, char *err, size_t errlen);

/* Cross-key checks alone (after command-line overrides); same err style
 * without a line number. */
int mx_config_validate(const struct mx_config *cfg, const char *path, char *err, size_t errlen);

/* The effective settings, as an INI file that mx_config_load accepts. */
void mx_config_print(const struct mx_config *cfg, FILE *out);

/* Every key with its default, allowed values and meaning, as the Markdown
 * table that docs/config.md carries. */
void mx_config_reference(FILE *out);

#endif
