/* netstate.c - nick claims and live nodes in Redis (netstate.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster/bus.h"
#include "cluster/netstate.h"
#include "muxd/log.h"

/* ARGV: prefix, node, nick, owner ("NODE ID": the client). A claim is
 * a client's, not a node's: two clients of one node racing for a nick
 * are settled here too, and one's release never frees the other's. */
static const char claim_lua[] =
    "local k = ARGV[1] .. 'nick:' .. ARGV[3]\n"
    "local cur = redis.call('GET', k)\n"
    "if cur and cur ~= ARGV[4] then return 0 end\n"
    "redis.call('SET', k, ARGV[4])\n"
    "redis.call('SADD', ARGV[1] .. 'nicks:' .. ARGV[2], ARGV[3])\n"
    "return 1\n";

static const char release_lua[] =
    "local k = ARGV[1] .. 'nick:' .. ARGV[3]\n"
    "if redis.call('GET', k) == ARGV[4] then redis.call('DEL', k) end\n"
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
    "  if cur and string.match(cur, '^(%S+)') == " n " then redis.call('DEL', k) end\n" \
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
                 const char *nick, mx_net_done_fn *done, void *ctx)
{
    char owner[128];
    owner_of(owner, sizeof owner, node, id);
    return eval_done(b, claim_lua, 4, (const char *[]){ prefix, node, nick, owner }, NULL,
                     done, ctx);
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
