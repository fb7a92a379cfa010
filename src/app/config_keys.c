/* config_keys.c - the key table: one row per key, and walking it (what a
 * row does with one value is config_value.c).
 *
 * Parsing, defaults, rechecks, mx_config_print and docs/config.md's reference
 * all walk keys[] and then each protocol's own rows (protocols.h), so adding
 * a key is adding a row (here, raising MX_CFG_NKEYS, or in its protocol's).
 */
#include "app/config_keys.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "app/protocols.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CFG(f) MX_CFG_FIELD(struct mx_config, f)
#define LSN(f) MX_CFG_FIELD(struct mx_listener_cfg, f)
#define OPR(f) MX_CFG_FIELD(struct mx_oper_cfg, f)

const char *const mx_cfg_sect_names[] = {
    [MX_SECT_NONE] = "", [MX_SECT_SERVER] = "server", [MX_SECT_LISTENER] = "listener",
    [MX_SECT_LIMITS] = "limits", [MX_SECT_LOG] = "log", [MX_SECT_OFFLOAD] = "offload",
    [MX_SECT_ADMIN] = "admin", [MX_SECT_OPER] = "oper", [MX_SECT_CLUSTER] = "cluster",
};

static const char *const backend_names[] = { "auto", "epoll", "io_uring", "poll", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const format_names[] = { "text", "logfmt", NULL };
static const char *const proxy_names[] = { "off", "v1", "v2", "any", NULL };
_Static_assert(MX_PROXY_OFF == 0 && MX_PROXY_V1 == 1 && MX_PROXY_V2 == 2 && MX_PROXY_ANY == 3,
               "proxy_names follows enum mx_proxy_mode");
static const char *const transport_names[] = { "tcp", "websocket", NULL };
_Static_assert(MX_TRANSPORT_TCP == 0 && MX_TRANSPORT_WEBSOCKET == 1,
               "transport_names follows enum mx_transport");
_Static_assert(sizeof(enum mx_transport) == sizeof(uint32_t),
               "an enum key is stored as a uint32_t");
static const char *const overflow_names[] = { "disconnect", "drop_oldest", "pause_producer",
                                              NULL };
_Static_assert(MX_OVERFLOW_DISCONNECT == 0 && MX_OVERFLOW_DROP_OLDEST == 1 &&
               MX_OVERFLOW_PAUSE_PRODUCER == 2, "overflow_names follows enum mx_overflow");
_Static_assert(sizeof(enum mx_overflow) == sizeof(uint32_t),
               "an enum is stored as a 4-byte number");
_Static_assert(sizeof(enum mx_proxy_mode) == sizeof(uint32_t),
               "an enum is stored as a 4-byte number");
_Static_assert(MX_LOG_TEXT == 0 && MX_LOG_LOGFMT == 1, "format_names follows enum mx_log_format");
_Static_assert(sizeof(enum mx_log_format) == sizeof(uint32_t),
               "an enum is stored as a 4-byte number");

/* MX_CFG_ENUM stores the index into its choices, so those lists must follow the
 * enums they stand for. */
_Static_assert(MX_LOG_ERROR == 0 && MX_LOG_WARN == 1 && MX_LOG_INFO == 2 &&
               MX_LOG_DEBUG == 3, "level_names follows enum mx_log_level");
_Static_assert(sizeof(enum mx_log_level) == sizeof(uint32_t),
               "enum fields are stored as 32-bit numbers");

#define KIB MX_CFG_KIB
#define MIB MX_CFG_MIB
#define GIB MX_CFG_GIB
#define SEC MX_CFG_SEC

static const char *const tls_switch[] = { "off", "on", NULL };
static const char *const tls_versions[] = { "1.2", "1.3", NULL };
static const char *const auto_off[] = { "auto", "off", NULL };

static const struct mx_cfg_key keys[] = {
    { .sect = MX_SECT_SERVER, .name = "workers", .type = MX_CFG_UINT, CFG(workers),
      .min = 1, .max = 256, .has_auto = true, .auto_val = 0, .def = "auto", .live = true,
      .help = "reactor threads; auto = one per CPU this process may use" },
    { .sect = MX_SECT_SERVER, .name = "backend", .type = MX_CFG_WORD, CFG(backend),
      .choices = backend_names, .def = "auto",
      .help = "I/O backend; auto picks the best one available" },
    { .sect = MX_SECT_SERVER, .name = "listen_backlog", .type = MX_CFG_UINT, CFG(listen_backlog),
      .min = 1, .max = 65535, .def = "4096",
      .help = "listen(2) backlog of every listener" },
    { .sect = MX_SECT_SERVER, .name = "shutdown_timeout", .live = true, .type = MX_CFG_DURATION,
      CFG(shutdown_timeout_ms), .min = 0, .max = 3600 * SEC, .def = "5s",
      .help = "on shutdown, how long queued output may drain before closing" },
    { .sect = MX_SECT_SERVER, .name = "uring_buffers", .type = MX_CFG_UINT, CFG(uring_buffers),
      .min = 1, .max = 32768, .has_auto = true, .auto_val = 0, .def = "auto",
      .help = "io_uring: receive buffers per worker, a power of two; auto = 32 when receives "
              "pack into them (uring_incremental), else 256" },
    { .sect = MX_SECT_SERVER, .name = "uring_buffer_size", .type = MX_CFG_SIZE,
      CFG(uring_buffer_size), .min = 512, .max = MIB, .def = "8k",
      .help = "io_uring: size of each receive buffer" },
    { .sect = MX_SECT_SERVER, .name = "uring_incremental", .type = MX_CFG_ENUM,
      CFG(uring_incremental), .choices = auto_off, .def = "auto",
      .help = "io_uring: receives pack into buffers (kernel 6.12); off: a buffer each" },
    { .sect = MX_SECT_SERVER, .name = "uring_bundles", .type = MX_CFG_ENUM,
      CFG(uring_bundles), .choices = auto_off, .def = "auto",
      .help = "io_uring: one receive may fill several buffers (kernel 6.10); off: one each" },
    { .sect = MX_SECT_SERVER, .name = "uring_fixed_files", .type = MX_CFG_ENUM,
      CFG(uring_fixed_files), .choices = auto_off, .def = "auto",
      .help = "io_uring: connections' sockets registered with the ring, so each operation "
              "skips the descriptor lookup (kernel 5.19); off: looked up each time" },

    { .sect = MX_SECT_LISTENER, .name = "listen", .type = MX_CFG_ADDR, LSN(listen),
      .help = "address to listen on; port 0 picks a free port" },
    { .sect = MX_SECT_LISTENER, .name = "protocol", .type = MX_CFG_PROTO, LSN(protocol),
      .def = "echo", .help = "service spoken on the listener's connections" },
    /* Transport keys, any protocol: PROXY protocol. */
    { .sect = MX_SECT_LISTENER, .name = "proxy_protocol", .type = MX_CFG_ENUM,
      LSN(proxy_protocol), .choices = proxy_names, .def = "off",
      .help = "a PROXY header (haproxy's send-proxy / send-proxy-v2) must start every "
              "connection, of this version (any = v1 or v2); its client address becomes "
              "the peer's. Needs proxy_from" },
    { .sect = MX_SECT_LISTENER, .name = "proxy_from", .type = MX_CFG_CIDRS, LSN(proxy_from),
      .def = "", .help = "the proxies trusted to send a PROXY header (10.0.0.0/8, ::1); "
                         "with proxy_protocol on, anyone else is refused" },
    { .sect = MX_SECT_LISTENER, .name = "proxy_timeout", .type = MX_CFG_DURATION,
      LSN(proxy_timeout_ms), .min = 100, .max = 300 * SEC, .def = "5s",
      .help = "the whole PROXY header must arrive within this time of connecting" },
    /* Transport keys: per-address admission. */
    { .sect = MX_SECT_LISTENER, .name = "max_connections_per_ip", .live = true,
      .type = MX_CFG_UINT, LSN(max_connections_per_ip), .min = 0, .max = 10000000, .def = "0",
      .help = "this listener's own max_connections_per_ip; 0 = the [limits] one" },
    { .sect = MX_SECT_LISTENER, .name = "connect_rate_per_ip", .live = true,
      .type = MX_CFG_UINT, LSN(connect_rate_per_ip), .min = 0, .max = 1000000, .def = "0",
      .help = "this listener's own connect_rate_per_ip; 0 = the [limits] one" },
    /* Transport keys: TLS. */
    { .sect = MX_SECT_LISTENER, .name = "tls", .type = MX_CFG_ENUM, LSN(tls),
      .choices = tls_switch, .def = "off",
      .help = "TLS on this listener's connections (any protocol)" },
    { .sect = MX_SECT_LISTENER, .name = "tls_cert", .type = MX_CFG_TEXT, LSN(tls_cert),
      .def = "", .help = "TLS: certificate chain, PEM; relative to the config file; "
                         "reread on every reload" },
    { .sect = MX_SECT_LISTENER, .name = "tls_key", .type = MX_CFG_TEXT, LSN(tls_key),
      .def = "", .help = "TLS: its private key, PEM; relative to the config file" },
    { .sect = MX_SECT_LISTENER, .name = "tls_min_version", .type = MX_CFG_ENUM,
      LSN(tls_min_version), .choices = tls_versions, .def = "1.2",
      .help = "TLS: the oldest protocol version taken" },
    { .sect = MX_SECT_LISTENER, .name = "tls_ciphers", .type = MX_CFG_TEXT, LSN(tls_ciphers),
      .def = "", .help = "TLS 1.2 cipher list (OpenSSL's syntax); empty = OpenSSL's" },
    { .sect = MX_SECT_LISTENER, .name = "handshake_timeout", .type = MX_CFG_DURATION,
      LSN(handshake_timeout_ms), .min = 100, .max = 600 * MX_CFG_SEC, .def = "10s",
      .help = "TLS, WebSocket: a client that has not finished its handshake (or sent its "
              "upgrade request) by then is closed" },
    { .sect = MX_SECT_LISTENER, .name = "tls_handshake_offload", .type = MX_CFG_ENUM,
      LSN(tls_handshake_offload), .choices = tls_switch, .def = "on",
      .help = "TLS: run handshakes' key exchange and signature on the offload pool" },
    { .sect = MX_SECT_LISTENER, .name = "ktls", .type = MX_CFG_ENUM, LSN(ktls),
      .choices = auto_off, .def = "auto",
      .help = "TLS: hand records to kernel TLS after the handshake where the kernel, "
              "the backend (epoll, poll) and the cipher allow it (auto), or never (off)" },
    /* Transport keys: past output_max. */
    { .sect = MX_SECT_LISTENER, .name = "overflow", .type = MX_CFG_ENUM, LSN(overflow),
      .choices = overflow_names, .def = "disconnect",
      .help = "a connection whose output queue passes output_max: disconnect it, "
              "drop_oldest (whole queued messages go, and chat says how many), or "
              "pause_producer (chat stops reading from those who feed it)" },
    /* Transport keys: when output leaves. */
    { .sect = MX_SECT_LISTENER, .name = "fanout_delay", .live = true, .type = MX_CFG_DURATION,
      LSN(fanout_delay_ms), .min = 0, .max = 1000, .def = "0",
      .help = "output that reaches a connection from others (channel fan-out, private "
              "messages) may wait this long for more to leave in the same send: fewer "
              "sends and less CPU per delivery, for up to this much added latency; its "
              "own replies never wait; 0 = sent at the end of each loop turn" },
    /* Transport keys: WebSocket. */
    { .sect = MX_SECT_LISTENER, .name = "transport", .type = MX_CFG_ENUM, LSN(transport),
      .choices = transport_names, .def = "tcp",
      .help = "tcp, or websocket: an HTTP upgrade, then one line per message (the IRCv3 "
              "WebSocket spec); chat listeners also serve the web client at /" },
    { .sect = MX_SECT_LISTENER, .name = "allowed_origins", .type = MX_CFG_TEXT,
      LSN(allowed_origins), .def = "",
      .help = "WebSocket: the Origins browsers may connect from, comma-separated without "
              "spaces (https://chat.example.org,http://localhost:8080); empty = any" },
    { .sect = MX_SECT_LISTENER, .name = "ws_max_message", .type = MX_CFG_SIZE,
      LSN(ws_max_message), .min = 512, .max = MIB, .def = "16k",
      .help = "WebSocket: the largest message (or frame) a client may send; past it, "
              "close code 1009" },
    /* Which protocol state the listener serves. */
    { .sect = MX_SECT_LISTENER, .name = "share_with", .type = MX_CFG_TEXT, LSN(share_with),
      .def = "",
      .help = "the name of an earlier listener of the same protocol whose state this one "
              "serves (chat: the same network, nicks and channels); its protocol keys "
              "apply, none may be given here. Empty = a state of its own" },
    /* Each protocol's own keys follow these in its row (protocols.h). */

    { .sect = MX_SECT_LIMITS, .name = "max_connections", .live = true, .type = MX_CFG_UINT,
      CFG(max_connections), .min = 1, .max = 10000000, .def = "100000",
      .help = "open connections over all listeners; more are refused" },
    { .sect = MX_SECT_LIMITS, .name = "max_connections_per_ip", .live = true,
      .type = MX_CFG_UINT, CFG(max_connections_per_ip), .min = 0, .max = 10000000, .def = "0",
      .help = "open connections from one address (IPv4, or IPv6 /64) on one listener; "
              "more are refused; 0 = no limit" },
    { .sect = MX_SECT_LIMITS, .name = "connect_rate_per_ip", .live = true,
      .type = MX_CFG_UINT, CFG(connect_rate_per_ip), .min = 0, .max = 1000000, .def = "0",
      .help = "new connections per second from one address on one listener, "
              "with bursts as large; faster ones are refused; 0 = no limit" },
    { .sect = MX_SECT_LIMITS, .name = "max_line", .live = true, .type = MX_CFG_SIZE, CFG(max_line),
      .min = 16, .max = MIB, .def = "8k",
      .help = "longest line (echo's line modes, work), without its terminator" },
    { .sect = MX_SECT_LIMITS, .name = "output_high_water", .live = true, .type = MX_CFG_SIZE,
      CFG(output_high_water), .min = KIB, .max = GIB, .def = "256k",
      .help = "queued output at which a connection stops being read" },
    { .sect = MX_SECT_LIMITS, .name = "output_low_water", .live = true, .type = MX_CFG_SIZE,
      CFG(output_low_water), .min = 0, .max = GIB, .def = "64k",
      .help = "queued output at which reading resumes" },
    { .sect = MX_SECT_LIMITS, .name = "output_max", .live = true, .type = MX_CFG_SIZE, CFG(output_max),
      .min = KIB, .max = GIB, .def = "4m",
      .help = "queued output at which the connection is closed" },
    { .sect = MX_SECT_LIMITS, .name = "idle_timeout", .live = true, .type = MX_CFG_DURATION,
      CFG(idle_timeout_ms), .min = 0, .max = 86400 * SEC, .def = "300s",
      .help = "close connections silent this long; 0 = never" },

    { .sect = MX_SECT_OFFLOAD, .name = "threads", .type = MX_CFG_UINT, CFG(offload_threads),
      .min = 0, .max = 256, .has_auto = true, .auto_val = MX_OFFLOAD_THREADS_AUTO,
      .def = "auto", .help = "offload pool threads; auto = one per worker, 0 = no pool" },
    { .sect = MX_SECT_OFFLOAD, .name = "queue_max", .live = true, .type = MX_CFG_UINT, CFG(offload_queue_max),
      .min = 1, .max = 1000000, .def = "1024",
      .help = "offloaded jobs outstanding (queued or running) at most; "
              "past it requests are refused as busy" },

    { .sect = MX_SECT_ADMIN, .name = "listen", .type = MX_CFG_ADDR, CFG(admin_listen),
      .def = "off", .help = "HTTP listener for GET /metrics (Prometheus) and /healthz; "
                            "off = none. Keep it on loopback or a private network" },
    { .sect = MX_SECT_ADMIN, .name = "request_timeout", .type = MX_CFG_DURATION,
      CFG(admin_request_timeout_ms), .min = 100, .max = 60 * SEC, .def = "5s",
      .help = "an admin request must arrive whole within this time of connecting" },

    /* [cluster]: none is live, the bus to Redis is set up once at start. */
    { .sect = MX_SECT_CLUSTER, .name = "redis", .type = MX_CFG_HOSTPORT, CFG(cluster_redis),
      .def = "", .help = "the Redis server through which the chat listeners of every "
                         "node are one network; empty = this node alone" },
    { .sect = MX_SECT_CLUSTER, .name = "redis_user", .type = MX_CFG_TEXT,
      CFG(cluster_redis_user), .def = "",
      .help = "the ACL user muxd names in Redis AUTH; empty = none (Redis's default "
              "user). Needs redis_password" },
    { .sect = MX_SECT_CLUSTER, .name = "redis_password", .type = MX_CFG_TEXT,
      CFG(cluster_redis_password), .def = "", .secret = true,
      .help = "the password muxd gives Redis AUTH; empty = no AUTH" },
    { .sect = MX_SECT_CLUSTER, .name = "node_name", .type = MX_CFG_NAME,
      CFG(cluster_node_name), .max = 32, .def = "",
      .help = "this node's name, unique in the network; empty = the host name" },
    { .sect = MX_SECT_CLUSTER, .name = "heartbeat", .type = MX_CFG_DURATION,
      CFG(cluster_heartbeat_ms), .min = 100, .max = 60 * SEC, .def = "2s",
      .help = "how often this node tells the network through Redis that it is alive" },
    { .sect = MX_SECT_CLUSTER, .name = "redis_timeout", .type = MX_CFG_DURATION,
      CFG(cluster_timeout_ms), .min = 100, .max = 60 * SEC, .def = "2s",
      .help = "a Redis command unanswered this long means Redis is lost" },
    { .sect = MX_SECT_CLUSTER, .name = "queue_max", .type = MX_CFG_SIZE,
      CFG(cluster_queue_max), .min = 64 * KIB, .max = GIB, .def = "4m",
      .help = "bytes waiting for Redis at most; past it more are dropped (and counted)" },

    /* [oper NAME]: password and hosts have no defaults, both must be
     * given (config.c checks). */
    { .sect = MX_SECT_OPER, .name = "password", .type = MX_CFG_CRYPT, OPR(password),
      .secret = true, .live = true,
      .help = "chat: OPER NAME's password as a crypt(3) hash, e.g. from `mkpasswd -m sha-512`; "
              "plain text is refused" },
    { .sect = MX_SECT_OPER, .name = "hosts", .type = MX_CFG_TEXT, OPR(hosts), .live = true,
      .help = "chat: `nick!user@host` masks (`*`, `?`) OPER NAME is allowed from, "
              "comma-separated" },
    { .sect = MX_SECT_OPER, .name = "die", .type = MX_CFG_ENUM, OPR(die), .live = true,
      .choices = tls_switch, .def = "off",
      .help = "chat: whether OPER NAME may stop the whole daemon with DIE (a graceful "
              "stop, as SIGTERM); off = DIE is refused" },

    { .sect = MX_SECT_LOG, .name = "level", .live = true, .type = MX_CFG_ENUM, CFG(log_level),
      .choices = level_names, .def = "info",
      .help = "least severe level written to stderr" },
    { .sect = MX_SECT_LOG, .name = "format", .live = true, .type = MX_CFG_ENUM, CFG(log_format),
      .choices = format_names, .def = "text",
      .help = "text lines, or logfmt (ts=... level=... thread=... msg=\"...\") for log shippers" },
};

#define NKEYS ARRAY_LEN(keys)
_Static_assert(NKEYS == MX_CFG_NKEYS, "MX_CFG_NKEYS counts the rows of keys[]");

/* ---- rows and defaults -------------------------------------------------- */

const struct mx_cfg_key *mx_cfg_key_find(enum mx_cfg_sect s, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

size_t mx_cfg_key_row(const struct mx_cfg_key *k)
{
    return (size_t)(k - keys);
}

static const struct mx_cfg_key *proto_key(const struct mx_app_proto *p, const char *name)
{
    for (size_t i = 0; i < p->nkeys; i++)
        if (strcmp(p->keys[i].name, name) == 0)
            return &p->keys[i];
    return NULL;
}

int mx_cfg_listener_set(struct mx_listener_cfg *l, const char *name, const char *v,
                        const char **key, char *why, size_t len)
{
    const struct mx_cfg_key *k = mx_cfg_key_find(MX_SECT_LISTENER, name);

    *key = NULL;
    if (k) {
        *key = k->name;
        return mx_cfg_key_set(k, l, v, why, len) ? -EINVAL : 0;
    }
    for (size_t i = 0; i < mx_app_nprotos; i++) {
        const struct mx_app_proto *p = mx_app_protos[i];
        if (!(k = proto_key(p, name)))
            continue;
        *key = k->name;
        if (mx_cfg_key_set(k, mx_app_proto_cfg(l, p), v, why, len))
            return -EINVAL;
    }
    return *key ? 0 : -ENOENT;
}

static void apply_defaults(const struct mx_cfg_key *rows, size_t n, bool listener, void *base)
{
    char why[256];

    for (size_t i = 0; i < n; i++) {
        /* [oper NAME] rows have no place in cfg itself; a section starts
         * zeroed (config.c), which is die = off. */
        if ((rows[i].sect == MX_SECT_LISTENER) != listener || !rows[i].def ||
            rows[i].sect == MX_SECT_OPER)
            continue;
        int rc = mx_cfg_key_set(&rows[i], base, rows[i].def, why, sizeof why);
        assert(rc == 0 && "a default in a key table does not parse");
        (void)rc;
    }
}

void mx_cfg_listener_defaults(struct mx_listener_cfg *lsn)
{
    apply_defaults(keys, NKEYS, true, lsn);
    for (size_t i = 0; i < mx_app_nprotos; i++) {
        const struct mx_app_proto *p = mx_app_protos[i];
        apply_defaults(p->keys, p->nkeys, true, mx_app_proto_cfg(lsn, p));
    }
}

void mx_config_default(struct mx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    apply_defaults(keys, NKEYS, false, cfg);
}

/* ---- checking values set in code ---------------------------------------- */

/* Writing each value out and reading it back through its row checks ranges
 * and choices of values set in code, such as command-line overrides. */
static int recheck(const struct mx_cfg_key *k, const void *base, const char *label,
                   const char *path, char *err, size_t errlen)
{
    union { struct mx_config cfg; struct mx_listener_cfg lsn; } scratch;
    char text[160], why[320];

    mx_cfg_key_format(k, base, text, sizeof text);
    if (mx_cfg_key_set(k, &scratch, text, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "%s: [%s] %s: %s", path, label, k->name, why);
    return -1;
}

static int recheck_rows(const struct mx_cfg_key *rows, size_t n, enum mx_cfg_sect s,
                        const void *base, const char *label, const char *path, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].sect == s && recheck(&rows[i], base, label, path, err, errlen))
            return -1;
    return 0;
}

/* The keys every listener has first: the protocol's own rows are found by
 * its name. */
static int recheck_listener(const struct mx_listener_cfg *l, const char *path, char *err,
                            size_t errlen)
{
    char label[96];

    snprintf(label, sizeof label, "listener %.63s", l->name);
    if (recheck_rows(keys, NKEYS, MX_SECT_LISTENER, l, label, path, err, errlen))
        return -1;
    const struct mx_app_proto *p = mx_app_proto_find(l->protocol);
    return recheck_rows(p->keys, p->nkeys, MX_SECT_LISTENER, mx_app_proto_cfg_const(l, p),
                        label, path, err, errlen);
}

int mx_cfg_check_values(const struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    static const enum mx_cfg_sect after[] = { MX_SECT_LIMITS, MX_SECT_OFFLOAD, MX_SECT_ADMIN,
                                              MX_SECT_CLUSTER, MX_SECT_LOG };

    if (recheck_rows(keys, NKEYS, MX_SECT_SERVER, cfg, "server", path, err, errlen))
        return -1;
    for (unsigned l = 0; l < cfg->nlisteners && l < MX_MAX_LISTENERS; l++)
        if (recheck_listener(&cfg->listeners[l], path, err, errlen))
            return -1;
    for (size_t i = 0; i < ARRAY_LEN(after); i++)
        if (recheck_rows(keys, NKEYS, after[i], cfg, mx_cfg_sect_names[after[i]], path,
                         err, errlen))
            return -1;
    return 0;
}

/* ---- output ------------------------------------------------------------- */

static void print_rows(const struct mx_cfg_key *rows, size_t n, enum mx_cfg_sect s,
                       const void *base, FILE *out)
{
    char text[160];

    for (size_t i = 0; i < n; i++) {
        if (rows[i].sect != s)
            continue;
        mx_cfg_key_format(&rows[i], base, text, sizeof text);
        if (rows[i].secret && text[0])
            snprintf(text, sizeof text, "%s", MX_CFG_SECRET_SHOWN);
        /* Wide enough for the longest key, max_channels_per_client. */
        fprintf(out, "%-23s = %s\n", rows[i].name, text);
    }
}

/* The keys of every listener, then those of its own protocol only (none
 * for one that shares another's state: they are that one's). */
static void print_listener(const struct mx_listener_cfg *l, FILE *out)
{
    const struct mx_app_proto *p = mx_app_proto_find(l->protocol);

    fprintf(out, "\n[listener %.63s]\n", l->name);
    print_rows(keys, NKEYS, MX_SECT_LISTENER, l, out);
    if (p && !l->share_with[0])
        print_rows(p->keys, p->nkeys, MX_SECT_LISTENER, mx_app_proto_cfg_const(l, p), out);
}

void mx_config_print(const struct mx_config *cfg, FILE *out)
{
    fputs("; muxd effective settings\n\n[server]\n", out);
    print_rows(keys, NKEYS, MX_SECT_SERVER, cfg, out);
    for (unsigned i = 0; i < cfg->nlisteners && i < MX_MAX_LISTENERS; i++)
        print_listener(&cfg->listeners[i], out);
    fputs("\n[limits]\n", out);
    print_rows(keys, NKEYS, MX_SECT_LIMITS, cfg, out);
    fputs("\n[offload]\n", out);
    print_rows(keys, NKEYS, MX_SECT_OFFLOAD, cfg, out);
    fputs("\n[admin]\n", out);
    print_rows(keys, NKEYS, MX_SECT_ADMIN, cfg, out);
    fputs("\n[cluster]\n", out);
    print_rows(keys, NKEYS, MX_SECT_CLUSTER, cfg, out);
    for (unsigned i = 0; i < cfg->nopers && i < MX_MAX_OPERS; i++) {
        fprintf(out, "\n[oper %.63s]\n", cfg->opers[i].name);
        print_rows(keys, NKEYS, MX_SECT_OPER, &cfg->opers[i], out);
    }
    fputs("\n[log]\n", out);
    print_rows(keys, NKEYS, MX_SECT_LOG, cfg, out);
}

static void reference_rows(const struct mx_cfg_key *rows, size_t n, enum mx_cfg_sect s,
                           FILE *out)
{
    char allowed[160];

    for (size_t i = 0; i < n; i++) {
        const struct mx_cfg_key *k = &rows[i];
        if (k->sect != s)
            continue;
        mx_cfg_key_describe(k, allowed, sizeof allowed);
        fprintf(out, "| `[%s%s]` | `%s` | %s | %s | %s%s |\n", mx_cfg_sect_names[s],
                s == MX_SECT_LISTENER || s == MX_SECT_OPER ? " NAME" : "", k->name,
                k->def ? k->def : "(required)", allowed, k->help,
                k->live ? " (reloads)" : "");
    }
}

void mx_config_reference(FILE *out)
{
    fputs("| section | key | default | allowed | meaning |\n"
          "| --- | --- | --- | --- | --- |\n", out);
    reference_rows(keys, NKEYS, MX_SECT_SERVER, out);
    reference_rows(keys, NKEYS, MX_SECT_LISTENER, out);
    for (size_t i = 0; i < mx_app_nprotos; i++)
        reference_rows(mx_app_protos[i]->keys, mx_app_protos[i]->nkeys, MX_SECT_LISTENER, out);
    reference_rows(keys, NKEYS, MX_SECT_LIMITS, out);
    reference_rows(keys, NKEYS, MX_SECT_OFFLOAD, out);
    reference_rows(keys, NKEYS, MX_SECT_ADMIN, out);
    reference_rows(keys, NKEYS, MX_SECT_CLUSTER, out);
    reference_rows(keys, NKEYS, MX_SECT_OPER, out);
    reference_rows(keys, NKEYS, MX_SECT_LOG, out);
}

/* ---- differences (reload) ------------------------------------------------ */

static void diff_rows(const struct mx_cfg_key *rows, size_t n, enum mx_cfg_sect s,
                      const char *label, void *run, const void *next, mx_cfg_change_fn *fn,
                      void *arg)
{
    char was[160], now[160];

    for (size_t i = 0; i < n; i++) {
        if (rows[i].sect != s)
            continue;
        mx_cfg_key_format(&rows[i], run, was, sizeof was);
        mx_cfg_key_format(&rows[i], next, now, sizeof now);
        if (strcmp(was, now) != 0)
            fn(&(struct mx_cfg_change){ label, &rows[i], was, now, run, next }, arg);
    }
}

static const struct mx_listener_cfg *listener_named(const struct mx_config *cfg,
                                                    const char *name)
{
    for (unsigned i = 0; i < cfg->nlisteners; i++)
        if (strcmp(cfg->listeners[i].name, name) == 0)
            return &cfg->listeners[i];
    return NULL;
}

/* A listener's keys: its own, then its protocol's (when both speak it). */
static void diff_listener(struct mx_listener_cfg *run, const struct mx_listener_cfg *next,
                          mx_cfg_change_fn *fn, void *arg)
{
    char label[80];
    snprintf(label, sizeof label, "listener %.63s", run->name);
    diff_rows(keys, NKEYS, MX_SECT_LISTENER, label, run, next, fn, arg);
    const struct mx_app_proto *p = mx_app_proto_find(run->protocol);
    if (p && strcmp(run->protocol, next->protocol) == 0)
        diff_rows(p->keys, p->nkeys, MX_SECT_LISTENER, label, mx_app_proto_cfg(run, p),
                  mx_app_proto_cfg_const(next, p), fn, arg);
}

static void listener_came_or_went(const char *name, bool came, mx_cfg_change_fn *fn,
                                  void *arg)
{
    char label[80];
    snprintf(label, sizeof label, "listener %.63s", name);
    fn(&(struct mx_cfg_change){ label, NULL, came ? NULL : "present", came ? "present" : NULL,
                                NULL, NULL }, arg);
}

static const struct mx_oper_cfg *oper_named(const struct mx_config *cfg, const char *name)
{
    for (unsigned i = 0; i < cfg->nopers; i++)
        if (strcmp(cfg->opers[i].name, name) == 0)
            return &cfg->opers[i];
    return NULL;
}

/* [oper NAME] sections, matched by name like listeners: for the reload's
 * log (the caller takes next's table whole). */
static void diff_opers(struct mx_config *run, const struct mx_config *next,
                       mx_cfg_change_fn *fn, void *arg)
{
    char label[80];
    for (unsigned i = 0; i < run->nopers; i++) {
        const struct mx_oper_cfg *n = oper_named(next, run->opers[i].name);
        snprintf(label, sizeof label, "oper %.63s", run->opers[i].name);
        if (n)
            diff_rows(keys, NKEYS, MX_SECT_OPER, label, &run->opers[i], n, fn, arg);
        else
            fn(&(struct mx_cfg_change){ label, NULL, "present", NULL, NULL, NULL }, arg);
    }
    for (unsigned i = 0; i < next->nopers; i++) {
        if (oper_named(run, next->opers[i].name))
            continue;
        snprintf(label, sizeof label, "oper %.63s", next->opers[i].name);
        fn(&(struct mx_cfg_change){ label, NULL, NULL, "present", NULL, NULL }, arg);
    }
}

void mx_config_diff(struct mx_config *run, const struct mx_config *next, mx_cfg_change_fn *fn,
                    void *arg)
{
    static const enum mx_cfg_sect global[] = { MX_SECT_SERVER, MX_SECT_LIMITS, MX_SECT_OFFLOAD,
                                               MX_SECT_ADMIN, MX_SECT_CLUSTER, MX_SECT_LOG };
    for (size_t i = 0; i < ARRAY_LEN(global); i++)
        diff_rows(keys, NKEYS, global[i], mx_cfg_sect_names[global[i]], run, next, fn, arg);
    for (unsigned i = 0; i < run->nlisteners; i++) {
        const struct mx_listener_cfg *n = listener_named(next, run->listeners[i].name);
        if (n)
            diff_listener(&run->listeners[i], n, fn, arg);
        else
            listener_came_or_went(run->listeners[i].name, false, fn, arg);
    }
    for (unsigned i = 0; i < next->nlisteners; i++)
        if (!listener_named(run, next->listeners[i].name))
            listener_came_or_went(next->listeners[i].name, true, fn, arg);
    diff_opers(run, next, fn, arg);
}

void mx_cfg_key_copy(const struct mx_cfg_key *k, void *dst, const void *src)
{
    memcpy((char *)dst + k->off, (const char *)src + k->off, k->width);
}
