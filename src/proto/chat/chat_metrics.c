/* chat_metrics.c - the chat service's numbers for /metrics (mx_chat_proto's
 * metrics callback, muxd/proto.h). Runs on the scraping thread: the
 * per-worker counters are read without a lock (each worker writes only
 * its own, chat_int.h), the two gauges under mu for a moment. On top of
 * the layering, beside chat.c: it calls nothing below. */
#include "muxd/stats.h"
#include "proto/chat/chat_int.h"

static void per_worker(struct mx_chat *chat, size_t off, const char *name, const char *help,
                       void (*emit)(void *, const struct mx_metric *), void *sink)
{
    uint64_t v[MX_MAX_WORKERS];
    /* Retired workers too: a counter never goes down. */
    for (unsigned w = 0; w < chat->wseen; w++) {
        chat_counter *c = (chat_counter *)((char *)&chat->wk[w].n + off);
        v[w] = atomic_load_explicit(c, memory_order_relaxed);
    }
    emit(sink, &(struct mx_metric){ .name = name, .help = help, .type = MX_METRIC_COUNTER,
                                   .workers = chat->wseen, .values = v });
}

static void gauge(const char *name, const char *help, uint64_t v,
                  void (*emit)(void *, const struct mx_metric *), void *sink)
{
    emit(sink, &(struct mx_metric){ .name = name, .help = help, .type = MX_METRIC_GAUGE,
                                   .values = &v });
}

#define N(f) offsetof(struct chat_counters, f)

void chat_metrics(void *proto_data, void (*emit)(void *sink, const struct mx_metric *m),
                  void *sink)
{
    struct mx_chat *chat = proto_data;
    chat_lock(chat);
    uint64_t users = chat->nusers, chans = chat->chans.n;
    chat_unlock(chat);
    gauge("muxd_chat_users", "Registered chat clients now.", users, emit, sink);
    gauge("muxd_chat_channels", "Chat channels now (a channel lives while it has members).",
          chans, emit, sink);
    per_worker(chat, N(deliveries), "muxd_chat_deliveries_total",
               "Lines about a client's doing (messages, JOIN, PART, QUIT, ...) queued to a "
               "client, one per recipient, on the recipient's worker.", emit, sink);
    per_worker(chat, N(sendq_kills), "muxd_chat_sendq_kills_total",
               "Chat clients cut off for going over their SendQ.", emit, sink);
    per_worker(chat, N(flood_throttled), "muxd_chat_flood_throttled_total",
               "Lines held back by flood control until the client's bucket refilled.",
               emit, sink);
    per_worker(chat, N(producer_holds), "muxd_chat_producer_holds_total",
               "overflow = pause_producer: senders held back by a congested member.",
               emit, sink);
    if (chat->has_bus && chat->bus.metrics)
        chat->bus.metrics(chat->bus.arg, emit, sink);
}
