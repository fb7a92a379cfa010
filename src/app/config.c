/* config.c - the settings table and the INI file reader built on it.
 *
 * Every key is one row of keys[]: parsing, defaults, validation,
 * mx_config_print and the reference in docs/config.md all walk that table,
 * so adding a key is adding a row.
 */
#include "app/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "app/units.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD_SIZE(type, f) sizeof(((type *)0)->f)
#define CFG(f) .off = offsetof(struct mx_config, f), .width = FIELD_SIZE(struct mx_config, f)
#define LSN(f) .off = offsetof(struct mx_listener_cfg, f), \
               .width = FIELD_SIZE(struct mx_listener_cfg, f)

#define MAX_LISTENER_NAME (FIELD_SIZE(struct mx_listener_cfg, name) - 1)
#define LISTEN_SHAPE "host:port, [v6addr]:port or *:port"
#define LISTEN_SHAPE_MD "`host:port`, `[v6addr]:port` or `*:port`"

enum sect { S_NONE, S_SERVER, S_LISTENER, S_LIMITS, S_LOG };

static const char *const sect_names[] = {
    [S_NONE] = "", [S_SERVER] = "server", [S_LISTENER] = "listener",
    [S_LIMITS] = "limits", [S_LOG] = "log",
};

enum ktype { K_UINT, K_SIZE, K_DURATION, K_ENUM, K_WORD, K_ADDR };

struct key {
    enum sect sect;
    const char *name;
    enum ktype type;
    size_t off;                  /* in mx_config, or mx_listener_cfg */
    size_t width;                /* sizeof the field */
    unsigned long long min, max; /* K_UINT, K_SIZE, K_DURATION (ms) */
    bool auto_zero;              /* "auto" is accepted and stored as 0 */
    const char *const *choices;  /* K_ENUM (stores the index), K_WORD */
    const char *def;             /* NULL: must be given */
    const char *help;
};

static const char *const backend_names[] = { "auto", "epoll", NULL };
static const char *const protocol_names[] = { "echo", NULL };
static const char *const mode_names[] = { "raw", "line", "upper", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };

/* K_ENUM stores the index into its choices, so those lists must follow the
 * enums they stand for. */
_Static_assert(MX_ECHO_RAW == 0 && MX_ECHO_LINE == 1 && MX_ECHO_UPPER == 2,
               "mode_names follows enum mx_echo_mode");
_Static_assert(MX_LOG_ERROR == 0 && MX_LOG_WARN == 1 && MX_LOG_INFO == 2 &&
               MX_LOG_DEBUG == 3, "level_names follows enum mx_log_level");
_Static_assert(sizeof(enum mx_echo_mode) == sizeof(uint32_t) &&
               sizeof(enum mx_log_level) == sizeof(uint32_t),
               "enum fields are stored as 32-bit numbers");

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define SEC 1000ULL

static const struct key keys[] = {
    { .sect = S_SERVER, .name = "workers", .type = K_UINT, CFG(workers),
      .min = 1, .max = 256, .auto_zero = true, .def = "auto",
      .help = "reactor threads; auto = one per online CPU" },
    { .sect = S_SERVER, .name = "backend", .type = K_WORD, CFG(backend),
      .choices = backend_names, .def = "auto",
      .help = "I/O backend; auto picks the best one available" },
    { .sect = S_SERVER, .name = "listen_backlog", .type = K_UINT, CFG(listen_backlog),
      .min = 1, .max = 65535, .def = "4096",
      .help = "listen(2) backlog of every listener" },
    { .sect = S_SERVER, .name = "shutdown_timeout", .type = K_DURATION,
      CFG(shutdown_timeout_ms), .min = 0, .max = 3600 * SEC, .def = "5s",
      .help = "on shutdown, how long queued output may drain before closing" },

    { .sect = S_LISTENER, .name = "listen", .type = K_ADDR, LSN(listen),
      .help = "address to listen on; port 0 picks a free port" },
    { .sect = S_LISTENER, .name = "protocol", .type = K_WORD, LSN(protocol),
      .choices = protocol_names, .def = "echo",
      .help = "service spoken on the listener's connections" },
    { .sect = S_LISTENER, .name = "mode", .type = K_ENUM, LSN(mode),
      .choices = mode_names, .def = "raw",
      .help = "echo: raw bytes, whole lines, or upper-cased lines" },

    { .sect = S_LIMITS, .name = "max_connections", .type = K_UINT,
      CFG(max_connections), .min = 1, .max = 10000000, .def = "100000",
      .help = "open connections over all listeners; more are refused" },
    { .sect = S_LIMITS, .name = "max_line", .type = K_SIZE, CFG(max_line),
      .min = 16, .max = MIB, .def = "8k",
      .help = "longest line in line modes, without its terminator" },
    { .sect = S_LIMITS, .name = "output_high_water", .type = K_SIZE,
      CFG(output_high_water), .min = KIB, .max = GIB, .def = "256k",
      .help = "queued output at which a connection stops being read" },
    { .sect = S_LIMITS, .name = "output_low_water", .type = K_SIZE,
      CFG(output_low_water), .min = 0, .max = GIB, .def = "64k",
      .help = "queued output at which reading resumes" },
    { .sect = S_LIMITS, .name = "output_max", .type = K_SIZE, CFG(output_max),
      .min = KIB, .max = GIB, .def = "4m",
      .help = "queued output at which the connection is closed" },
    { .sect = S_LIMITS, .name = "idle_timeout", .type = K_DURATION,
      CFG(idle_timeout_ms), .min = 0, .max = 86400 * SEC, .def = "300s",
      .help = "close connections silent this long; 0 = never" },

    { .sect = S_LOG, .name = "level", .type = K_ENUM, CFG(log_level),
      .choices = level_names, .def = "info",
      .help = "least severe level written to stderr" },
};

#define NKEYS ARRAY_LEN(keys)

/* ---- one value ---------------------------------------------------------- */

/* One row covers fields of several integer widths; memcpy of a fixed-width
 * copy keeps that free of casts through mismatched pointer types. */
static void store_num(void *field, size_t width, unsigned long long v)
{
    assert(width == sizeof(uint32_t) || width == sizeof(uint64_t));
    if (width == sizeof(uint64_t)) {
        uint64_t x = v;
        memcpy(field, &x, sizeof x);
    } else {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, sizeof x);
    }
}

static unsigned long long load_num(const void *field, size_t width)
{
    if (width == sizeof(uint64_t)) {
        uint64_t x;
        memcpy(&x, field, sizeof x);
        return x;
    }
    uint32_t x;
    memcpy(&x, field, sizeof x);
    return x;
}

static void format_num(const struct key *k, unsigned long long v, char *buf, size_t len)
{
    if (k->type == K_SIZE)
        mx_format_size((size_t)v, buf, len);
    else if (k->type == K_DURATION)
        mx_format_duration_ms((unsigned)v, buf, len);
    else if (k->auto_zero && v == 0)
        snprintf(buf, len, "auto");
    else
        snprintf(buf, len, "%llu", v);
}

static unsigned long long count_choices(const char *const *choices)
{
    unsigned long long n = 0;

    while (choices[n])
        n++;
    return n;
}

static void format_value(const struct key *k, const void *base, char *buf, size_t len)
{
    const char *field = (const char *)base + k->off;
    unsigned long long v;

    switch (k->type) {
    case K_WORD:
    case K_ADDR:
        snprintf(buf, len, "%.*s", (int)strnlen(field, k->width), field);
        return;
    case K_ENUM:
        v = load_num(field, k->width);
        snprintf(buf, len, "%s", v < count_choices(k->choices) ? k->choices[v] : "?");
        return;
    default:
        format_num(k, load_num(field, k->width), buf, len);
    }
}

static void format_choices(const char *const *choices, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; choices[i] && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", choices[i]);
}

static void format_range(const struct key *k, char *buf, size_t len)
{
    char lo[32], hi[32];

    format_num(k, k->min, lo, sizeof lo);
    format_num(k, k->max, hi, sizeof hi);
    snprintf(buf, len, "%s to %s%s", lo, hi, k->auto_zero ? " or auto" : "");
}

static int find_choice(const char *const *choices, const char *v)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], v) == 0)
            return i;
    return -1;
}

static int parse_raw_number(const struct key *k, const char *v, unsigned long long *out)
{
    size_t sz;
    unsigned ms;
    unsigned long n;
    int rc;

    switch (k->type) {
    case K_SIZE:
        rc = mx_parse_size(v, &sz);
        *out = rc ? 0 : sz;
        return rc;
    case K_DURATION:
        rc = mx_parse_duration_ms(v, &ms);
        *out = rc ? 0 : ms;
        return rc;
    default:
        rc = mx_parse_uint(v, (unsigned long)k->max, &n);
        *out = rc ? 0 : n;
        return rc;
    }
}

static int parse_number(const struct key *k, const char *v, unsigned long long *out)
{
    int rc;

    if (k->auto_zero && strcmp(v, "auto") == 0) {
        *out = 0;
        return 0;
    }
    rc = parse_raw_number(k, v, out);
    if (rc == 0 && (*out < k->min || *out > k->max))
        rc = -ERANGE;
    return rc;
}

static int number_error(const struct key *k, const char *v, int rc, char *why, size_t len)
{
    static const char *const noun[] = {
        [K_UINT] = "a number", [K_SIZE] = "a size", [K_DURATION] = "a duration",
    };
    static const char *const like[] = {
        [K_SIZE] = "8k", [K_DURATION] = "300s, 5m or 250ms",
    };
    char range[80];

    format_range(k, range, sizeof range);
    if (k->type == K_UINT || rc == -ERANGE)
        snprintf(why, len, "expected %s from %s, got '%s'", noun[k->type], range, v);
    else
        snprintf(why, len, "expected %s like %s, got '%s'", noun[k->type], like[k->type], v);
    return -1;
}

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
    return isxdigit((unsigned char)c) || c == ':' || c == '.';
}

/* Only the shape: the server resolves the host when it binds. Returns the
 * port text, or NULL. */
static const char *listen_port(const char *v)
{
    const char *colon, *p;

    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':' || !memchr(v, ':', (size_t)(close - v)))
            return NULL;
        for (p = v + 1; p < close && *p != '%'; p++)
            if (!v6_char(*p))
                return NULL;
        return close + 2;
    }
    colon = strrchr(v, ':');
    if (!colon || colon == v)
        return NULL;
    if (colon - v == 1 && v[0] == '*')
        return colon + 1;
    for (p = v; p < colon; p++)
        if (!host_char(*p))
            return NULL;
    return colon + 1;
}

static int check_listen(const char *v, char *why, size_t len)
{
    const char *port = listen_port(v);
    unsigned long n;
    int rc = port ? mx_parse_uint(port, 65535, &n) : -EINVAL;

    if (rc == -ERANGE)
        snprintf(why, len, "port must be from 0 to 65535, got '%s'", v);
    else if (rc)
        snprintf(why, len, "expected " LISTEN_SHAPE ", got '%s'", v);
    return rc ? -1 : 0;
}

static int store_text(const struct key *k, const char *v, char *field, char *why, size_t len)
{
    if (strlen(v) >= k->width) {
        snprintf(why, len, "longer than %zu characters, got '%s'", k->width - 1, v);
        return -1;
    }
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static int set_choice(const struct key *k, char *field, const char *v, char *why, size_t len)
{
    char list[128];
    int i = find_choice(k->choices, v);

    if (i < 0) {
        format_choices(k->choices, list, sizeof list);
        snprintf(why, len, "expected one of %s, got '%s'", list, v);
        return -1;
    }
    if (k->type == K_WORD)
        return store_text(k, v, field, why, len);
    store_num(field, k->width, (unsigned long long)i);
    return 0;
}

/* Parses v as row k and stores it in base (a struct mx_config or, for
 * listener rows, a struct mx_listener_cfg). */
static int set_value(const struct key *k, void *base, const char *v, char *why, size_t len)
{
    char *field = (char *)base + k->off;
    unsigned long long n;
    int rc;

    switch (k->type) {
    case K_ENUM:
    case K_WORD:
        return set_choice(k, field, v, why, len);
    case K_ADDR:
        if (check_listen(v, why, len))
            return -1;
        return store_text(k, v, field, why, len);
    default:
        rc = parse_number(k, v, &n);
        if (rc)
            return number_error(k, v, rc, why, len);
        store_num(field, k->width, n);
        return 0;
    }
}

static const struct key *find_key(enum sect s, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static void apply_defaults(bool listener, void *base)
{
    char why[256];

    for (size_t i = 0; i < NKEYS; i++) {
        if ((keys[i].sect == S_LISTENER) != listener || !keys[i].def)
            continue;
        int rc = set_value(&keys[i], base, keys[i].def, why, sizeof why);
        assert(rc == 0 && "a default in keys[] does not parse");
        (void)rc;
    }
}

void mx_config_default(struct mx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    apply_defaults(false, cfg);
}

/* ---- the file ----------------------------------------------------------- */

struct parser {
    struct mx_config *cfg;
    const char *path;
    FILE *f;
    char *line;
    size_t cap;
    int lineno;
    enum sect sect;
    char label[96];                       /* "listener echo", for messages */
    struct mx_listener_cfg *lsn;          /* the listener being read */
    int sect_line;
    /* Line where each key was set, 0 = not yet; row 0 is the global
     * sections, row i + 1 listener i. */
    int set_at[MX_MAX_LISTENERS + 1][NKEYS];
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

static void close_section(struct parser *p)
{
    if (p->sect == S_LISTENER && p->lsn->listen[0] == '\0')
        fail(p, p->sect_line, "[%s] listen: missing; expected " LISTEN_SHAPE, p->label);
    p->sect = S_NONE;
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
    apply_defaults(true, p->lsn);
    p->sect = S_LISTENER;
}

/* Section names are handled here rather than by inih: it never reports a
 * section that has no keys, and it cuts names at 49 characters. */
static void open_section(struct parser *p, const char *line)
{
    const char *inner = skip_blanks(line + 1);
    const char *close = strchr(inner, ']');
    const char *after = close ? skip_blanks(close + 1) : NULL;
    size_t n, word;

    close_section(p);
    if (p->err_at)
        return;
    if (!close || (*after && *after != ';' && *after != '#')) {
        fail(p, p->lineno, "syntax error");
        return;
    }
    n = trimmed_len(inner, (size_t)(close - inner));
    word = strcspn(inner, " \t]");
    p->sect_line = p->lineno;
    if (word == strlen("listener") && strncmp(inner, "listener", word) == 0) {
        size_t at = (size_t)(skip_blanks(inner + word) - inner);
        open_listener(p, inner + at, n > at ? n - at : 0);
        return;
    }
    snprintf(p->label, sizeof p->label, "%.*s", (int)n, inner);
    for (enum sect s = S_SERVER; s <= S_LOG; s++)
        if (s != S_LISTENER && strcmp(p->label, sect_names[s]) == 0)
            p->sect = s;
    if (p->sect == S_NONE)
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

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    char why[512];

    (void)section;
    if (p->err_at)
        return 0;
    if (p->sect == S_NONE) {
        fail(p, p->lineno, "%s: key outside any section", name);
        return 0;
    }
    const struct key *k = find_key(p->sect, name);
    if (!k) {
        fail(p, p->lineno, "[%s] %s: unknown key", p->label, name);
        return 0;
    }
    bool in_lsn = p->sect == S_LISTENER;
    int *at = &p->set_at[in_lsn ? p->lsn - p->cfg->listeners + 1 : 0][k - keys];
    if (*at) {
        fail(p, p->lineno, "[%s] %s: duplicate key (first at line %d)", p->label, name, *at);
        return 0;
    }
    *at = p->lineno;
    if (set_value(k, in_lsn ? (void *)p->lsn : (void *)p->cfg, value, why, sizeof why)) {
        fail(p, p->lineno, "[%s] %s: %s", p->label, name, why);
        return 0;
    }
    return 1;
}

static int parse_file(struct parser *p)
{
    int rc = ini_parse_stream(read_line, p, on_pair, p);

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

/* Writing each value out and reading it back through its row checks ranges
 * and choices of values set in code, such as command-line overrides. */
static int recheck(const struct key *k, const void *base, const char *label,
                   const char *path, char *err, size_t errlen)
{
    union { struct mx_config cfg; struct mx_listener_cfg lsn; } scratch;
    char text[160], why[320];

    format_value(k, base, text, sizeof text);
    if (set_value(k, &scratch, text, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "%s: [%s] %s: %s", path, label, k->name, why);
    return -1;
}

static int recheck_all(const struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    char label[96];

    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if (k->sect != S_LISTENER) {
            if (recheck(k, cfg, sect_names[k->sect], path, err, errlen))
                return -1;
            continue;
        }
        for (unsigned l = 0; l < cfg->nlisteners && l < MX_MAX_LISTENERS; l++) {
            snprintf(label, sizeof label, "listener %.63s", cfg->listeners[l].name);
            if (recheck(k, &cfg->listeners[l], label, path, err, errlen))
                return -1;
        }
    }
    return 0;
}

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

int mx_config_validate(const struct mx_config *cfg, const char *path, char *err, size_t errlen)
{
    if (check_listeners(cfg, path, err, errlen) || recheck_all(cfg, path, err, errlen))
        return -1;
    return check_water(cfg, path, err, errlen);
}

/* ---- output ------------------------------------------------------------- */

static void print_rows(const void *base, enum sect s, FILE *out)
{
    char text[160];

    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].sect != s)
            continue;
        format_value(&keys[i], base, text, sizeof text);
        fprintf(out, "%-17s = %s\n", keys[i].name, text);
    }
}

void mx_config_print(const struct mx_config *cfg, FILE *out)
{
    fputs("; muxd effective settings\n\n[server]\n", out);
    print_rows(cfg, S_SERVER, out);
    for (unsigned i = 0; i < cfg->nlisteners && i < MX_MAX_LISTENERS; i++) {
        fprintf(out, "\n[listener %.63s]\n", cfg->listeners[i].name);
        print_rows(&cfg->listeners[i], S_LISTENER, out);
    }
    fputs("\n[limits]\n", out);
    print_rows(cfg, S_LIMITS, out);
    fputs("\n[log]\n", out);
    print_rows(cfg, S_LOG, out);
}

static void describe_allowed(const struct key *k, char *buf, size_t len)
{
    static const char *const what[] = {
        [K_UINT] = "number", [K_SIZE] = "size", [K_DURATION] = "duration",
    };
    char range[80];

    if (k->type == K_ENUM || k->type == K_WORD) {
        format_choices(k->choices, buf, len);
    } else if (k->type == K_ADDR) {
        snprintf(buf, len, "%s", LISTEN_SHAPE_MD);
    } else {
        format_range(k, range, sizeof range);
        snprintf(buf, len, "%s, %s", what[k->type], range);
    }
}

void mx_config_reference(FILE *out)
{
    char allowed[160];

    fputs("| section | key | default | allowed | meaning |\n"
          "| --- | --- | --- | --- | --- |\n", out);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        describe_allowed(k, allowed, sizeof allowed);
        fprintf(out, "| `[%s%s]` | `%s` | %s | %s | %s |\n", sect_names[k->sect],
                k->sect == S_LISTENER ? " NAME" : "", k->name,
                k->def ? k->def : "(required)", allowed, k->help);
    }
}
