/* netstate.c - nick claims and live nodes in Redis (netstate.h). */
#include <assert.h>
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

/* ARGV: prefix, nicks (casefolded, each followed by a space). One
 * argument, not one key each: a lookup may ask for more nicks than a bus
 * call has arguments (ISON). A nick nobody holds gives false: a nil in
 * the reply, in its place. */
static const char lookup_lua[] =
    "local out = {}\n"
    "for nick in string.gmatch(ARGV[2], '(%S+) ') do\n"
    "  out[#out + 1] = redis.call('GET', ARGV[1] .. 'who:' .. nick)\n"
    "end\n"
    "return out\n";

/* ARGV: prefix, nick, payload, channel ("" or, for an INVITE, the
 * channel whose copy keeps the invitation: in the same step, so a JOIN
 * right after the line arrives finds it). */
static const char to_nick_lua[] =
    "local owner = redis.call('GET', ARGV[1] .. 'nick:' .. ARGV[2])\n"
    "if not owner then return 0 end\n"
    "local node = string.match(owner, '^(%S+)')\n"
    "if ARGV[4] ~= '' then\n"
    "  local h = ARGV[1] .. 'members:' .. ARGV[4]\n"
    "  if redis.call('EXISTS', h) == 1 then redis.call('HSET', h, 'i:' .. ARGV[2], '1') end\n"
    "end\n"
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

/* Does hash h hold a member ("NODE UID": a space), or only the channel's
 * state (topic, modes, invitations)? A channel's state goes with its last
 * member. */
#define HAS_MEMBERS \
    "local function has_members(h)\n" \
    "  for _, f in ipairs(redis.call('HKEYS', h)) do\n" \
    "    if string.find(f, ' ', 1, true) then return true end\n" \
    "  end\n" \
    "  return false\n" \
    "end\n"

/* The memberships of node n's clients go from their channels' hashes;
 * each member's line and channels are gathered in `gone` (uid -> {line,
 * chans}) for the QUIT that tells the other nodes. */
#define FREE_MEMBERS_OF(n) \
    "local gone = {}\n" \
    "for _, e in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'memb:' .. " n ")) do\n" \
    "  local chan, owner = string.match(e, '^(%S+) (.+)$')\n" \
    "  if chan then\n" \
    "    local h = ARGV[1] .. 'members:' .. chan\n" \
    "    local who = redis.call('HGET', h, owner)\n" \
    "    redis.call('HDEL', h, owner)\n" \
    "    if not has_members(h) then\n" \
    "      redis.call('DEL', h)\n" \
    "      redis.call('SREM', ARGV[1] .. 'chans', chan)\n" \
    "    end\n" \
    "    if who then\n" \
    "      local g = gone[owner] or { who = who, chans = {} }\n" \
    "      table.insert(g.chans, chan)\n" \
    "      gone[owner] = g\n" \
    "    end\n" \
    "  end\n" \
    "end\n" \
    "redis.call('DEL', ARGV[1] .. 'memb:' .. " n ")\n"

static const char hello_lua[] =
    HAS_MEMBERS
    FREE_NICKS_OF("ARGV[2]")
    FREE_MEMBERS_OF("ARGV[2]")
    "redis.call('SADD', ARGV[1] .. 'nodes', ARGV[2])\n"
    "return 1\n";

/* ARGV: prefix, node, server, others ("1": look for dead nodes; else
 * only for this node's mark). Returns this node's `reaped:` mark ("" if
 * none: the others found it dead, cut off or stopped for longer than its
 * key lives), then the nodes found dead now. Each of a dead node's
 * clients that was on channels quits them with a netsplit reason,
 * published on the network's subject like any QUIT (chat_wire.c has the
 * payload: NODE, NEED AT, TAGS, CHANNELS, LINE), signed by the dead node
 * so that every survivor delivers it; the node is marked with a stamp of
 * its own (Redis's time and a count), so that it learns it when it comes
 * back (and is in the set
 * of nodes again, with or without a hello: a node stopped and continued
 * never reconnects). The mark is read, never taken: this node's old
 * connection, cut, may still run its last reaps when the link comes
 * back, and their answers go nowhere; the node acts once per mark. */
static const char reap_lua[] =
    HAS_MEMBERS
    "local back = redis.call('GET', ARGV[1] .. 'reaped:' .. ARGV[2])\n"
    "if back then redis.call('SADD', ARGV[1] .. 'nodes', ARGV[2]) end\n"
    "local dead = { back or '' }\n"
    "if ARGV[4] ~= '1' then return dead end\n"
    "for _, n in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do\n"
    "  if n ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'node:' .. n) == 0 then\n"
    "    local t = redis.call('TIME')\n"
    "    redis.call('SET', ARGV[1] .. 'reaped:' .. n, t[1] .. '.' .. t[2] .. '.' ..\n"
    "               redis.call('INCR', ARGV[1] .. 'reaps'), 'EX', 86400)\n"
    FREE_NICKS_OF("n")
    FREE_MEMBERS_OF("n")
    "    for _, g in pairs(gone) do\n"
    "      local prefix = string.match(g.who, '^[^\\n]+')\n"
    "      redis.call('PUBLISH', ARGV[1] .. 'u', n .. '\\n0\\n\\n' .. table.concat(g.chans, ',') ..\n"
    "                 '\\n:' .. prefix .. ' QUIT :' .. ARGV[3] .. ' ' .. n .. '\\r\\n')\n"
    "    end\n"
    "    redis.call('SREM', ARGV[1] .. 'nodes', n)\n"
    "    table.insert(dead, n)\n"
    "  end\n"
    "end\n"
    "return dead\n";

/* ARGV: prefix, node, channel (casefolded), owner, "nick!user@host" (""
 * when it leaves), and the modes of a channel this member creates ("":
 * none), set in the same step unless another node's creation came first:
 * a JOIN elsewhere never finds the member without the modes. */
static const char member_lua[] =
    HAS_MEMBERS
    "local h = ARGV[1] .. 'members:' .. ARGV[3]\n"
    "local m = ARGV[1] .. 'memb:' .. ARGV[2]\n"
    "if ARGV[5] ~= '' then\n"
    "  if ARGV[6] ~= '' and redis.call('HEXISTS', h, '+') == 0 then\n"
    "    redis.call('HSET', h, '+', ARGV[6])\n"
    "  end\n"
    "  redis.call('HSET', h, ARGV[4], ARGV[5])\n"
    "  redis.call('SADD', m, ARGV[3] .. ' ' .. ARGV[4])\n"
    "  redis.call('SADD', ARGV[1] .. 'chans', ARGV[3])\n"
    "else\n"
    "  redis.call('HDEL', h, ARGV[4])\n"
    "  redis.call('SREM', m, ARGV[3] .. ' ' .. ARGV[4])\n"
    "  if not has_members(h) then\n"
    "    redis.call('DEL', h)\n"
    "    redis.call('SREM', ARGV[1] .. 'chans', ARGV[3])\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* ARGV: prefix, channel, field ("*" the topic, "+" the modes, "#" its
 * name as created, "i:NICK" an invitation), value ("": none). A channel's state lives in its members' hash, so it goes
 * with the last member (member_lua). */
static const char state_lua[] =
    "local h = ARGV[1] .. 'members:' .. ARGV[2]\n"
    "if ARGV[4] == '' then redis.call('HDEL', h, ARGV[3])\n"
    "elseif redis.call('EXISTS', h) == 1 then redis.call('HSET', h, ARGV[3], ARGV[4]) end\n"
    "return 1\n";

/* ARGV: prefix, max. Every channel with members, as
 * "NAME\nUSERS\nFLAGS\nTOPIC" (NAME as created, its "#" field; FLAGS
 * the first line of its modes; TOPIC its text), at most max of them. */
static const char channels_lua[] =
    "local out = {}\n"
    "for _, c in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'chans')) do\n"
    "  if #out >= tonumber(ARGV[2]) then break end\n"
    "  local kv = redis.call('HGETALL', ARGV[1] .. 'members:' .. c)\n"
    "  local n, name, flags, topic = 0, c, '', ''\n"
    "  for i = 1, #kv, 2 do\n"
    "    local f, v = kv[i], kv[i + 1]\n"
    "    if string.find(f, ' ', 1, true) then n = n + 1\n"
    "    elseif f == '#' then name = v\n"
    "    elseif f == '+' then flags = string.match(v, '^[^\\n]*')\n"
    "    elseif f == '*' then topic = string.match(v, '^[^\\n]*\\n[^\\n]*\\n(.*)$') or ''\n"
    "    end\n"
    "  end\n"
    "  if n > 0 then out[#out + 1] = name .. '\\n' .. n .. '\\n' .. flags .. '\\n' .. topic end\n"
    "end\n"
    "return out\n";

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

struct reap {
    void (*taken_for_dead)(void *arg, const char *mark);
    void *arg;
};

static void reaped(void *arg, const redisReply *r)
{
    struct reap k = *(struct reap *)arg;
    free(arg);
    logged((void *)"reap", r);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return;
    for (size_t i = 1; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            mx_warn("cluster: node %s is gone (its heartbeat expired): its nicks are free",
                    r->element[i]->str);
    const redisReply *me = r->element[0];
    if (me->type == REDIS_REPLY_STRING && me->len > 0 && k.taken_for_dead)
        k.taken_for_dead(k.arg, me->str);
}

/* EVAL script 0 args...: done (with ctx) or fn (with arg) for the reply. */
static int eval(struct mx_bus *b, const char *script, int nargs, const char *const *args,
                const size_t *lens, mx_bus_done_fn *fn, void *arg)
{
    const char *argv[MX_BUS_MAX_ARGS] = { "EVAL", script, "0" };
    size_t l[MX_BUS_MAX_ARGS] = { 4, strlen(script), 1 };
    assert(3 + nargs <= MX_BUS_MAX_ARGS);  /* each script's count is fixed here */
    if (3 + nargs > MX_BUS_MAX_ARGS)
        return -EINVAL;
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

/* Who waits for an array reply (a lookup, a channel's members). */
struct found {
    mx_net_found_fn *done;
    void *ctx;
};

/* *f from arg (freed); false, with done told, if r is no array. */
static bool found_take(void *arg, const redisReply *r, struct found *f)
{
    *f = *(struct found *)arg;
    free(arg);
    if (r && r->type == REDIS_REPLY_ARRAY)
        return true;
    f->done(f->ctx, NULL, NULL, 0);
    return false;
}

static int found_call(struct mx_bus *b, int argc, const char *const *argv, const size_t *lens,
                      mx_bus_done_fn *fn, mx_net_found_fn *done, void *ctx)
{
    struct found *f = malloc(sizeof *f);
    if (!f)
        return -ENOMEM;
    *f = (struct found){ done, ctx };
    int rc = mx_bus_call(b, argc, argv, lens, fn, f);
    if (rc < 0)
        free(f);
    return rc;
}

static void looked_up(void *arg, const redisReply *r)
{
    struct found l;
    if (!found_take(arg, r, &l))
        return;
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
    if (n == 0 || n > MX_NET_LOOKUP_MAX)
        return -EINVAL;
    char list[MX_NET_LOOKUP_MAX * (MX_NET_NICK_MAX + 1) + 1];
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t k = strlen(nicks[i]);
        if (k == 0 || k > MX_NET_NICK_MAX || strpbrk(nicks[i], " \t\r\n"))
            return -EINVAL;  /* one word each, or the reply would not line up */
        memcpy(list + len, nicks[i], k);
        list[len + k] = ' ';
        len += k + 1;
    }
    list[len] = '\0';
    const char *args[] = { "EVAL", lookup_lua, "0", prefix, list };
    size_t lens[] = { 4, sizeof lookup_lua - 1, 1, strlen(prefix), len };
    return found_call(b, 5, args, lens, looked_up, done, ctx);
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
                   size_t len, const char *invite, mx_net_done_fn *done, void *ctx)
{
    const char *args[4] = { prefix, nick, payload, invite ? invite : "" };
    size_t lens[4] = { strlen(prefix), strlen(nick), len, strlen(args[3]) };
    return eval_done(b, to_nick_lua, 4, args, lens, done, ctx);
}

void mx_net_hello(struct mx_bus *b, const char *prefix, const char *node)
{
    eval(b, hello_lua, 2, (const char *[]){ prefix, node }, NULL, logged, (void *)"hello");
}

void mx_net_reap(struct mx_bus *b, const char *prefix, const char *node, const char *server,
                 bool others, void (*taken_for_dead)(void *arg, const char *mark), void *arg)
{
    struct reap *k = malloc(sizeof *k);
    if (!k)
        return;
    *k = (struct reap){ taken_for_dead, arg };
    if (eval(b, reap_lua, 4, (const char *[]){ prefix, node, server, others ? "1" : "0" }, NULL,
             reaped, k) < 0)
        free(k);
}

void mx_net_member(struct mx_bus *b, const char *prefix, const char *node, const char *chan,
                   uint64_t uid, const char *who, const char *modes)
{
    char owner[128];
    owner_of(owner, sizeof owner, node, uid);
    eval(b, member_lua, 6,
         (const char *[]){ prefix, node, chan, owner, who ? who : "", modes ? modes : "" }, NULL,
         logged, (void *)"member");
}

void mx_net_state(struct mx_bus *b, const char *prefix, const char *chan, const char *field,
                  const char *value)
{
    eval(b, state_lua, 4, (const char *[]){ prefix, chan, field, value ? value : "" }, NULL,
         logged, (void *)"state");
}

/* HGETALL's [field, value, ...] as "FIELD\nVALUE" strings. */
static void listed(void *arg, const redisReply *r)
{
    struct found l;
    if (!found_take(arg, r, &l))
        return;
    size_t n = r->elements / 2;
    const char **v = malloc((n ? n : 1) * sizeof *v);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    char **own = malloc((n ? n : 1) * sizeof *own);
    unsigned k = 0;
    for (size_t i = 0; v && lens && own && i < n; i++) {
        const redisReply *f = r->element[2 * i], *w = r->element[2 * i + 1];
        if (f->type != REDIS_REPLY_STRING || w->type != REDIS_REPLY_STRING)
            continue;
        own[k] = malloc(f->len + 1 + w->len + 1);
        if (!own[k])
            continue;
        memcpy(own[k], f->str, f->len);
        own[k][f->len] = '\n';
        memcpy(own[k] + f->len + 1, w->str, w->len + 1);
        v[k] = own[k];
        lens[k] = f->len + 1 + w->len;
        k++;
    }
    if (v && lens && own)
        l.done(l.ctx, v, lens, k);
    else
        l.done(l.ctx, NULL, NULL, 0);
    for (unsigned i = 0; own && i < k; i++)
        free(own[i]);
    free(own);
    free(v);
    free(lens);
}

/* An array of strings, any length. */
static void strings(void *arg, const redisReply *r)
{
    struct found l;
    if (!found_take(arg, r, &l))
        return;
    size_t n = r->elements;
    const char **v = malloc((n ? n : 1) * sizeof *v);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    unsigned k = 0;
    for (size_t i = 0; v && lens && i < n; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        v[k] = r->element[i]->str;
        lens[k++] = r->element[i]->len;
    }
    if (v && lens)
        l.done(l.ctx, v, lens, k);
    else
        l.done(l.ctx, NULL, NULL, 0);
    free(v);
    free(lens);
}

int mx_net_channels(struct mx_bus *b, const char *prefix, unsigned max, mx_net_found_fn *done,
                    void *ctx)
{
    char m[16];
    int ml = snprintf(m, sizeof m, "%u", max);
    const char *args[] = { "EVAL", channels_lua, "0", prefix, m };
    size_t lens[] = { 4, sizeof channels_lua - 1, 1, strlen(prefix), (size_t)ml };
    return found_call(b, 5, args, lens, strings, done, ctx);
}

int mx_net_members(struct mx_bus *b, const char *prefix, const char *chan,
                   mx_net_found_fn *done, void *ctx)
{
    char key[256];
    int n = snprintf(key, sizeof key, "%smembers:%s", prefix, chan);
    if (n < 0 || (size_t)n >= sizeof key)
        return -ENAMETOOLONG;
    return found_call(b, 2, (const char *[]){ "HGETALL", key }, (size_t[]){ 7, (size_t)n },
                      listed, done, ctx);
}
