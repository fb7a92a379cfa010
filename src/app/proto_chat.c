/* proto_chat.c - the chat service in the protocol registry: its keys, the
 * MOTD and K-line files it reads at start and reload, and the struct
 * mx_chat of each listener. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/cluster.h"
#include "app/protocols.h"
#include "app/textfile.h"
#include "muxd/log.h"
#include "proto/chat/chat.h"
#include "proto/chat/kline.h"

#define SEC MX_CFG_SEC
#define MOTD_MAX (64 * 1024)
/* A chat line is 512 bytes with its CRLF. */
#define CHAT_LINE 512

struct chat_cfg {
    char server_name[64];
    char motd_file[256];         /* "" = none */
    char password[64];           /* "" = none */
    unsigned register_timeout_ms;
    unsigned ping_interval_ms;   /* 0 = never */
    unsigned ping_timeout_ms;
    unsigned flood_rate;         /* lines per second; 0 = off */
    unsigned flood_burst;
    unsigned max_channels;
    uint32_t cloak_hosts;        /* 0 off, 1 on */
    char cloak_secret[64];       /* "" = none */
    char kline_file[256];        /* "" = NAME.klines, "off" = memory only */
    unsigned max_klines;
    uint32_t utf8_only;          /* 0 off, 1 on */
};

_Static_assert(sizeof(struct chat_cfg) <= MX_PROTO_CFG_SIZE, "chat's keys fit their block");

#define CHAT(f) MX_CFG_FIELD(struct chat_cfg, f)
#define CLOAK_SECRET_MIN 16

static const char *const switch_names[] = { "off", "on", NULL };

static const struct mx_cfg_key keys[] = {
    { .sect = MX_SECT_LISTENER, .name = "server_name", .type = MX_CFG_TEXT, CHAT(server_name),
      .def = "muxd.local", .help = "chat: the server's name in replies and prefixes" },
    { .sect = MX_SECT_LISTENER, .name = "motd_file", .type = MX_CFG_TEXT, CHAT(motd_file),
      .def = "", .help = "chat: file whose lines are the message of the day; "
                         "empty = none (422)" },
    { .sect = MX_SECT_LISTENER, .name = "password", .type = MX_CFG_TEXT, CHAT(password),
      .def = "", .secret = true, .help = "chat: PASS a client must give to register; empty = none" },
    { .sect = MX_SECT_LISTENER, .name = "register_timeout", .type = MX_CFG_DURATION,
      CHAT(register_timeout_ms), .min = SEC, .max = 3600 * SEC, .def = "30s",
      .help = "chat: a client must register (NICK, USER) within this" },
    { .sect = MX_SECT_LISTENER, .name = "ping_interval", .type = MX_CFG_DURATION,
      CHAT(ping_interval_ms), .min = 0, .max = 86400 * SEC, .def = "120s",
      .help = "chat: PING a client silent this long; 0 = never" },
    { .sect = MX_SECT_LISTENER, .name = "ping_timeout", .type = MX_CFG_DURATION,
      CHAT(ping_timeout_ms), .min = SEC, .max = 3600 * SEC, .def = "60s",
      .help = "chat: close a PINGed client silent this much longer" },
    { .sect = MX_SECT_LISTENER, .name = "flood_rate", .type = MX_CFG_UINT, CHAT(flood_rate),
      .min = 0, .max = 1000000, .def = "10",
      .help = "chat: lines per second a client may send after its burst; "
              "faster input waits; 0 = no flood control" },
    { .sect = MX_SECT_LISTENER, .name = "flood_burst", .type = MX_CFG_UINT,
      CHAT(flood_burst), .min = 1, .max = 1000000, .def = "20",
      .help = "chat: lines a client may send at once before flood_rate applies" },
    { .sect = MX_SECT_LISTENER, .name = "max_channels_per_client", .type = MX_CFG_UINT,
      CHAT(max_channels), .min = 1, .max = 10000, .def = "20",
      .help = "chat: channels one client may be on at once" },
    { .sect = MX_SECT_LISTENER, .name = "cloak_hosts", .type = MX_CFG_ENUM, CHAT(cloak_hosts),
      .choices = switch_names, .def = "off",
      .help = "chat: show clients a keyed hash of each other's address instead of it "
              "(opers and the client itself see it in WHOIS); needs cloak_secret" },
    { .sect = MX_SECT_LISTENER, .name = "cloak_secret", .type = MX_CFG_TEXT,
      CHAT(cloak_secret), .def = "", .secret = true,
      .help = "chat: the key of the host cloaks, at least 16 characters; a new one "
              "changes every cloak" },
    { .sect = MX_SECT_LISTENER, .name = "kline_file", .type = MX_CFG_TEXT, CHAT(kline_file),
      .def = "",
      .help = "chat: file keeping the K-lines (KLINE), relative to the config's directory; "
              "read at start and reload, rewritten on each change; empty = NAME.klines "
              "(the listener's name), off = kept in memory only" },
    { .sect = MX_SECT_LISTENER, .name = "max_klines", .type = MX_CFG_UINT, CHAT(max_klines),
      .min = 1, .max = 1000000, .def = "10000",
      .help = "chat: K-lines kept at most; KLINE past it is refused, a longer file is an error" },
    { .sect = MX_SECT_LISTENER, .name = "utf8_only", .type = MX_CFG_ENUM, CHAT(utf8_only),
      .choices = switch_names, .def = "off",
      .help = "chat: advertise UTF8ONLY and refuse message, topic, kick, part, quit, away "
              "and real name text that is not UTF-8 (FAIL ... INVALID_UTF8)" },
};

extern const struct mx_app_proto mx_app_chat;

#define KLINES_OFF "off"

/* l's K-line file as given, or its default (NAME.klines); "" for none. */
static void kline_name(const struct mx_listener_cfg *l, const struct chat_cfg *c, char *out,
                       size_t cap)
{
    if (strcmp(c->kline_file, KLINES_OFF) == 0)
        snprintf(out, cap, "%s", "");
    else if (c->kline_file[0])
        snprintf(out, cap, "%s", c->kline_file);
    else
        snprintf(out, cap, "%s.klines", l->name);
}

/* Two chat listeners (two networks) writing one K-line file would each
 * overwrite the other's bans. Only listeners before c's are compared: the
 * second of a pair is the one named. */
static int kline_file_shared(const struct mx_config *cfg, const struct chat_cfg *c, char *why,
                             size_t len)
{
    unsigned me = 0;
    while (me < cfg->nlisteners && mx_app_proto_cfg_const(&cfg->listeners[me], &mx_app_chat) != c)
        me++;
    if (me == cfg->nlisteners)
        return 0;
    char mine[sizeof c->kline_file], other[sizeof mine];
    kline_name(&cfg->listeners[me], c, mine, sizeof mine);
    for (unsigned i = 0; mine[0] && i < me; i++) {
        const struct mx_listener_cfg *l = &cfg->listeners[i];
        if (strcmp(l->protocol, "chat") != 0)
            continue;
        kline_name(l, mx_app_proto_cfg_const(l, &mx_app_chat), other, sizeof other);
        if (strcmp(other, mine) == 0) {
            snprintf(why, len, "kline_file: '%s' is listener %s's already; give each chat "
                     "listener its own", mine, l->name);
            return -1;
        }
    }
    return 0;
}

/* The core must let a partial chat line wait that long, or it would cut
 * the client before chat can answer 417. */
static int chat_check(const struct mx_config *cfg, const void *pcfg, char *why, size_t len)
{
    const struct chat_cfg *c = pcfg;
    if (cfg->max_line < CHAT_LINE) {
        snprintf(why, len, "protocol: chat needs [limits] max_line of at least %d", CHAT_LINE);
        return -1;
    }
    /* A short key can be found by trying keys against a known address. */
    if (c->cloak_hosts && strlen(c->cloak_secret) < CLOAK_SECRET_MIN) {
        snprintf(why, len, "cloak_secret: cloak_hosts = on needs a secret of at least %d "
                 "characters", CLOAK_SECRET_MIN);
        return -1;
    }
    return kline_file_shared(cfg, c, why, len);
}

/* mx_chat_opts points into c, motd and the oper copies, so they travel
 * together. */
struct chat_opts {
    struct mx_chat_opts o;
    struct chat_cfg c;
    char *motd;
    char config_file[sizeof ((struct mx_config *)0)->path];
    struct mx_oper_cfg oper_cfg[MX_MAX_OPERS];
    struct mx_chat_oper opers[MX_MAX_OPERS];
    char kline_path[sizeof ((struct mx_config *)0)->dir + sizeof ((struct chat_cfg *)0)->kline_file];
    struct kline_list klines;
    struct kline_stamp kline_stamp;
    struct mx_app_cluster_opts cluster;
};

/* REHASH, from a worker: the reload must run on the main thread, which
 * takes SIGHUP (mx_server_serve); the signal is the way there. */
static void rehash_by_signal(void)
{
    kill(getpid(), SIGHUP);
}

/* DIE, the same way: SIGTERM is the graceful stop. */
static void die_by_signal(void)
{
    kill(getpid(), SIGTERM);
}

/* The [oper NAME] table is global: every chat listener gets all of it. */
static void copy_opers(const struct mx_config *cfg, struct chat_opts *co)
{
    memcpy(co->oper_cfg, cfg->opers, sizeof co->oper_cfg);
    for (unsigned i = 0; i < cfg->nopers && i < MX_MAX_OPERS; i++)
        co->opers[i] = (struct mx_chat_oper){ .name = co->oper_cfg[i].name,
                                              .hash = co->oper_cfg[i].password,
                                              .hosts = co->oper_cfg[i].hosts,
                                              .die = co->oper_cfg[i].die != 0 };
}

static void chat_opts_free(void *opts)
{
    struct chat_opts *co = opts;

    if (co) {
        free(co->motd);
        kline_list_free(&co->klines);
    }
    free(co);
}

/* An unreadable MOTD is a config error (exit 2, also for --check-config),
 * not a chat without one. */
static int read_motd(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                     struct chat_opts *co, char *err, size_t len)
{
    if (!co->c.motd_file[0])
        return 0;
    char path[sizeof cfg->dir + sizeof co->c.motd_file];
    snprintf(path, sizeof path, "%s%s", co->c.motd_file[0] == '/' ? "" : cfg->dir,
             co->c.motd_file);
    if (mx_read_text_file(path, MOTD_MAX, &co->motd) == 0)
        return 0;
    snprintf(err, len, "[listener %.63s] motd_file: cannot read '%s': %s", l->name, path,
             strerror(errno));
    return -1;
}

/* A bad K-line file is a config error too: at start the daemon does not
 * run without its bans; a reload keeps everything as it was. */
static int read_klines(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                       struct chat_opts *co, char *err, size_t len)
{
    char why[600], name[sizeof co->c.kline_file];
    kline_name(l, &co->c, name, sizeof name);
    if (!name[0])
        return 0;
    snprintf(co->kline_path, sizeof co->kline_path, "%s%s", name[0] == '/' ? "" : cfg->dir,
             name);
    if (kline_file_load(co->kline_path, co->c.max_klines, (int64_t)time(NULL), &co->klines,
                        &co->kline_stamp, why, sizeof why) == 0)
        return 0;
    snprintf(err, len, "[listener %.63s] kline_file: %s", l->name, why);
    return -1;
}

static void *chat_opts_new(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                           const void *pcfg, char *err, size_t len)
{
    struct chat_opts *co = calloc(1, sizeof *co);

    if (!co) {
        snprintf(err, len, "[listener %.63s]: out of memory", l->name);
        return NULL;
    }
    memcpy(&co->c, pcfg, sizeof co->c);
    if (read_motd(cfg, l, co, err, len) < 0 || read_klines(cfg, l, co, err, len) < 0) {
        chat_opts_free(co);
        return NULL;
    }
    copy_opers(cfg, co);
    if (mx_app_cluster_opts(cfg, l->name, &co->cluster) < 0) {
        snprintf(err, len, "[cluster] redis: expected HOST:PORT, got '%.127s'", cfg->cluster_redis);
        chat_opts_free(co);
        return NULL;
    }
    snprintf(co->config_file, sizeof co->config_file, "%s", cfg->path);
    co->o = (struct mx_chat_opts){
        .server_name = co->c.server_name,
        .motd = co->motd,
        .password = co->c.password,
        .register_timeout_ms = co->c.register_timeout_ms,
        .ping_interval_ms = co->c.ping_interval_ms,
        .ping_timeout_ms = co->c.ping_timeout_ms,
        .flood_rate = co->c.flood_rate,
        .flood_burst = co->c.flood_burst,
        .max_channels = co->c.max_channels,
        .output_max = cfg->output_max,
        .opers = co->opers,
        .nopers = cfg->nopers,
        .cloak_hosts = co->c.cloak_hosts != 0,
        .cloak_secret = co->c.cloak_secret,
        .config_file = co->config_file[0] ? co->config_file : NULL,
        .rehash = rehash_by_signal,
        .die = die_by_signal,
        .kline_file = co->kline_path[0] ? co->kline_path : NULL,
        .max_klines = co->c.max_klines,
        .klines = co->kline_path[0] ? &co->klines : NULL,
        .kline_stamp = &co->kline_stamp,
        .utf8_only = co->c.utf8_only != 0,
    };
    return co;
}

static void *chat_state_new(void *opts, struct mx_server *s)
{
    struct chat_opts *co = opts;
    struct mx_chat *chat = mx_chat_new(&co->o, s);
    if (chat && co->cluster.on) {
        int rc = mx_app_cluster_attach(chat, &co->cluster);
        if (rc < 0) {
            mx_error("cluster: cannot start the bus: %s", strerror(-rc));
            mx_chat_free(chat);
            return NULL;
        }
    }
    return chat;
}

static void chat_state_stop(void *state)
{
    mx_app_cluster_stop(state);
}

static int chat_state_reload(void *state, const void *opts)
{
    const struct chat_opts *co = opts;
    return mx_chat_reload(state, &co->o);
}

static void chat_state_free(void *state)
{
    mx_app_cluster_stop(state);
    const struct mx_chat_bus *bus = mx_chat_get_bus(state);
    void *link = bus ? bus->arg : NULL;
    mx_chat_free(state);
    free(link);
}

const struct mx_app_proto mx_app_chat = {
    .name = "chat",
    .proto = &mx_chat_proto,
    .keys = keys,
    .nkeys = sizeof keys / sizeof keys[0],
    .check = chat_check,
    .opts_new = chat_opts_new,
    .opts_free = chat_opts_free,
    .state_new = chat_state_new,
    .state_stop = chat_state_stop,
    .state_free = chat_state_free,
    .reload = chat_state_reload,
};
