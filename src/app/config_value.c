/* config_value.c - what a key's row does with one value: parse and store
 * it by the row's type (number, size, duration, choice, word, address,
 * text, protocol), format it back, describe what it allows. The table of
 * rows itself, and walking it, is config_keys.c. */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "app/config_keys.h"
#include "app/hostport.h"
#include "app/protocols.h"
#include "app/units.h"

#define LISTEN_SHAPE_MD "`host:port`, `[v6addr]:port` or `*:port`"

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

static void format_num(const struct mx_cfg_key *k, unsigned long long v, char *buf,
                       size_t len)
{
    if (k->type == MX_CFG_SIZE)
        mx_format_size((size_t)v, buf, len);
    else if (k->type == MX_CFG_DURATION)
        mx_format_duration_ms((unsigned)v, buf, len);
    else if (k->has_auto && v == k->auto_val)
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

/* An optional address ([admin] listen): "off" stands for none. */
static bool addr_may_be_off(const struct mx_cfg_key *k)
{
    return k->def && strcmp(k->def, "off") == 0;
}

void mx_cfg_key_format(const struct mx_cfg_key *k, const void *base, char *buf, size_t len)
{
    const char *field = (const char *)base + k->off;
    unsigned long long v;

    switch (k->type) {
    case MX_CFG_WORD:
    case MX_CFG_ADDR:
        if (addr_may_be_off(k) && field[0] == '\0') {
            snprintf(buf, len, "off");
            return;
        }
        /* fall through */
    case MX_CFG_TEXT:
    case MX_CFG_PROTO:
    case MX_CFG_CRYPT:
    case MX_CFG_CIDRS:
    case MX_CFG_HOSTPORT:
    case MX_CFG_NAME:
        snprintf(buf, len, "%.*s", (int)strnlen(field, k->width), field);
        return;
    case MX_CFG_ENUM:
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

static void format_proto_names(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < mx_app_nprotos && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                                 mx_app_protos[i]->name);
}

static void format_range(const struct mx_cfg_key *k, char *buf, size_t len)
{
    char lo[32], hi[32];

    format_num(k, k->min, lo, sizeof lo);
    format_num(k, k->max, hi, sizeof hi);
    snprintf(buf, len, "%s to %s%s", lo, hi, k->has_auto ? " or auto" : "");
}

static int find_choice(const char *const *choices, const char *v)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], v) == 0)
            return i;
    return -1;
}

static int parse_raw_number(const struct mx_cfg_key *k, const char *v, unsigned long long *out)
{
    size_t sz;
    unsigned ms;
    unsigned long n;
    int rc;

    switch (k->type) {
    case MX_CFG_SIZE:
        rc = mx_parse_size(v, &sz);
        *out = rc ? 0 : sz;
        return rc;
    case MX_CFG_DURATION:
        rc = mx_parse_duration_ms(v, &ms);
        *out = rc ? 0 : ms;
        return rc;
    default:
        rc = mx_parse_uint(v, (unsigned long)k->max, &n);
        *out = rc ? 0 : n;
        return rc;
    }
}

static int parse_number(const struct mx_cfg_key *k, const char *v, unsigned long long *out)
{
    int rc;

    if (k->has_auto && strcmp(v, "auto") == 0) {
        *out = k->auto_val;
        return 0;
    }
    rc = parse_raw_number(k, v, out);
    if (rc == 0 && (*out < k->min || *out > k->max))
        rc = -ERANGE;
    return rc;
}

static int number_error(const struct mx_cfg_key *k, const char *v, int rc, char *why, size_t len)
{
    static const char *const noun[] = {
        [MX_CFG_UINT] = "a number", [MX_CFG_SIZE] = "a size", [MX_CFG_DURATION] = "a duration",
    };
    static const char *const like[] = {
        [MX_CFG_SIZE] = "8k", [MX_CFG_DURATION] = "300s, 5m or 250ms",
    };
    char range[80];

    format_range(k, range, sizeof range);
    if (k->type == MX_CFG_UINT || rc == -ERANGE)
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

/* Only the shape; numeric_host checks the address. Returns the port text,
 * or NULL. */
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

/* What the server's bind takes: a numeric address or '*'. Checked here
 * too, so that --check-config refuses what start-up would. port is what
 * listen_port found in v. */
static bool numeric_host(const char *v, const char *port)
{
    char host[64];
    bool v6 = v[0] == '[';
    size_t n = (size_t)(port - v) - (v6 ? 3 : 1);
    unsigned char addr[16];

    if (n >= sizeof host)
        return false;
    memcpy(host, v + v6, n);
    host[n] = '\0';
    if (v6)
        return inet_pton(AF_INET6, host, addr) == 1;
    return strcmp(host, "*") == 0 || inet_pton(AF_INET, host, addr) == 1;
}

static int check_listen(const char *v, char *why, size_t len)
{
    const char *port = listen_port(v);
    unsigned long n;
    int rc = port ? mx_parse_uint(port, 65535, &n) : -EINVAL;

    if (rc == -ERANGE)
        snprintf(why, len, "port must be from 0 to 65535, got '%s'", v);
    else if (rc)
        snprintf(why, len, "expected " MX_CFG_LISTEN_SHAPE ", got '%s'", v);
    else if (!numeric_host(v, port))
        snprintf(why, len, "expected a numeric address (host names are not looked up), "
                 "got '%s'", v);
    return rc || !numeric_host(v, port) ? -1 : 0;
}

/* A secret's value stays out of the message, which goes to terminals and
 * logs: a password refused for a blank in it is still a password. */
static int text_error(const struct mx_cfg_key *k, const char *what, const char *v, char *why,
                      size_t len)
{
    if (k->secret)
        snprintf(why, len, "%s (value not shown)", what);
    else
        snprintf(why, len, "%s, got '%s'", what, v);
    return -1;
}

static int check_text(const struct mx_cfg_key *k, const char *v, char *why, size_t len)
{
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return text_error(k, "expected one word without spaces or control characters",
                              v, why, len);
    return 0;
}

static int store_text(const struct mx_cfg_key *k, const char *v, char *field, char *why,
                      size_t len)
{
    char what[64];

    if (strlen(v) >= k->width) {
        snprintf(what, sizeof what, "longer than %zu characters", k->width - 1);
        return text_error(k, what, v, why, len);
    }
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

/* Empty is none; a host name is looked up when muxd connects, not here. */
static int set_hostport(const struct mx_cfg_key *k, char *field, const char *v, char *why,
                        size_t len)
{
    if (v[0] && mx_hostport_parse(v, NULL, 0, NULL) < 0) {
        snprintf(why, len, "expected host:port or [v6addr]:port, port 1 to 65535, "
                 "got '%s'", v);
        return -1;
    }
    return store_text(k, v, field, why, len);
}

/* A name other machines see (and may put in keys or log lines): a
 * plain alphabet and a length of its own, below the field's. */
static int set_name(const struct mx_cfg_key *k, char *field, const char *v, char *why,
                    size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789._-";
    size_t n = strlen(v);

    if (v[strspn(v, alphabet)] != '\0' || n > k->max) {
        snprintf(why, len, "expected at most %llu characters of A-Z a-z 0-9 . _ -, got '%s'",
                 k->max, v);
        return -1;
    }
    return store_text(k, v, field, why, len);
}

/* Only the shape of a crypt(3) hash is checked: the salt and the hash in
 * crypt's alphabet, after a $6$ or $y$ prefix. A plain-text password
 * fails here, so it is never stored, and it is not echoed back either:
 * the message goes to terminals and logs. */
static bool crypt_shape(const char *v)
{
    static const char alphabet[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "abcdefghijklmnopqrstuvwxyz$=";
    if (strncmp(v, "$6$", 3) != 0 && strncmp(v, "$y$", 3) != 0)
        return false;
    if (v[strspn(v, alphabet)] != '\0')
        return false;
    const char *hash = strrchr(v, '$') + 1;
    return hash - v > 3 && strlen(hash) >= 22 && !strchr(hash, '=');
}

static int set_crypt(const struct mx_cfg_key *k, char *field, const char *v, char *why,
                     size_t len)
{
    if (!crypt_shape(v)) {
        snprintf(why, len, "expected a crypt(3) hash starting with $6$ (SHA-512) or $y$ "
                 "(yescrypt), e.g. from `mkpasswd -m sha-512`; a plain-text password "
                 "is refused (value not shown)");
        return -1;
    }
    if (strlen(v) >= k->width) {
        snprintf(why, len, "a hash longer than %zu characters", k->width - 1);
        return -1;
    }
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static int set_proto(const struct mx_cfg_key *k, char *field, const char *v, char *why,
                     size_t len)
{
    char list[128];

    if (mx_app_proto_find(v))
        return store_text(k, v, field, why, len);
    format_proto_names(list, sizeof list);
    snprintf(why, len, "expected one of %s, got '%s'", list, v);
    return -1;
}

static int set_choice(const struct mx_cfg_key *k, char *field, const char *v, char *why,
                      size_t len)
{
    char list[128];
    int i = find_choice(k->choices, v);

    if (i < 0) {
        format_choices(k->choices, list, sizeof list);
        snprintf(why, len, "expected one of %s, got '%s'", list, v);
        return -1;
    }
    if (k->type == MX_CFG_WORD)
        return store_text(k, v, field, why, len);
    store_num(field, k->width, (unsigned long long)i);
    return 0;
}

int mx_cfg_key_set(const struct mx_cfg_key *k, void *base, const char *v, char *why, size_t len)
{
    char *field = (char *)base + k->off;
    unsigned long long n;
    int rc;

    switch (k->type) {
    case MX_CFG_ENUM:
    case MX_CFG_WORD:
        return set_choice(k, field, v, why, len);
    case MX_CFG_ADDR:
        if (addr_may_be_off(k) && strcmp(v, "off") == 0)
            return store_text(k, "", field, why, len);
        if (check_listen(v, why, len))
            return -1;
        return store_text(k, v, field, why, len);
    case MX_CFG_TEXT:
        if (check_text(k, v, why, len))
            return -1;
        return store_text(k, v, field, why, len);
    case MX_CFG_PROTO:
        return set_proto(k, field, v, why, len);
    case MX_CFG_CRYPT:
        return set_crypt(k, field, v, why, len);
    case MX_CFG_CIDRS:
        if (mx_proxy_from_check(v, why, len) < 0)
            return -1;
        return store_text(k, v, field, why, len);
    case MX_CFG_HOSTPORT:
        return set_hostport(k, field, v, why, len);
    case MX_CFG_NAME:
        return set_name(k, field, v, why, len);
    default:
        rc = parse_number(k, v, &n);
        if (rc)
            return number_error(k, v, rc, why, len);
        store_num(field, k->width, n);
        return 0;
    }
}

void mx_cfg_key_describe(const struct mx_cfg_key *k, char *buf, size_t len)
{
    static const char *const what[] = {
        [MX_CFG_UINT] = "number", [MX_CFG_SIZE] = "size", [MX_CFG_DURATION] = "duration",
    };
    char range[80];

    if (k->type == MX_CFG_ENUM || k->type == MX_CFG_WORD) {
        format_choices(k->choices, buf, len);
    } else if (k->type == MX_CFG_PROTO) {
        format_proto_names(buf, len);
    } else if (k->type == MX_CFG_ADDR) {
        snprintf(buf, len, "%s%s", LISTEN_SHAPE_MD, addr_may_be_off(k) ? ", or `off`" : "");
    } else if (k->type == MX_CFG_TEXT) {
        snprintf(buf, len, "text, one word, at most %zu characters", k->width - 1);
    } else if (k->type == MX_CFG_CRYPT) {
        snprintf(buf, len, "a crypt(3) hash, `$6$...` or `$y$...`");
    } else if (k->type == MX_CFG_CIDRS) {
        snprintf(buf, len, "comma-separated IPv4 and IPv6 addresses or `address/bits` "
                 "ranges, at most 32; empty = none");
    } else if (k->type == MX_CFG_HOSTPORT) {
        snprintf(buf, len, "`host:port` (a name or IPv4 address) or `[v6addr]:port`, "
                 "port 1 to 65535; empty = none");
    } else if (k->type == MX_CFG_NAME) {
        snprintf(buf, len, "1 to %llu characters of `A-Z a-z 0-9 . _ -`, or empty",
                 k->max);
    } else {
        format_range(k, range, sizeof range);
        snprintf(buf, len, "%s, %s", what[k->type], range);
    }
}

