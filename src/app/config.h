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
#include "muxd/server.h"

#define MX_MAX_LISTENERS 16

/* Room for one protocol's own keys; each protocol's file checks at build
 * time that its struct fits (protocols.h). */
#define MX_PROTO_CFG_SIZE 1024
#define MX_MAX_PROTOCOLS 8

union mx_proto_cfg {
    max_align_t align;
    unsigned char bytes[MX_PROTO_CFG_SIZE];
};

struct mx_listener_cfg {
    char name[64];
    char listen[128];            /* "127.0.0.1:7000", "[::1]:7000" */
    char protocol[16];           /* a name in the registry (protocols.h) */
    /* Transport options, any protocol (listen_opts.c). */
    /* PROXY protocol. */
    enum mx_proxy_mode proxy_protocol;
    char proxy_from[192];        /* comma-separated CIDRs; "" = none */
    unsigned proxy_timeout_ms;
    /* Per-address admission. */
    unsigned max_connections_per_ip;  /* 0 = [limits]' */
    unsigned connect_rate_per_ip;     /* per second; 0 = [limits]' */
    /* TLS. */
    unsigned tls;                /* index in the off/on choices: 1 = on */
    char tls_cert[256], tls_key[256]; /* relative: to the config's directory */
    unsigned tls_min_version;    /* index: 0 = 1.2, 1 = 1.3 */
    char tls_ciphers[256];       /* "" = OpenSSL's */
    unsigned handshake_timeout_ms;
    unsigned tls_handshake_offload; /* index in off/on: 1 = on the pool */
    unsigned ktls;               /* index in auto/off: 0 = auto */
    /* Past output_max. */
    enum mx_overflow overflow;
    /* Output from others may wait this long (0 = not at all). */
    unsigned fanout_delay_ms;
    /* WebSocket. */
    enum mx_transport transport;
    char allowed_origins[1024];  /* comma-separated; "" = any */
    size_t ws_max_message;
    /* Serve the protocol state of this earlier listener (chat: one
     * network over several ports and transports); "" = its own. */
    char share_with[64];
    /* Each protocol's keys, in registry order. Every protocol's block is
     * filled, whatever this listener speaks: `protocol` may come after
     * the keys, and switching it needs no other edit. Only the block of
     * the listener's own protocol is used and printed. */
    union mx_proto_cfg proto[MX_MAX_PROTOCOLS];
};

/* [oper NAME]: who may become an IRC operator on the chat listeners. */
#define MX_MAX_OPERS 32
struct mx_oper_cfg {
    char name[64];
    char password[160];          /* a crypt(3) hash ($6$ or $y$), never plain text */
    char hosts[256];             /* nick!user@host masks, comma-separated */
    unsigned die;                /* index in off/on: 1 = may use DIE */
};

/* [offload] threads = auto; main resolves it to the number of workers. */
#define MX_OFFLOAD_THREADS_AUTO 0xffffffffu

struct mx_config {
    /* The config file's directory: relative paths in it (a MOTD file)
     * are taken from there, whatever the working directory. */
    char dir[256];
    /* The config file as given (-c): what chat's REHASH names in 382. */
    char path[256];
    /* [server] */
    unsigned workers;            /* 0 = auto (online CPUs) */
    char backend[16];            /* "auto" | "epoll" | "io_uring" | "poll" */
    int listen_backlog;
    unsigned shutdown_timeout_ms;
    unsigned uring_buffers;      /* per worker, a power of two */
    size_t uring_buffer_size;
    unsigned uring_incremental;  /* index in auto/off: 0 = auto */
    unsigned uring_bundles;      /* index in auto/off: 0 = auto */
    unsigned uring_fixed_files;  /* index in auto/off: 0 = auto */
    /* [listener NAME] */
    struct mx_listener_cfg listeners[MX_MAX_LISTENERS];
    unsigned nlisteners;
    /* [oper NAME], global: every chat listener gets the same table. */
    struct mx_oper_cfg opers[MX_MAX_OPERS];
    unsigned nopers;
    /* [limits] */
    size_t max_connections;
    size_t max_line;
    size_t output_high_water;
    size_t output_low_water;
    size_t output_max;
    unsigned idle_timeout_ms;    /* 0 = never */
    unsigned max_connections_per_ip;  /* per address and listener; 0 = off */
    unsigned connect_rate_per_ip;     /* per second, burst as many; 0 = off */
    /* [offload] */
    unsigned offload_threads;    /* 0 = no pool; MX_OFFLOAD_THREADS_AUTO */
    size_t offload_queue_max;
    /* [admin] */
    char admin_listen[128];      /* "" = off: no admin listener */
    unsigned admin_request_timeout_ms;
    /* [cluster] */
    char cluster_redis[128];          /* [cluster] redis: "HOST:PORT"; "" = a single node (default "") */
    char cluster_redis_user[64];      /* redis_user: ACL user for AUTH; "" = none (default) */
    char cluster_redis_password[128]; /* redis_password: "" = no AUTH (default) */
    char cluster_node_name[64];       /* node_name: this node's name, unique in the network; "" = the host name, resolved by main at start (default "") */
    unsigned cluster_heartbeat_ms;    /* heartbeat: duration, default 2s, allowed 100ms..60s */
    unsigned cluster_timeout_ms;      /* redis_timeout: duration, default 2s, allowed 100ms..60s: a Redis command unanswered this long means Redis is lost */
    size_t cluster_queue_max;         /* queue_max: size, default 4m, allowed 64k..1g: bytes waiting for Redis before more are dropped (and counted) */
    /* [log] */
    enum mx_log_level log_level;
    enum mx_log_format log_format;
};

void mx_config_default(struct mx_config *cfg);

/* Loads path over cfg (which holds defaults). On error returns -1 and writes
 * one line such as
 *   "muxd.conf:12: [limits] max_line: expected a size like 8k, got 'abc'"
 * into err. Checks cross-key rules (low < high <= max, at least one
 * listener, [cluster] redis_user only with redis_password, and each
 * protocol's own, such as an offload pool for work listeners with
 * offload = on) too. */
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
