/* netstate.c - nick claims and live nodes in Redis (netstate.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster/bus.h"
#include "cluster/netstate.h"
#include "muxd/log.h"

/* ARGV: prefix, node, nick, owner ("NODE ID": the client), info (what
 * WHOIS shows of it). A claim is a client's, not a node's: two clients
 * of one node racing for a nick are settled here too, and one's release
 * never frees the other's. */
static const char claim_lua[] =
    "local k = ARGV[1] .. 'nick:' .. ARGV[3]\n"
    "local cur = redis.call('GET', k)\n"
    "if cur and cur ~= ARGV[4] then return 0 end\n"
    "redis.call('SET', k, ARGV[4])\n"
    "redis.call('SET', ARGV[1] .. 'who:' .. ARGV[3], ARGV[5])\n"
    "redis.call('SADD', ARGV[1] .. 'nicks:' .. ARGV[2], ARGV[3])\n"
    "return 1\n";

static const char release_lua[] =
    "local k = ARGV[1] .. 'nick:' .. ARGV[3]\n"
    "if redis.call('GET', k) == ARGV[4] then\n"
    "  redis.call('DEL', k, ARGV[1] .. 'who:' .. ARGV[3])\n"
    "end\n"
    "return 1\n";

/* ARGV: prefix, nick, payload. */
static const char to_nick_lua[] =
    "local owner = redis.call('GET', ARGV[1] .. 'nick:' .. ARGV[2])\n"
    "if not owner then return 0 end\n"
    "local node = string.match(owner, '^(%S+)')\n"
    "redis.call('PUBLISH', ARGV[1] .. 'n:' .. node, ARGV[3])\n"
    "return 1\n";

/* ARGV: prefix, node. The claims of a node's earlier life (or of before
 * Redis was lost) go: its clients claim again. */
#define FREE_NICKS_OF(n) \
    "for _, nick in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nicks:' .. " n ")) do\n" \
    "  local k = ARGV[1] .. 'nick:' .. nick\n" \
    "  local cur = redis.call('GET', k)\n" \
    "  if cur and string.match(cur, '^(%S+)') == " n " then\n" \
    "    redis.call('DEL', k, ARGV[1] .. 'who:' .. nick)\n" \
    "  end\n" \
    "end\n" \
    "redis.call('DEL', ARGV[1] .. 'nicks:' .. " n ")\n"

static const char hello_lua[] =
    FREE_NICKS_OF("ARGV[2]")
    "redis.call('SADD', ARGV[1] .. 'nodes', ARGV[2])\n"
    "return 1\n";

/* ARGV: prefix, node. Returns the nodes found dead. */
static const char reap_lua[] =
    "local dead = {}\n"
    "for _, n in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do\n"
    "  if n ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'node:' .. n) == 0 then\n"
    FREE_NICKS_OF("n")
    "    redis.call('SREM', ARGV[1] .. 'nodes', n)\n"
    "    table.insert(dead, n)\n"
    "  end\n"
    "end\n"
    "return dead\n";

struct pending {
    mx_net_done_fn *done;
    void *ctx;
};

static void answered(void *arg, const redisReply *r)
{
    struct pending p = *(struct pending *)arg;
    free(arg);
    p.done(p.ctx, !r ? -1 : r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 1 : 0);
    if (r && r->type == REDIS_REPLY_ERROR)
        mx_warn("cluster: redis: %s", r->str);
}

static void logged(void *arg, const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR)
        mx_warn("cluster: redis: %s: %s", (const char *)arg, r->str);
}

static void reaped(void *arg, const redisReply *r)
{
    logged(arg, r);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        mx_warn("cluster: node %s is gone (its heartbeat expired): its nicks are free",
                r->element[i]->str);
}

/* EVAL script 0 args...: done (with ctx) or fn (with arg) for the reply. */
static int eval(struct mx_bus *b, const char *script, int nargs, const char *const *args,
                const size_t *lens, mx_bus_done_fn *fn, void *arg)
{
    const char *argv[MX_BUS_MAX_ARGS] = { "EVAL", script, "0" };
    size_t l[MX_BUS_MAX_ARGS] = { 4, strlen(script), 1 };
    for (int i = 0; i < nargs; i++) {
        argv[3 + i] = args[i];
        l[3 + i] = lens ? lens[i] : strlen(args[i]);
    }
    return mx_bus_call(b, 3 + nargs, argv, l, fn, arg);
}

static int eval_done(struct mx_bus *b, const char *script, int nargs, const char *const *args,
                     const size_t *lens, mx_net_done_fn *done, void *ctx)
{
    if (!done)
        return eval(b, script, nargs, args, lens, logged, (void *)"eval");
    struct pending *p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    *p = (struct pending){ done, ctx };
    int rc = eval(b, script, nargs, args, lens, answered, p);
    if (rc < 0)
        free(p);
    return rc;
}

static void owner_of(char *buf, size_t len, const char *node, uint64_t id)
{
    snprintf(buf, len, "%s %llu", node, (unsigned long long)id);
}

int mx_net_claim(struct mx_bus *b, const char *prefix, const char *node, uint64_t id,
                 const char *nick, const char *info, mx_net_done_fn *done, void *ctx)
{
    char owner[128];
    owner_of(owner, sizeof owner, node, id);
    return eval_done(b, claim_lua, 5, (const char *[]){ prefix, node, nick, owner, info }, NULL,
                     done, ctx);
}

struct lookup {
    mx_net_found_fn *done;
    void *ctx;
};

static void looked_up(void *arg, const redisReply *r)
{
    struct lookup l = *(struct lookup *)arg;
    free(arg);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        l.done(l.ctx, NULL, NULL, 0);
        return;
    }
    const char *v[MX_NET_LOOKUP_MAX];
    size_t lens[MX_NET_LOOKUP_MAX];
    unsigned n = r->elements < MX_NET_LOOKUP_MAX ? (unsigned)r->elements : MX_NET_LOOKUP_MAX;
    for (unsigned i = 0; i < n; i++) {
        bool s = r->element[i]->type == REDIS_REPLY_STRING;
        v[i] = s ? r->element[i]->str : NULL;
        lens[i] = s ? r->element[i]->len : 0;
    }
    l.done(l.ctx, v, lens, n);
}

int mx_net_lookup(struct mx_bus *b, const char *prefix, const char *const *nicks, unsigned n,
                  mx_net_found_fn *done, void *ctx)
{
    if (n == 0 || n > MX_NET_LOOKUP_MAX || n + 1 > MX_BUS_MAX_ARGS)
        return -EINVAL;
    char keys[MX_NET_LOOKUP_MAX][160];
    const char *argv[MX_BUS_MAX_ARGS] = { "MGET" };
    size_t lens[MX_BUS_MAX_ARGS] = { 4 };
    for (unsigned i = 0; i < n; i++) {
        int k = snprintf(keys[i], sizeof keys[i], "%swho:%s", prefix, nicks[i]);
        argv[i + 1] = keys[i];
        lens[i + 1] = (size_t)k < sizeof keys[i] ? (size_t)k : sizeof keys[i] - 1;
    }
    struct lookup *l = malloc(sizeof *l);
    if (!l)
        return -ENOMEM;
    *l = (struct lookup){ done, ctx };
    int rc = mx_bus_call(b, (int)n + 1, argv, lens, looked_up, l);
    if (rc < 0)
        free(l);
    return rc;
}

void mx_net_release(struct mx_bus *b, const char *prefix, const char *node, uint64_t id,
                    const char *nick)
{
    char owner[128];
    owner_of(owner, sizeof owner, node, id);
    eval(b, release_lua, 4, (const char *[]){ prefix, node, nick, owner }, NULL, logged,
         (void *)"release");
}

int mx_net_to_nick(struct mx_bus *b, const char *prefix, const char *nick, const void *payload,
                   size_t len, mx_net_done_fn *done, void *ctx)
{
    const char *args[3] = { prefix, nick, payload };
    size_t lens[3] = { strlen(prefix), strlen(nick), len };
    return eval_done(b, to_nick_lua, 3, args, lens, done, ctx);
}

void mx_net_hello(struct mx_bus *b, const char *prefix, const char *node)
{
    eval(b, hello_lua, 2, (const char *[]){ prefix, node }, NULL, logged, (void *)"hello");
}

void mx_net_reap(struct mx_bus *b, const char *prefix, const char *node)
{
    eval(b, reap_lua, 2, (const char *[]){ prefix, node }, NULL, reaped, (void *)"reap");
}
