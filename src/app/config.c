/* config.c - reading the INI file, and the checks between keys.
 *
 * What each key accepts lives in the key table (config_keys.c); this file
 * walks the file line by line, tracks sections and reports the first error
 * with its file and line.
 */
#include "app/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "app/config_keys.h"
#include "app/protocols.h"
#include "app/units.h"

#define FIELD_SIZE(type, f) sizeof(((type *)0)->f)
#define MAX_LISTENER_NAME (FIELD_SIZE(struct mx_listener_cfg, name) - 1)
/* The one rule between a listener's PROXY keys (see check_proxy_from). */
#define PROXY_FROM_NEEDED "needs proxy_from, the addresses of the proxies trusted to " \
    "send the header (anyone else is refused)"
/* AUTH with a user takes its password: without one Redis would refuse
 * every connection, which is better said before start. */
#define REDIS_USER_NEEDS_PASSWORD "needs redis_password (Redis AUTH takes a user " \
    "with a password)"
/* More than all protocols' keys together, so never reached but checked. */
#define MAX_LISTENER_KEYS 64

/* ---- the file ----------------------------------------------------------- */

struct lsn_key {
    const char *key;             /* a row's name */
    int line;
};

struct parser {
    struct mx_config *cfg;
    const char *path;
    FILE *f;
    char *line;
    size_t cap;
    int lineno;
    enum mx_cfg_sect sect;
    char label[96];                       /* "listener echo", for messages */
    struct mx_listener_cfg *lsn;          /* the listener being read */
    struct mx_oper_cfg *oper;             /* the [oper NAME] being read */
    int oper_at[MX_CFG_NKEYS];            /* its keys' lines, 0 = not yet */
    int sect_line;
    /* Line where each global key was set, 0 = not yet. */
    int set_at[MX_CFG_NKEYS];
    /* The keys set in the listener being read (its section is read once:
     * names are unique), by their rows' names. */
    struct lsn_key lsn_keys[MAX_LISTENER_KEYS];
    unsigned nlsn_keys;
    int lsn_line[MX_MAX_LISTENERS];
    char *err;
    size_t errlen;
    int err_at;   /* first line inih had not finished at our first error */
};

__attribute__((format(printf, 3, 4)))
static void fail(struct parser *p, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->err_at)
        return;
    p->err_at = p->lineno;
    n = snprintf(p->err, p->errlen, line ? "%s:%d: " : "%s: ", p->path, line);
    if (n < 0 || (size_t)n >= p->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int listener_key_line(const struct parser *p, const char *key);

/* A PROXY listener trusts no one by default: its proxies must be named,
 * here rather than in the cross-key checks so that the error has the
 * line of proxy_protocol. */
static void check_proxy_from(struct parser *p)
{
    if (p->lsn->proxy_protocol != MX_PROXY_OFF && p->lsn->proxy_from[0] == '\0')
        fail(p, listener_key_line(p, "proxy_protocol"), "[%s] proxy_protocol: "
             PROXY_FROM_NEEDED, p->label);
}

/* A sealed TLS record cannot be dropped, and dropping plaintext before it
 * is sealed would be another policy (drop newest). */
static void check_overflow(struct parser *p)
{
    if (p->lsn->overflow == MX_OVERFLOW_DROP_OLDEST && p->lsn->tls)
        fail(p, listener_key_line(p, "overflow"), "[%s] overflow: drop_oldest cannot go "
             "with tls = on (a sealed record cannot be dropped); use disconnect or "
             "pause_producer", p->label);
}

/* WebSocket settings on a plain TCP listener would be silently ignored
 * (their defaults are harmless: a printed config has them). */
static void check_transport(struct parser *p)
{
    const struct mx_listener_cfg *l = p->lsn;
    if (l->transport == MX_TRANSPORT_WEBSOCKET)
        return;
    if (l->allowed_origins[0])
        fail(p, listener_key_line(p, "allowed_origins"), "[%s] allowed_origins: only with "
             "transport = websocket", p->label);
    if (l->ws_max_message != 16 * 1024)
        fail(p, listener_key_line(p, "ws_max_message"), "[%s] ws_max_message: only with "
             "transport = websocket", p->label);
}

/* share_with names an earlier listener of the same protocol that has a
 * state of its own, and this one gives none of that protocol's keys
 * (they would be silently ignored). */
static void check_share(struct parser *p)
{
    const struct mx_listener_cfg *l = p->lsn, *o = NULL;
    if (!l->share_with[0])
        return;
    int line = listener_key_line(p, "share_with");
    for (unsigned i = 0; i + 1 < p->cfg->nlisteners; i++)
        if (strcmp(p->cfg->listeners[i].name, l->share_with) == 0)
            o = &p->cfg->listeners[i];
    const struct mx_app_proto *pr = mx_app_proto_find(l->protocol);
    if (!o)
        fail(p, line, "[%s] share_with: no [listener %s] before this one", p->label,
             l->share_with);
    else if (strcmp(o->protocol, l->protocol) != 0)
        fail(p, line, "[%s] share_with: [listener %s] speaks %s, this one %s", p->label,
             o->name, o->protocol, l->protocol);
    else if (o->share_with[0])
        fail(p, line, "[%s] share_with: [listener %s] shares [listener %s]'s state; name "
             "that one", p->label, o->name, o->share_with);
    for (size_t k = 0; pr && o && k < pr->nkeys; k++)
        if (listener_key_line(p, pr->keys[k].name))
            fail(p, listener_key_line(p, pr->keys[k].name), "[%s] %s: this listener shares "
                 "[listener %s]'s state, so its %s keys are that one's", p->label,
                 pr->keys[k].name, o->name, l->protocol);
}

static void close_section(struct parser *p)
{
    if (p->sect == MX_SECT_LISTENER && p->lsn->listen[0] == '\0')
        fail(p, p->sect_line, "[%s] listen: missing; expected " MX_CFG_LISTEN_SHAPE, p->label);
    /* No defaults: an oper without a hash or hosts could never log in, or
     * could from anywhere; either is a mistake worth stopping on. */
    if (p->sect == MX_SECT_OPER && !p->oper->password[0])
        fail(p, p->sect_line, "[%s] password: missing; expected a crypt(3) hash", p->label);
    else if (p->sect == MX_SECT_OPER && !p->oper->hosts[0])
        fail(p, p->sect_line, "[%s] hosts: missing; expected nick!user@host masks", p->label);
    if (p->sect == MX_SECT_LISTENER) {
        check_proxy_from(p);
        check_overflow(p);
        check_transport(p);
        check_share(p);
    }
    p->sect = MX_SECT_NONE;
}

static const char *skip_blanks(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static size_t trimmed_len(const char *s, size_t n)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n;
}

static bool listener_exists(const struct parser *p, const char *name, int *line)
{
    for (unsigned i = 0; i < p->cfg->nlisteners; i++) {
        if (strcmp(p->cfg->listeners[i].name, name) == 0) {
            *line = p->lsn_line[i];
            return true;
        }
    }
    return false;
}

static void open_listener(struct parser *p, const char *name, size_t n)
{
    char nm[MAX_LISTENER_NAME + 1];
    int first;

    snprintf(p->label, sizeof p->label, "listener %.*s", (int)n, name);
    snprintf(nm, sizeof nm, "%.*s", (int)n, name);
    if (n == 0)
        fail(p, p->lineno, "[listener]: needs a name, like [listener echo]");
    else if (n > MAX_LISTENER_NAME)
        fail(p, p->lineno, "[%s]: name longer than %zu characters", p->label,
             MAX_LISTENER_NAME);
    else if (listener_exists(p, nm, &first))
        fail(p, p->lineno, "[%s]: duplicate listener name (first at line %d)",
             p->label, first);
    else if (p->cfg->nlisteners >= MX_MAX_LISTENERS)
        fail(p, p->lineno, "[%s]: too many listeners (at most %d)", p->label,
             MX_MAX_LISTENERS);
    if (p->err_at)
        return;
    p->lsn_line[p->cfg->nlisteners] = p->lineno;
    p->lsn = &p->cfg->listeners[p->cfg->nlisteners++];
    memset(p->lsn, 0, sizeof *p->lsn);
    memcpy(p->lsn->name, nm, n + 1);
    mx_cfg_listener_defaults(p->lsn);
    p->nlsn_keys = 0;
    p->sect = MX_SECT_LISTENER;
}

static void open_oper(struct parser *p, const char *name, size_t n)
{
    snprintf(p->label, sizeof p->label, "oper %.*s", (int)n, name);
    if (n == 0 || n >= sizeof p->oper->name || memchr(name, ' ', n))
        fail(p, p->lineno, "[oper]: needs a name of one word, at most %zu characters, "
             "like [oper alice]", sizeof p->oper->name - 1);
    for (unsigned i = 0; !p->err_at && i < p->cfg->nopers; i++)
        if (strncmp(p->cfg->opers[i].name, name, n) == 0 && !p->cfg->opers[i].name[n])
            fail(p, p->lineno, "[%s]: duplicate oper name", p->label);
    if (!p->err_at && p->cfg->nopers >= MX_MAX_OPERS)
        fail(p, p->lineno, "[%s]: too many opers (at most %d)", p->label, MX_MAX_OPERS);
    if (p->err_at)
        return;
    p->oper = &p->cfg->opers[p->cfg->nopers++];
    memset(p->oper, 0, sizeof *p->oper);
    memcpy(p->oper->name, name, n);
    memset(p->oper_at, 0, sizeof p->oper_at);
    p->sect = MX_SECT_OPER;
}

/* "[listener NAME]" or "[oper NAME]": open_fn gets the name; false if
 * the section is neither. */
static bool named_section(struct parser *p, const char *inner, size_t n, const char *kind,
                          void (*open_fn)(struct parser *, const char *, size_t))
{
    size_t word = strcspn(inner, " \t]");
    if (word != strlen(kind) || strncmp(inner, kind, word) != 0)
        return false;
    size_t at = (size_t)(skip_blanks(inner + word) - inner);
    open_fn(p, inner + at, n > at ? n - at : 0);
    return true;
}

/* Section names are handled here rather than by inih: it never reports a
 * section that has no keys, and it cuts names at 49 characters. */
static void open_section(struct parser *p, const char *line)
{
    const char *inner = skip_blanks(line + 1);
    const char *close = strchr(inner, ']');
    const char *after = close ? skip_blanks(close + 1) : NULL;
    size_t n;

    close_section(p);
    if (p->err_at)
        return;
    if (!close || (*after && *after != ';' && *after != '#')) {
        fail(p, p->lineno, "syntax error");
        return;
    }
    n = trimmed_len(inner, (size_t)(close - inner));
    p->sect_line = p->lineno;
    if (named_section(p, inner, n, "listener", open_listener) ||
        named_section(p, inner, n, "oper", open_oper))
        return;
    snprintf(p->label, sizeof p->label, "%.*s", (int)n, inner);
    for (enum mx_cfg_sect s = MX_SECT_SERVER; s < MX_SECT_COUNT; s++)
        if (s != MX_SECT_LISTENER && s != MX_SECT_OPER &&
            strcmp(p->label, mx_cfg_sect_names[s]) == 0)
            p->sect = s;
    if (p->sect == MX_SECT_NONE)
        fail(p, p->lineno, "[%s]: unknown section", p->label);
}

static void read_failed(struct parser *p)
{
    if (ferror(p->f))
        fail(p, 0, "cannot read: %s", strerror(errno));
    else
        close_section(p);
}

/* inih reads through this, one line per call, and handles each line before
 * asking for the next: so lineno is the line the handler is looking at. */
static char *read_line(char *str, int num, void *stream)
{
    struct parser *p = stream;
    const char *s;

    if (p->err_at)
        return NULL;
    errno = 0;
    if (getline(&p->line, &p->cap, p->f) < 0) {
        p->lineno++;   /* past the end, so an error here follows all of inih's */
        read_failed(p);
        return NULL;
    }
    p->lineno++;
    s = p->line;
    if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    /* Without the indent inih cannot take a line for the continuation of
     * the previous value, which would hide a key as part of a value. */
    s = skip_blanks(s);
    if (*s == '[') {
        open_section(p, s);
        s = "\n";
    } else if (*s == ';' || *s == '#') {
        s = "\n";
    }
    /* inih needs room for the newline and the NUL; trailing blanks and a
     * CR do not count against the limit. */
    size_t n = trimmed_len(s, strlen(s));
    if (n + 2 > (size_t)num) {
        fail(p, p->lineno, "line too long (at most %d characters)", num - 2);
        return NULL;
    }
    memcpy(str, s, n);
    memcpy(str + n, "\n", 2);
    return str;
}

static int listener_key_line(const struct parser *p, const char *key)
{
    for (unsigned i = 0; i < p->nlsn_keys; i++)
        if (strcmp(p->lsn_keys[i].key, key) == 0)
            return p->lsn_keys[i].line;
    return 0;
}

static int listener_pair(struct parser *p, const char *name, const char *value)
{
    char why[512];
    const char *key;
    int first = listener_key_line(p, name);

    if (first) {
        fail(p, p->lineno, "[%s] %s: duplicate key (first at line %d)", p->label, name, first);
        return 0;
    }
    int rc = mx_cfg_listener_set(p->lsn, name, value, &key, why, sizeof why);
    if (rc == -ENOENT)
        fail(p, p->lineno, "[%s] %s: unknown key", p->label, name);
    else if (rc < 0)
        fail(p, p->lineno, "[%s] %s: %s", p->label, name, why);
    else if (p->nlsn_keys == MAX_LISTENER_KEYS)
        fail(p, p->lineno, "[%s] %s: too many keys", p->label, name);
    else
        p->lsn_keys[p->nlsn_keys++] = (struct lsn_key){ key, p->lineno };
    return rc == 0;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    char why[512];

    (void)section;
    if (p->err_at)
        return 0;
    if (p->sect == MX_SECT_NONE) {
        fail(p, p->lineno, "%s: key outside any section", name);
        return 0;
    }
    if (p->sect == MX_SECT_LISTENER)
        return listener_pair(p, name, value);
    const struct mx_cfg_key *k = mx_cfg_key_find(p->sect, name);
    if (!k) {
        fail(p, p->lineno, "[%s] %s: unknown key", p->label, name);
        return 0;
    }
    bool oper = p->sect == MX_SECT_OPER;
    int *at = oper ? &p->oper_at[mx_cfg_key_row(k)] : &p->set_at[mx_cfg_key_row(k)];
    if (*at) {
        fail(p, p->lineno, "[%s] %s: duplicate key (first at line %d)", p->label, name, *at);
        return 0;
    }
    *at = p->lineno;
    if (mx_cfg_key_set(k, oper ? (void *)p->oper : (void *)p->cfg, value, why, sizeof why)) {
        fail(p, p->lineno, "[%s] %s: %s", p->label, name, why);
        return 0;
    }
    return 1;
}

/* After the whole file, since [cluster] may come in pieces; the line is
 * redis_user's. */
static void check_cluster_auth(struct parser *p)
{
    const struct mx_cfg_key *k = mx_cfg_key_find(MX_SECT_CLUSTER, "redis_user");
    if (p->cfg->cluster_redis_user[0] && !p->cfg->cluster_redis_password[0])
        fail(p, p->set_at[mx_cfg_key_row(k)], "[cluster] redis_user: "
             REDIS_USER_NEEDS_PASSWORD);
}

static int parse_file(struct parser *p)
{
    int rc = ini_parse_stream(read_line, p, on_pair, p);

    if (rc == 0 && !p->err_at)
        check_cluster_auth(p);

    /* inih keeps going after a line it cannot parse and returns that line;
     * it is the error to report if it came before ours. */
    if (rc > 0 && (!p->err_at || rc < p->err_at)) {
        p->err_at = 0;
        fail(p, rc, "syntax error");
    } else if (rc < 0 && !p->err_at) {
        fail(p, 0, "cannot parse: out of memory");
    }
    return p->err_at ? -1 : 0;
}

int mx_config_load(struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    struct parser *p = calloc(1, sizeof *p);
    struct mx_config *tmp = malloc(sizeof *tmp);
    int rc = -1;

    if (!p || !tmp) {
        snprintf(err, errlen, "%s: cannot load: out of memory", path);
        goto out;
    }
    *tmp = *cfg;
    *p = (struct parser){ .cfg = tmp, .path = path, .err = err, .errlen = errlen };
    p->f = fopen(path, "r");
    if (!p->f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    rc = parse_file(p);
    if (rc == 0)
        rc = mx_config_validate(tmp, path, err, errlen);
    if (rc == 0)
        *cfg = *tmp;
    fclose(p->f);
    free(p->line);
out:
    free(p);
    free(tmp);
    return rc;
}

/* ---- cross-key checks --------------------------------------------------- */

static int check_water(const struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    char a[32], b[32];

    if (cfg->output_low_water >= cfg->output_high_water) {
        mx_format_size(cfg->output_low_water, a, sizeof a);
        mx_format_size(cfg->output_high_water, b, sizeof b);
        snprintf(err, errlen, "%s: [limits] output_low_water: must be less than "
                 "output_high_water (%s), got '%s'", path, b, a);
        return -1;
    }
    if (cfg->output_high_water > cfg->output_max) {
        mx_format_size(cfg->output_high_water, a, sizeof a);
        mx_format_size(cfg->output_max, b, sizeof b);
        snprintf(err, errlen, "%s: [limits] output_high_water: must not exceed "
                 "output_max (%s), got '%s'", path, b, a);
        return -1;
    }
    return 0;
}

static int check_uring(const struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    unsigned n = cfg->uring_buffers; /* 0: auto */
    if (n & (n - 1)) {
        snprintf(err, errlen, "%s: [server] uring_buffers: expected a power of two "
                 "like 256, got '%u'", path, n);
        return -1;
    }
    return 0;
}

static bool port_is_zero(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    unsigned long port;

    return colon && mx_parse_uint(colon + 1, 65535, &port) == 0 && port == 0;
}

static int check_listeners(const struct mx_config *cfg, const char *path, char *err,
                           size_t errlen)
{
    if (cfg->nlisteners == 0) {
        snprintf(err, errlen, "%s: no [listener NAME] section; at least one is required",
                 path);
        return -1;
    }
    if (cfg->nlisteners > MX_MAX_LISTENERS) {
        snprintf(err, errlen, "%s: %u listeners, at most %d are allowed", path,
                 cfg->nlisteners, MX_MAX_LISTENERS);
        return -1;
    }
    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        const struct mx_listener_cfg *l = &cfg->listeners[i];
        if (l->proxy_protocol != MX_PROXY_OFF && !l->proxy_from[0]) {
            snprintf(err, errlen, "%s: [listener %.63s] proxy_protocol: " PROXY_FROM_NEEDED,
                     path, l->name);
            return -1;
        }
        if (port_is_zero(l->listen))
            continue;
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(cfg->listeners[j].listen, l->listen) == 0) {
                snprintf(err, errlen, "%s: [listener %.63s] listen: '%.127s' is already "
                         "used by [listener %.63s]", path, l->name, l->listen,
                         cfg->listeners[j].name);
                return -1;
            }
        }
    }
    return 0;
}

static int check_cluster(const struct mx_config *cfg, const char *path, char *err,
                         size_t errlen)
{
    if (!cfg->cluster_redis_user[0] || cfg->cluster_redis_password[0])
        return 0;
    snprintf(err, errlen, "%s: [cluster] redis_user: " REDIS_USER_NEEDS_PASSWORD, path);
    return -1;
}

/* Each protocol's own rules (work's offload pool, chat's line length). */
static int check_protocols(const struct mx_config *cfg, const char *path, char *err,
                           size_t errlen)
{
    char why[256];

    for (unsigned i = 0; i < cfg->nlisteners; i++) {
        const struct mx_listener_cfg *l = &cfg->listeners[i];
        const struct mx_app_proto *p = mx_app_proto_find(l->protocol);
        if (!p->check || p->check(cfg, mx_app_proto_cfg_const(l, p), why, sizeof why) == 0)
            continue;
        snprintf(err, errlen, "%s: [listener %.63s] %s", path, l->name, why);
        return -1;
    }
    return 0;
}

int mx_config_validate(const struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    if (check_listeners(cfg, path, err, errlen) ||
        mx_cfg_check_values(cfg, path, err, errlen) ||
        check_uring(cfg, path, err, errlen) ||
        check_cluster(cfg, path, err, errlen) ||
        check_protocols(cfg, path, err, errlen))
        return -1;
    return check_water(cfg, path, err, errlen);
}
