/* cluster.c - [cluster] for chat listeners: the bus's options from the
 * config, and the link between a bus and a struct mx_chat (cluster.h).
 * The link is the bus's callback argument and the chat's bus.arg. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/cluster.h"
#include "app/hostport.h"
#include "cluster/bus.h"
#include "cluster/netstate.h"
#include "muxd/log.h"
#include "muxd/stats.h"
#include "proto/chat/chat.h"

struct link {
    struct mx_bus *bus;
    struct mx_chat *chat;
    char node[64], prefix[96];
    char mark[64];              /* the last reaped: mark acted on (bus thread) */
    unsigned grace_ms;          /* back from an outage, no reaping for this long */
    uint64_t up_ms;             /* when it came back (bus thread; 0: never away) */
    bool was_up;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

int mx_app_cluster_opts(const struct mx_config *cfg, const char *listener,
                        struct mx_app_cluster_opts *o)
{
    *o = (struct mx_app_cluster_opts){ .on = cfg->cluster_redis[0] != '\0' };
    if (!o->on)
        return 0;
    if (mx_hostport_parse(cfg->cluster_redis, o->host, sizeof o->host, &o->port) < 0)
        return -1;
    snprintf(o->user, sizeof o->user, "%s", cfg->cluster_redis_user);
    snprintf(o->password, sizeof o->password, "%s", cfg->cluster_redis_password);
    snprintf(o->node, sizeof o->node, "%s", cfg->cluster_node_name);
    if (!o->node[0] && gethostname(o->node, sizeof o->node - 1) < 0)
        snprintf(o->node, sizeof o->node, "muxd");
    snprintf(o->prefix, sizeof o->prefix, "muxd:%s:", listener);
    o->heartbeat_ms = cfg->cluster_heartbeat_ms;
    o->timeout_ms = cfg->cluster_timeout_ms;
    o->queue_max = cfg->cluster_queue_max;
    return 0;
}

static int publish(void *arg, const char *subject, const void *p, size_t n)
{
    struct link *l = arg;
    return mx_bus_publish(l->bus, subject, p, n);
}

static void subscribe(void *arg, const char *subject, bool on)
{
    struct link *l = arg;
    mx_bus_subscribe(l->bus, subject, on);
}

static int claim(void *arg, uint64_t id, const char *nick, const char *info,
                 void (*done)(void *, int), void *ctx)
{
    struct link *l = arg;
    return mx_net_claim(l->bus, l->prefix, l->node, id, nick, info, done, ctx);
}

static int lookup(void *arg, const char *const *nicks, unsigned n,
                  void (*done)(void *, const char *const *, const size_t *, unsigned), void *ctx)
{
    struct link *l = arg;
    return mx_net_lookup(l->bus, l->prefix, nicks, n, done, ctx);
}

static void release(void *arg, uint64_t id, const char *nick)
{
    struct link *l = arg;
    mx_net_release(l->bus, l->prefix, l->node, id, nick);
}

static int to_nick(void *arg, const char *nick, const void *p, size_t n, const char *invite,
                   void (*done)(void *, int), void *ctx)
{
    struct link *l = arg;
    return mx_net_to_nick(l->bus, l->prefix, nick, p, n, invite, done, ctx);
}

static void member(void *arg, const char *chan, uint64_t uid, const char *who, const char *modes)
{
    struct link *l = arg;
    mx_net_member(l->bus, l->prefix, l->node, chan, uid, who, modes);
}

static void state(void *arg, const char *chan, const char *field, const char *value)
{
    struct link *l = arg;
    mx_net_state(l->bus, l->prefix, chan, field, value);
}

static int members(void *arg, const char *chan,
                   void (*done)(void *, const char *const *, const size_t *, unsigned), void *ctx)
{
    struct link *l = arg;
    return mx_net_members(l->bus, l->prefix, chan, done, ctx);
}

static int channels(void *arg, unsigned max,
                    void (*done)(void *, const char *const *, const size_t *, unsigned), void *ctx)
{
    struct link *l = arg;
    return mx_net_channels(l->bus, l->prefix, max, done, ctx);
}

static void metric(void (*emit)(void *, const struct mx_metric *), void *sink,
                   const char *name, const char *help, enum mx_metric_type type, uint64_t v)
{
    emit(sink, &(struct mx_metric){ .name = name, .help = help, .type = type, .values = &v });
}

static void metrics(void *arg, void (*emit)(void *, const struct mx_metric *), void *sink)
{
    struct link *l = arg;
    struct mx_bus_stats s;
    mx_bus_stats(l->bus, &s);
    metric(emit, sink, "muxd_cluster_redis_up", "1 while this node reaches Redis.",
           MX_METRIC_GAUGE, s.up);
    metric(emit, sink, "muxd_cluster_redis_transitions_total",
           "Times this node reached or lost Redis.", MX_METRIC_COUNTER, s.transitions);
    metric(emit, sink, "muxd_cluster_published_total", "Messages published to other nodes.",
           MX_METRIC_COUNTER, s.published);
    metric(emit, sink, "muxd_cluster_received_total",
           "Messages received from Redis (this node's own included).", MX_METRIC_COUNTER,
           s.received);
    metric(emit, sink, "muxd_cluster_dropped_total",
           "Messages not published: Redis lost, or queue_max reached.", MX_METRIC_COUNTER,
           s.dropped);
}

static void on_message(void *arg, const char *subject, size_t slen, const char *p, size_t n)
{
    struct link *l = arg;
    mx_chat_bus_message(l->chat, subject, slen, p, n);
}

/* Reached: the node's old claims go before any new one can be made
 * (on_ready runs before other threads may ask the bus)... */
static void on_ready(void *arg)
{
    struct link *l = arg;
    mx_net_hello(l->bus, l->prefix, l->node);
}

/* ...then its clients claim again and its channels subscribe. */
static void on_state(void *arg, bool up)
{
    struct link *l = arg;
    if (up) {
        l->up_ms = l->was_up ? now_ms() : 0;
        l->was_up = true;
        mx_chat_bus_up(l->chat);
    }
}

/* The others took this node for dead (it was cut off, or stopped, for
 * longer than its heartbeat key lives) and freed its nicks and members:
 * its clients come back to the network, with a JOIN for each of their
 * channels. */
static void taken_for_dead(void *arg, const char *mark)
{
    struct link *l = arg;
    if (strcmp(mark, l->mark) == 0)
        return;  /* done for this one already */
    snprintf(l->mark, sizeof l->mark, "%s", mark);
    mx_warn("cluster: node %s was taken for dead by the other nodes (no heartbeat for too "
            "long): its users join the network again", l->node);
    mx_chat_bus_rejoin(l->chat);
}

/* Back from an outage, a node does not reap at once: if Redis itself
 * was stopped or cut off, every node's key expired with it, and the
 * others are still on their way back (within their back-off). */
static void on_beat(void *arg)
{
    struct link *l = arg;
    bool others = !l->up_ms || now_ms() - l->up_ms >= l->grace_ms;
    mx_net_reap(l->bus, l->prefix, l->node, l->node, others, taken_for_dead, l);
}

int mx_app_cluster_attach(struct mx_chat *chat, const struct mx_app_cluster_opts *o)
{
    struct link *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->chat = chat;
    /* Every key lives 3 heartbeats: the others have had that long, and
     * their longest back-off and a connection's timeout, to come back. */
    l->grace_ms = 3 * o->heartbeat_ms + MX_BUS_BACKOFF_MAX_MS + o->timeout_ms;
    snprintf(l->node, sizeof l->node, "%s", o->node);
    snprintf(l->prefix, sizeof l->prefix, "%s", o->prefix);
    struct mx_bus_opts bo = {
        .host = o->host, .port = o->port, .user = o->user, .password = o->password,
        .node = o->node, .prefix = o->prefix, .heartbeat_ms = o->heartbeat_ms,
        .timeout_ms = o->timeout_ms, .queue_max = o->queue_max,
        .on_message = on_message, .on_ready = on_ready, .on_state = on_state,
        .on_beat = on_beat, .arg = l,
    };
    struct mx_chat_bus cb = { .arg = l, .publish = publish, .subscribe = subscribe,
                              .claim = claim, .release = release, .to_nick = to_nick, .lookup = lookup,
                              .member = member, .members = members, .state = state,
                              .channels = channels,
                              .metrics = metrics };
    int rc;
    l->bus = mx_bus_new(&bo);
    if (!l->bus)
        rc = -errno;
    else if ((rc = mx_chat_set_bus(chat, &cb, o->node, o->prefix)) == 0 &&
             (rc = mx_bus_start(l->bus)) == 0) {
        mx_info("cluster: node %s: chat network %s over redis %s:%u", o->node, o->prefix,
                o->host, o->port);
        return 0;
    }
    mx_chat_set_bus(chat, NULL, NULL, NULL);
    mx_bus_free(l->bus);
    free(l);
    return rc;
}

static struct link *link_of(struct mx_chat *chat)
{
    const struct mx_chat_bus *b = mx_chat_get_bus(chat);
    return b ? b->arg : NULL;
}

void mx_app_cluster_stop(struct mx_chat *chat)
{
    struct link *l = chat ? link_of(chat) : NULL;
    if (l && l->bus) {
        mx_bus_free(l->bus);
        l->bus = NULL;
    }
}

void mx_app_cluster_free(struct mx_chat *chat)
{
    mx_app_cluster_stop(chat);
    free(chat ? link_of(chat) : NULL);
}
