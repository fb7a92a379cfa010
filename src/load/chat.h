/* chat.h - chat mode's per-client state and what chat_conn.c (the IRC
 * side: registration, joins, PING, receiving) offers chat_mode.c (the
 * send schedule and the mode callbacks).
 *
 * Client i is nick <nick-prefix><i> in channel #<chan-prefix><i % C>;
 * clients 0 .. S-1 send. Every receiver keeps, per sender of its channel,
 * the next sequence number it expects and a 64-bit window of the ones
 * below it, which tells a duplicate (seen) from a late arrival (reordered)
 * among the last 64; older late arrivals count as reordered. */
#ifndef MUXD_LOAD_CHAT_H
#define MUXD_LOAD_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "thread.h"

#define LD_CHAT_LINE_MAX 1024u
/* Output a sender may have queued before the schedule waits for it. */
#define LD_CHAT_OUT_HIGH (64u * 1024u)

enum ld_chat_stage { LD_CHAT_REGISTERING, LD_CHAT_JOINING, LD_CHAT_JOINED };

struct ld_seq {
    uint64_t next;           /* one past the highest sequence seen */
    uint64_t seen;           /* bit d: sequence next - 1 - d arrived */
};

struct ld_chat_conn {
    uint8_t stage;
    size_t in_len;
    char *in;                /* LD_CHAT_LINE_MAX bytes: an unfinished line */
    char *out;               /* queued output */
    size_t out_len, out_off, out_cap;
    struct ld_seq *seqs;     /* one per sender of the channel, by sender / C */
    uint64_t next_seq;       /* as a sender */
};

struct ld_chat_thread {
    struct ld_chat_conn *cc; /* by connection index */
    struct ld_seq *seq_pool;
    char *in_pool;
    unsigned joined;
    uint64_t last_arrival;   /* of a new delivery, any message */
};

/* Members of channel ch, and senders in it, over every client. */
unsigned ld_chat_members(const struct ld_opts *o, unsigned ch);
unsigned ld_chat_senders_in(const struct ld_opts *o, unsigned ch);
void ld_chat_nick(const struct ld_opts *o, unsigned id, char *buf, size_t len);
void ld_chat_channel(const struct ld_opts *o, unsigned id, char *buf, size_t len);

/* Queues text (a whole line with CR LF) for c; 0 or -1. */
int ld_chat_queue(struct ld_thread *th, struct ld_conn *c, const char *text, size_t len);
/* Sends what is queued; 0 or -1. */
int ld_chat_flush(struct ld_thread *th, struct ld_conn *c);
/* Just connected: NICK and USER. */
int ld_chat_on_up(struct ld_thread *th, struct ld_conn *c);
int ld_chat_on_event(struct ld_thread *th, struct ld_conn *c, uint32_t events);

static inline struct ld_chat_thread *ld_chat_of(const struct ld_thread *th)
{
    return th->mode;
}

#endif
