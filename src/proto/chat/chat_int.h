/* chat_int.h - the chat service's state, shared by its files.
 *
 * Two kinds of state, two rules:
 * - Global (nicks, channels, memberships, modes, topics): guarded by
 *   chat->mu. Any worker reads and writes it under the lock, briefly, and
 *   never calls into a connection while holding it (queueing replies to
 *   the caller's own client is fine: that only appends to its queue).
 * - Local (a client's connection and timers, each channel's list of the
 *   members a worker owns, that worker's list of clients over their
 *   SendQ): touched only by the owner worker (asserted in debug builds).
 *   Other workers reach it by posting to that worker (mx_server_run,
 *   mx_server_post).
 * A client's global membership and its place in its worker's local lists
 * change together, under mu, on its owner worker (member_add/member_del):
 * KICK is carried out there too. Never during a fan-out: a client over
 * its SendQ is cut off when the entry point leaves (chat_send.c says why).
 *
 * Calls go one way, down this list; a file calls only files below it
 * (skipping levels is fine), never one above:
 *
 *   chat.c          the mx_proto callbacks, framing, flood, the timer;
 *                   mx_chat_new/free; chat_metrics.c, its numbers;
 *                   chat_remote.c, what other nodes publish (an entry
 *                   point too: the bus's thread calls it)
 *   chat_cmd.c      the command table, the commands that act
 *   chat_chanop.c   TOPIC, KICK, INVITE (with other nodes' members)
 *   chat_reg.c      registration, NICK, VERSION (005)   chat_mode.c  MODE
 *   chat_oper.c     OPER, KILL (carried out on the victim's worker),
 *                   WALLOPS, REHASH, DIE, STATS u and l
 *   chat_kline.c    KLINE, UNKLINE, STATS k, the check at registration,
 *                   closing a link on its owner by a post (KILL's too)
 *   chat_query.c    the queries: WHO(X), NAMES, LIST, LUSERS (the welcome
 *                   burst's too), TIME, ADMIN, INFO; chat_help.c  HELP,
 *                   LINKS; chat_nicks.c  the queries about nicks: WHOIS,
 *                   WHOWAS, ISON, USERHOST (chat_query.h: what they share)
 *   chat_chan.c     JOIN, PART, KICK carried out, NAMES and topic replies
 *   chat_cap.c      IRCv3: CAP LS/LIST/REQ, SETNAME
 *   chat_cluster.c  questions to the network (docs/cluster.md): nick
 *                   claims, lines to a remote nick, lookups, a channel's
 *                   members and state; answers brought to the asker's
 *                   worker while its input waits
 *   chat_fanout.c   audiences and fan-out, posts of lines, QUIT and the
 *                   closing of a link, entering and leaving a worker
 *                   (cutting off SendQ overflows)
 *   chat_state.c    the tables: channel lifetime (a channel subscribes
 *                   to its subject while it lives), lookups, membership
 *   chat_wire.c     what this node publishes for the others: subjects,
 *                   lines, memberships
 *   chat_whowas.c   the bounded history of nicks that quit or changed
 *   chat_send.c     queueing to one client under its SendQ, line format,
 *                   labeled-response (the replies to a labeled command)
 *   chat_msg.c      a fan-out line's variants by capability (@time, client
 *                   tags, extended-join), each built once per message
 *   irc_parse.c, irc_case.c, irc_fmt.c, irc_cloak.c, irc_query.c,
 *   irc_tags.c, nametab.c, and the public API
 *
 * Why QUIT and the cut sit with the fan-out: a cut is a QUIT, a QUIT is a
 * fan-out, a fan-out (in a post too) can overflow clients, and every
 * entry, posts included, ends by cutting those. Kept in one file, that
 * loop needs no call upwards and no callback.
 */
#ifndef MUXD_PROTO_CHAT_INT_H
#define MUXD_PROTO_CHAT_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "muxd/chunk.h"
#include "muxd/conn.h"
#include "muxd/server.h"
#include "proto/chat/chat.h"
#include "proto/chat/irc.h"
#include "proto/chat/kline.h"
#include "proto/chat/nametab.h"

/* Advertised in 005 (ISUPPORT). */
#define CHAT_NICKLEN 30
#define CHAT_CHANLEN 50
#define CHAT_TOPICLEN 390
#define CHAT_USERLEN 10
#define CHAT_REALLEN 100
#define CHAT_AWAYLEN 200
#define CHAT_KEYLEN 23
#define CHAT_MAX_LIST 100       /* MAXLIST=b:100,e:100,I:100: masks per list */
#define CHAT_MODES 4            /* changes with a parameter per MODE */
#define CHAT_MAX_TARGETS 16     /* TARGMAX: targets of one PRIVMSG, KICK, JOIN... */
#define CHAT_LABEL_MAX 64        /* labeled-response: longer labels are ignored */
/* Room kept in a queue at output_max for the ERROR line of its closing. */
#define CHAT_SENDQ_RESERVE 1024

/* Membership modes. */
enum { MEM_OP = 1, MEM_VOICE = 2 };
/* Channel modes (+n +t +s +i +m; +k and +l are their values). */
enum { CM_N = 1, CM_T = 2, CM_S = 4, CM_I = 8, CM_M = 16 };

/* Client flags: owner-only (others never read them, so the owner may
 * change them without the lock). */
enum {
    CL_NICK = 1 << 0,       /* has a nick (in chat->nicks) */
    CL_USER = 1 << 1,       /* USER given */
    CL_PASS = 1 << 2,       /* the right PASS given */
    CL_CAP = 1 << 3,        /* CAP negotiation open: hold registration */
    CL_REG = 1 << 4,        /* registered (others see `registered`) */
    CL_GONE = 1 << 5,       /* quit: out of every table, closing */
    CL_DOOMED = 1 << 6,     /* over its SendQ: on its worker's doomed list */
    CL_SKIP = 1 << 7,       /* dropping the rest of a too-long line */
    CL_PING = 1 << 8,       /* a PING of ours awaits an answer */
    CL_FLOOD = 1 << 9,      /* paused until the flood bucket refills */
    CL_INVISIBLE = 1 << 10, /* user mode +i */
    CL_CLAIMING = 1 << 11,  /* questions to the network out (asks): input paused */
    CL_CLAIMED = 1 << 12,   /* holds its nick across the network, as uid */
};

/* IRCv3 capabilities (chat_cap.c lists them). The first three pick the
 * variant of a fan-out line a member gets (chat_msg.c): they stay the
 * three low bits, so caps & 7 is the variant's index. */
enum {
    CAP_SERVER_TIME = 1 << 0,
    CAP_MESSAGE_TAGS = 1 << 1,
    CAP_EXTENDED_JOIN = 1 << 2,
    CAP_ECHO_MESSAGE = 1 << 3,
    CAP_BATCH = 1 << 4,
    CAP_LABELED_RESPONSE = 1 << 5,
    CAP_AWAY_NOTIFY = 1 << 6,
    CAP_SETNAME = 1 << 7,
    CAP_INVITE_NOTIFY = 1 << 8,
    CAP_CAP_NOTIFY = 1 << 9,
    CAP_MULTI_PREFIX = 1 << 10,
    CAP_USERHOST_IN_NAMES = 1 << 11,
};
#define CHAT_VARIANTS 8 /* every mix of the three low caps */

/* User modes others read (WHOIS, WHO, WALLOPS, LUSERS): written by the
 * owner under mu (cl_umode_set for the counted ones), read by anyone
 * under mu. UM_INVISIBLE is others' view of CL_INVISIBLE. */
enum { UM_OPER = 1, UM_WALLOPS = 2, UM_INVISIBLE = 4 };

/* Counters with one writer (a worker, or a client's owner) and readers on
 * other threads (a scrape, STATS): a relaxed load and store (no locked
 * add), as muxd's own counters. */
typedef atomic_uint_fast64_t chat_counter;

static inline void chat_count_n(chat_counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void chat_count(chat_counter *c)
{
    chat_count_n(c, 1);
}

static inline uint64_t chat_counter_get(const chat_counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

struct chat_channel;

struct chat_client {
    /* Fixed at creation; a move to another worker changes id and worker
     * while every worker is paused (cl_moved). */
    struct mx_chat *chat;
    struct mx_conn *c;
    uint64_t id;                    /* mx_conn_id */
    unsigned worker;
    char host[64];                  /* the address */
    char vhost[64];                 /* what others see: host, or its cloak */
    bool tls;                       /* its connection is TLS (WHOIS 671) */
    time_t signon;                  /* when it connected (WHOIS 317) */
    /* Written by the owner alone, relaxed; read by anyone under mu
     * (STATS l): the client stays in the nick table until it is gone. */
    chat_counter in_lines, in_bytes, out_lines, out_bytes;
    chat_counter sendq;             /* queued bytes as of its last line out */
    chat_counter last_msg;          /* time(NULL) of its last PRIVMSG/NOTICE */
    /* Owner-only. */
    uint32_t flags;
    uint64_t mark;                  /* fan-out de-duplication stamp */
    struct chat_client *next_doomed;
    uint64_t opened_ms, last_in_ms, ping_ms;
    double tokens;                  /* flood bucket */
    uint64_t tokens_ms;
    struct chat_lr *lr;             /* labeled-response: the command at hand's */
    bool cap302;                    /* CAP LS 302 seen: cap-notify for good */
    unsigned batches;               /* batch references used */
    /* Written by the owner under mu; read by anyone under mu (the owner
     * may read without it: fan-out to a member runs on its owner). */
    uint32_t caps;                  /* CAP_* */
    bool registered;                /* others' view of CL_REG */
    unsigned umodes;                /* UM_* */
    struct nt_node node;            /* in chat->nicks; name = nick */
    char nick[CHAT_NICKLEN + 1];
    char user[CHAT_USERLEN + 1];
    char real[CHAT_REALLEN + 1];
    char *away;
    char *oper;                     /* owner-only: its [oper NAME], or NULL */
    struct chat_channel **chans;    /* global membership */
    unsigned nchans, capchans;
    /* pause_producer (chat_hold.c), owner-only: the producers this client
     * holds back, and how many clients hold this one. */
    uint64_t *held;
    unsigned nheld, capheld;
    unsigned holds;
    uint64_t held_since_ms;         /* when nheld last left 0 */
    unsigned asks;                  /* owner-only: questions to the network out */
    /* Its first id, fixed at creation: who it is on the network, with
     * this node's name, in its nick claim and channel memberships there.
     * A move changes id, not uid. */
    uint64_t uid;
};

/* A channel's mask lists: bans (+b), ban exceptions (+e), invite
 * exceptions (+I). Each holds at most CHAT_MAX_LIST masks in full
 * nick!user@host form (irc_mask_normalise). */
enum chat_list { LIST_BAN, LIST_EXCEPT, LIST_INVEX, CHAT_NLISTS };
struct chat_masks {
    char **v;
    unsigned n;
};

struct chat_member {
    struct chat_client *cl;
    unsigned modes;                 /* MEM_OP | MEM_VOICE */
};

/* A worker's members of a channel: owner-only. */
struct chat_local {
    struct chat_client **v;
    unsigned n, cap;
};

struct chat_channel {
    atomic_uint refs;               /* the registry's + in-flight posts' */
    struct nt_node node;            /* in chat->chans; name = name */
    char name[CHAT_CHANLEN + 1];
    time_t created;
    /* Under mu. */
    bool net_new;                   /* created here, not yet known to the network */
    struct chat_member *m;
    unsigned n, cap;
    unsigned *per_worker;           /* members owned by each worker (wcap) */
    unsigned modes;                 /* CM_* */
    char key[CHAT_KEYLEN + 1];      /* +k when not empty */
    unsigned limit;                 /* +l when not 0 */
    char *topic;
    char topic_by[CHAT_NICKLEN + CHAT_USERLEN + 64 + 3];
    time_t topic_at;
    struct chat_masks lists[CHAT_NLISTS]; /* +b, +e, +I */
    uint64_t *invites;              /* client ids invited (+i) */
    unsigned ninvites;
    /* One per worker (chat->wcap of them), each touched only by that
     * worker. */
    struct chat_local *local;
};

/* A worker's part of the chat state: owner-only. */
/* The settings a reload may change (chat_settings.c): each worker reads
 * only its own pointer, so the strings and numbers here never change
 * under a reader. */
struct chat_settings {
    atomic_uint refs;               /* workers still pointing here */
    struct mx_chat_opts o;          /* its strings are the copies below */
    char *server_name, *password, *motd, *cloak_secret, *config_file;
    struct mx_chat_oper *opers;     /* o.opers: one block with its strings */
    size_t sendq;                   /* output_max - CHAT_SENDQ_RESERVE */
};


/* Commands in chat_cmd.c's table at most (STATS m counts each). */
#define CHAT_MAX_CMDS 48

struct chat_counters {
    chat_counter deliveries;        /* event lines queued (cl_send_chunk) */
    chat_counter sendq_kills;       /* clients cut off over their SendQ */
    chat_counter flood_throttled;   /* lines held back by flood control */
    chat_counter producer_holds;    /* producers held by a congested member */
    chat_counter cmds[CHAT_MAX_CMDS]; /* by row of the command table */
};

/* One cache line or more each: workers write theirs on every fan-out,
 * and neighbours must not share a line. */
struct chat_worker {
    alignas(64) struct chat_settings *set; /* this worker's; swapped by a reload */
    pthread_t tid;
    bool tid_set;
    bool inside;                    /* in an entry (checked with the owner) */
    uint64_t stamp;
    struct chat_client *doomed;     /* over their SendQ: cut at chat_leave */
    bool has_src;                   /* this entry carries out a client's doing: */
    uint64_t src;                   /* its conn id (chat_hold.c) */
    struct chat_client *src_cl;     /* that client, when it is this entry's own */
    struct chat_counters n;
};

/* chat_whowas.c: the nicks that quit or changed, newest last, in a ring
 * of WHOWAS_MAX entries allocated on first use, at most WHOWAS_PER_NICK
 * per nick (casemapped). Not thread-safe: under mu. */
#define WHOWAS_MAX 1024
#define WHOWAS_PER_NICK 8
struct whowas_entry {
    uint64_t hash;                  /* irc_casehash(nick); 0: a free slot */
    time_t when;
    char nick[CHAT_NICKLEN + 1];
    char user[CHAT_USERLEN + 1];
    char host[64];                  /* what others saw (the cloak, if any) */
    char real[CHAT_REALLEN + 1];
};
struct whowas {
    struct whowas_entry *v;         /* cap slots, or NULL before the first */
    unsigned cap, next;             /* next: the slot written next (oldest) */
};
/* Records e (its hash is set here); without memory for the ring, nothing
 * is kept. The oldest entry goes when the ring is full, and the oldest of
 * e's nick when it has per_nick already. */
void whowas_add(struct whowas *w, unsigned cap, unsigned per_nick, const struct whowas_entry *e);
/* Up to max entries for nick, newest first, copied into out: how many. */
unsigned whowas_find(const struct whowas *w, const char *nick, struct whowas_entry *out,
                     unsigned max);
void whowas_free(struct whowas *w);

struct mx_chat {
    struct mx_server *srv;
    unsigned nworkers;
    unsigned wcap;                  /* room per channel: workers it can count */
    time_t created;
    char created_str[64];
    pthread_mutex_t mu;
    struct nametab nicks, chans;
    unsigned nusers;                /* under mu: registered clients */
    /* Under mu, for LUSERS: clients open (registered or not), those with
     * +i, with +o, and the most registered at once. */
    unsigned nclients, ninvisible, nopers, maxusers;
    struct whowas whowas;           /* under mu: nicks gone (chat_whowas.c) */
    unsigned wseen;                 /* workers ever used: their counters */
    struct chat_worker *wk;         /* [MX_MAX_WORKERS], nworkers in use */
    /* K-lines (chat_kline.c): the list, its cap and its generation (one
     * more at each change) under mu; the file and the generation it
     * holds under kfile_mu, taken before mu, never after. */
    struct kline_list klines;
    unsigned max_klines;
    uint64_t kl_gen;
    pthread_mutex_t kfile_mu;
    char *kline_file;
    uint64_t kl_written;
    /* Other nodes (chat_cluster.c): set before the server starts, then
     * only read. has_bus false: a single node. */
    bool has_bus;
    struct mx_chat_bus bus;
    char *node;                     /* this node's name in what it publishes */
    char *subj;                     /* every channel's subject starts with it */
    char *nsubj;                    /* this node's own subject (lines to a nick) */
    char *usubj;                    /* the network's subject (QUIT, NICK) */
};

/* cl's settings: its worker's set. */
static inline const struct chat_settings *cl_set(const struct chat_client *cl)
{
    return cl->chat->wk[cl->worker].set;
}

/* chat_settings.c: a set shared by refs workers; publishing posts it to
 * every worker (each lets go of its old one). -ENOMEM: some workers keep
 * the old set. */
struct chat_settings *chat_settings_new(const struct mx_chat_opts *o, unsigned refs);
void chat_settings_unref(struct chat_settings *s);
int chat_settings_publish(struct mx_chat *chat, struct chat_settings *s);

static inline struct chat_channel *chan_of(struct nt_node *n)
{
    return (struct chat_channel *)((char *)n - offsetof(struct chat_channel, node));
}

/* Worker sets: which workers a fan-out must reach. */
#define CHAT_WSET_WORDS ((MX_MAX_WORKERS + 63) / 64)
struct chat_wset { uint64_t w[CHAT_WSET_WORDS]; };

/* chat_msg.c: a line to fan out, with what its variants need. The plain
 * line is v[0]; the others are built on first need, on any worker (an
 * atomic swap publishes each; a worker that loses the race drops its
 * copy), so each is formatted about once per message, not per member.
 * A member with none of the variant caps gets v[0]: no extra work. */
struct chat_msg {
    atomic_uint refs;
    uint32_t need;                  /* a member needs one of these caps (0: none) */
    uint32_t vmask;                 /* the variant bits this line has */
    struct timespec at;             /* when it happened: @time */
    struct mx_chunk *alt;           /* the extended-join form, or NULL */
    _Atomic(struct mx_chunk *) v[CHAT_VARIANTS];
    size_t ntags;
    char tags[];                    /* client tags (canonical), ntags bytes */
};
/* Takes line (NULL: returns NULL) and alt; tags may be NULL or "". NULL
 * without memory (line and alt are then let go). */
struct chat_msg *chat_msg_new(struct mx_chunk *line, struct mx_chunk *alt, const char *tags,
                              uint32_t need);
struct chat_msg *chat_msg_ref(struct chat_msg *m);
void chat_msg_unref(struct chat_msg *m);
/* The variant for a member with caps, NULL if it needs none of m->need
 * or memory ran out. Borrowed: valid while m is. */
struct mx_chunk *chat_msg_for(struct chat_msg *m, uint32_t caps);
/* A copy of line with "@time=..." (or ";time=..." into its tags) for
 * now; NULL without memory. For lines sent straight to one client. */
struct mx_chunk *chat_time_tagged(const struct mx_chunk *line);

/* chat_send.c: queueing to a client. Past its SendQ a client is doomed
 * (cut off at chat_leave), never cut inside the call: see chat_send.c. */
void cl_send(struct chat_client *cl, const char *p, size_t n);
/* chat_send.c: the membership prefix viewer sees for modes ("@", "+",
 * "" or, with multi-prefix, "@+"), into buf (3 bytes or more): one place
 * for NAMES, WHO and WHOIS. */
const char *chat_prefixes(const struct chat_client *viewer, unsigned modes, char *buf);
/* overflow = pause_producer (chat_hold.c): cl is congested; hold back the
 * producer of the line at hand. Its queue emptied or it goes: let them
 * all go. It moves to another worker: drop its holds both ways. */
void cl_hold_producer(struct chat_client *cl);
bool cl_held_too_long(const struct chat_client *cl);
void cl_release_producers(struct chat_client *cl);
void chat_hold_moved(struct chat_client *cl);
/* A line about someone's doing: with @time for a client that has
 * server-time (formatted here if ch has no tags yet). */
void cl_send_chunk(struct chat_client *cl, struct mx_chunk *ch);
/* m's variant for cl, if cl may have it. */
void cl_send_msg(struct chat_client *cl, struct chat_msg *m);
/* labeled-response: the lines queued to cl between begin and end are the
 * reply to its command labelled label (escaped, at most 64 bytes): one
 * line carries it, several go in a batch, none is an ACK. The state
 * lives on the caller's stack. */
struct chat_lr {
    char label[CHAT_LABEL_MAX * 2 + 1];
    char id[16];                    /* the batch's reference */
    struct mx_chunk *first;         /* the first reply line, held back */
    bool batch;                     /* the batch is open */
};
void cl_label_begin(struct chat_client *cl, struct chat_lr *lr, const char *label);
void cl_label_end(struct chat_client *cl);
void cl_printf(struct chat_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cl_numeric(struct chat_client *cl, unsigned num, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "nick" or "*" before there is one. */
const char *cl_target(const struct chat_client *cl);
/* A formatted line as a chunk (NULL on ENOMEM). */
struct mx_chunk *chat_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct mx_chunk *chat_vline(const char *fmt, va_list ap);

/* chat_state.c: the tables. Under mu unless said; nothing here sends. */
struct chat_channel *chan_new(struct mx_chat *chat, const char *name);
/* Any thread, no lock: a reference keeps a channel's memory, not its
 * place in the registry. */
void chan_ref(struct chat_channel *ch);
void chan_unref(struct chat_channel *ch);
/* ch's topic becomes text (NULL or "": none), set by by at at. */
void chan_set_topic(struct chat_channel *ch, const char *text, const char *by, time_t at);
/* ch (loaded from the network for a JOIN that was refused) goes if it has
 * no members. */
void chan_drop_empty(struct mx_chat *chat, struct chat_channel *ch);
/* Appends mask (normalised already: the network's copy) to ch's list l,
 * within CHAT_MAX_LIST. */
void chan_list_add(struct chat_channel *ch, enum chat_list l, const char *mask);
/* At mx_chat_free: the registry's references. */
void chat_chans_free(struct mx_chat *chat);
struct chat_channel *chan_find(struct mx_chat *chat, const char *name);
/* Registered or not. */
struct chat_client *cl_by_nick(struct mx_chat *chat, const char *nick);
/* Registered only: the clients that can be talked to or about. */
struct chat_client *cl_registered(struct mx_chat *chat, const char *nick);
struct chat_member *chan_member(struct chat_channel *ch, const struct chat_client *cl);
bool cl_on(const struct chat_client *cl, const struct chat_channel *ch);
/* Does cl (its shown host or its address) match a mask of list? */
bool chan_listed(const struct chat_channel *ch, enum chat_list list,
                 const struct chat_client *cl);
/* Banned and not excepted (+b without a matching +e). */
bool chan_banned(const struct chat_channel *ch, const struct chat_client *cl);
/* On cl's worker: cl joins or leaves ch, its global membership and its
 * place in the worker's local list together. A failed add leaves nothing
 * behind (an empty new ch is retired). member_del retires an emptied
 * channel: a caller that uses ch after must hold a reference. */
int member_add(struct mx_chat *chat, struct chat_channel *ch, struct chat_client *cl,
               unsigned modes);
void member_del(struct mx_chat *chat, struct chat_channel *ch, struct chat_client *cl);
/* cl's nick becomes nick in the nick table (free: the caller checked). */
void cl_rename(struct chat_client *cl, const char *nick);
/* An unregistered cl loses its nick (its claim across the network failed). */
void cl_unname(struct chat_client *cl);
/* Out of the nick table (and its claim across the network let go), and
 * gone for good. */
void cl_forget(struct chat_client *cl);
/* On cl's owner, under mu or not: cl's network claim (CL_CLAIMED) on its
 * nick is let go. */
void cl_release_claim(struct chat_client *cl);
/* Turns user modes bits on or off in cl->umodes, keeping the LUSERS
 * counts of UM_INVISIBLE and UM_OPER. */
void cl_umode_set(struct chat_client *cl, unsigned bits, bool on);
/* Under mu: a registered cl's nick, user, host and real name go into the
 * WHOWAS history (it quits or takes another nick). */
void cl_whowas_record(struct chat_client *cl);
/* Every worker paused, under mu: cl's connection moved to worker `worker`
 * as id (it was old_id): its local places, counts and invitations follow. */
void cl_moved(struct chat_client *cl, unsigned worker, uint64_t id, uint64_t old_id);
/* Every worker paused, under mu: room in every channel for n workers. */
int chat_chans_grow(struct mx_chat *chat, unsigned n);

/* chat_fanout.c: an audience is the channels a line goes to, referenced
 * under mu with the workers holding their members; the line is then
 * formatted once, not under mu, and fanned out: queued directly to the
 * calling worker's members, by one post to each other worker's. */
#define CHAT_AUD_INLINE 8
struct chat_aud {
    struct mx_chat *chat;
    unsigned self;                  /* the calling worker */
    unsigned n, cap;
    struct chat_channel **v;        /* inl, or on the heap */
    struct chat_wset ws;
    struct chat_channel *inl[CHAT_AUD_INLINE];
};
/* Not under mu: room for want channels (fewer without memory). */
void aud_init(struct chat_aud *a, const struct chat_client *cl, unsigned want);
/* Under mu: false when there is no more room. */
bool aud_add(struct chat_aud *a, struct chat_channel *ch);
/* Not under mu: line (NULL sends nothing) to each member once, skip
 * aside; then the audience lets its channels go. */
void aud_line(struct chat_aud *a, struct mx_chunk *line, const struct chat_client *skip);
/* The same with a message (taken; NULL sends nothing): each member gets
 * the variant its capabilities ask for (chat_msg.c). */
void aud_msg(struct chat_aud *a, struct chat_msg *m, const struct chat_client *skip);
/* cl's JOIN line to chan, with its extended-join form. */
struct chat_msg *chat_join_msg(const struct chat_client *cl, const char *chan);
/* cl's JOIN to the audience (its new channel), the joiner too: the
 * extended-join form to members with it; then, if cl is away, AWAY to
 * those with away-notify (not cl). Lets the audience go. */
void aud_join(struct chat_aud *a, struct chat_client *cl, const char *chan);
/* Not under mu: m (taken) to everyone sharing a channel with cl, and to
 * cl itself when self_too. */
void chat_tell_peers(struct chat_client *cl, struct chat_msg *m, bool self_too);
/* The same, formatting the line only when there is someone to send to. */
void aud_send(struct chat_aud *a, const struct chat_client *skip, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Not on a worker (the cluster bus thread): m (taken) to the members of
 * the channels names (at most CHAT_POSTED_MAX; those that exist here) on
 * every worker, once each, by a post to each worker. */
#define CHAT_POSTED_MAX 128
void chan_fanout_posted(struct mx_chat *chat, const char *const *names, unsigned n,
                        struct chat_msg *m);
/* Any thread: m (not taken) to the client of conn id to_id, by a post,
 * if it is still there. */
void chat_post_msg(struct mx_chat *chat, uint64_t to_id, struct chat_msg *m);
/* Delivers line to client `to`, read under mu with its worker and id: on
 * the calling worker directly (the pointer stays valid: only its owner
 * frees a client, in its on_close, an entry of its own), else by a post
 * to its id, which finds nothing if it has gone. */
void chat_send_to(struct mx_chat *chat, unsigned self, struct chat_client *to,
                  unsigned to_worker, uint64_t to_id, struct mx_chunk *line);
/* The same with a message (not taken): to's variant of it. */
void chat_send_msg_to(struct mx_chat *chat, unsigned self, struct chat_client *to,
                      unsigned to_worker, uint64_t to_id, struct chat_msg *m);

/* Not under mu; cl is on ch: line (an INVITE of target, not taken) to
 * ch's operators with invite-notify, but cl and the target. */
void chat_invite_notify(struct chat_client *cl, struct chat_channel *ch, uint64_t target,
                        struct mx_chunk *line);

/* Removes cl from every channel and the nick table; QUIT to its peers. */
void chat_quit(struct chat_client *cl, const char *reason);
/* QUIT to its channels (if not done yet), an ERROR line, then a graceful
 * close; why is logged with the peer when log is set. */
void chat_close_link(struct chat_client *cl, const char *why, bool log);
/* Every entry point (callback, timer, post) brackets its work with these.
 * They never nest: muxd calls each from its loop, never inside a call the
 * protocol made (on_close included; checked with the owner). Leaving cuts
 * off the clients that went over their SendQ meanwhile. */
struct chat_worker *chat_enter(struct mx_chat *chat, unsigned worker);
void chat_leave(struct chat_worker *wk);

/* chat_kline.c: K-lines. Not under mu (they take it). */
void chat_cmd_kline(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_unkline(struct chat_client *cl, struct irc_msg *m);
/* STATS k: 216 per K-line in force, operators only (481). */
void chat_stats_k(struct chat_client *cl);
/* At registration: a K-lined cl gets 465 and its link closed; true then. */
bool chat_kline_refuse(struct chat_client *cl);
/* Any thread: closes the link of conn id on its owner with why (copied),
 * if it is still there. */
void chat_close_post(struct mx_chat *chat, uint64_t id, const char *why);
/* mx_chat_new, mx_chat_reload, mx_chat_free: o's K-lines and file. */
int chat_klines_init(struct mx_chat *chat, const struct mx_chat_opts *o);
void chat_klines_reload(struct mx_chat *chat, const struct mx_chat_opts *o);
void chat_klines_free(struct mx_chat *chat);

/* chat_chan.c: joining and leaving on the member's own worker, NOT under
 * mu (they take it). */
void chat_join(struct chat_client *cl, const char *name, const char *key);
/* JOIN's list (n names, the first nk with keys), in order; with other
 * nodes, a channel this node lacks is first looked up in the network (cl's
 * input waits), so its key, bans and limits hold here too. */
#define MAX_JOIN CHAT_MAX_TARGETS
void chat_join_list(struct chat_client *cl, char *const *names, char *const *keys, unsigned n,
                    unsigned nk);
void chat_part(struct chat_client *cl, const char *name, const char *reason);
void chat_part_all(struct chat_client *cl);
/* On the target's owner: carries out a KICK decided elsewhere; the line
 * goes to the other nodes too when publish (false: another node's KICK,
 * which it published). */
void chat_kick_apply(struct chat_client *target, struct chat_channel *ch,
                     struct mx_chunk *line, bool publish);
/* Any thread, under mu or not: has the KICK carried out on the owner of
 * conn id. Takes line (NULL: nothing happens) and a reference to ch. */
void chat_kick_post(struct mx_chat *chat, uint64_t id, struct chat_channel *ch,
                    struct mx_chunk *line, bool publish);
/* Under mu: sends the NAMES reply for ch to cl (353s and 366), then the
 * other nodes' members the network listed in nc (NULL: none). */
struct chat_netchan;
void chan_names(struct chat_client *cl, struct chat_channel *ch, const struct chat_netchan *nc);
void chan_topic_reply(struct chat_client *cl, struct chat_channel *ch, bool none_too);
/* Not under mu: the NAMES reply for channel chan to cl, other nodes'
 * members included (then later: cl's next lines wait for it). */
void chat_names_reply(struct chat_client *cl, const char *chan);

/* chat_query.c and chat_nicks.c: the queries, NOT under mu (they take it). */
void chat_cmd_who(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_whois(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_whowas(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_names(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_list(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_ison(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_userhost(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_lusers(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_time(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_admin(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_info(struct chat_client *cl, struct irc_msg *m);
/* chat_help.c */
void chat_cmd_help(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_links(struct chat_client *cl, struct irc_msg *m);
/* The LUSERS reply (251 to 266), also in the welcome burst. */
void chat_lusers(struct chat_client *cl);
/* Is target (a server mask or a nick) this server? If not, 402 to cl. */
bool chat_target_here(struct chat_client *cl, const char *target);
/* chat_reg.c, on cl's owner: another client got cl's nick on the network
 * while this node was cut off: cl takes a guest nick, as if by NICK. */
void chat_nick_collided(struct chat_client *cl);
/* chat_cmd.c: a comma list split in place into at most max items; s's
 * length cut to max bytes (TOPICLEN...), never inside a UTF-8 sequence. */
unsigned chat_split_commas(char *s, char **out, unsigned max);
int chat_text_len(const char *s, size_t max);
/* chat_chanop.c: TOPIC, KICK, INVITE. */
void chat_cmd_topic(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_kick(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_invite(struct chat_client *cl, struct irc_msg *m);
/* chat_cap.c: IRCv3. CAP LS, LIST and REQ (END is chat_reg.c's: it
 * registers); SETNAME. */
void chat_cap(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_setname(struct chat_client *cl, struct irc_msg *m);

/* chat_reg.c */
void chat_cmd_pass(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_nick(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_user(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_cap(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_motd(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_version(struct chat_client *cl, struct irc_msg *m);

/* chat_mode.c */
void chat_cmd_mode(struct chat_client *cl, struct irc_msg *m);
/* Not under mu: another node's MODE line (line: NUL-terminated, no CRLF;
 * parsed in place) changes channel chan here too, without replies. */
void chat_mode_remote(struct mx_chat *chat, const char *chan, char *line);

/* chat_oper.c: IRC operators. chat_is_oper reads cl's umodes: the owner
 * without mu, anyone else under it. */
bool chat_is_oper(const struct chat_client *cl);
void chat_cmd_oper(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_kill(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_wallops(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_rehash(struct chat_client *cl, struct irc_msg *m);
void chat_cmd_die(struct chat_client *cl, struct irc_msg *m);
/* STATS u (242) and l (211 per client, operators only: 481). */
void chat_stats_u(struct chat_client *cl);
void chat_stats_l(struct chat_client *cl);

/* chat_cmd.c */
void chat_dispatch(struct chat_client *cl, struct irc_msg *m);

/* chat_metrics.c: mx_chat_proto's metrics callback (muxd/proto.h). */
void chat_metrics(void *proto_data, void (*emit)(void *sink, const struct mx_metric *m),
                  void *sink);

#define chat_lock(chat) pthread_mutex_lock(&(chat)->mu)
#define chat_unlock(chat) pthread_mutex_unlock(&(chat)->mu)

/* What the chat core says to and asks of the other nodes: its own header
 * for length's sake, part of this one (it needs the types above). */
#include "proto/chat/chat_net.h"

#endif
