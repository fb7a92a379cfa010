/* cluster_recorder.h - the chat core's cluster tests' bus and clients
 * (test_chat_cluster.c, test_chat_cluster_remote.c): a recording bus that
 * notes each subscribe, publish, nick claim and channel membership and
 * answers the question of a channel's members on other nodes, and chat
 * clients fed through the fixture (chat_fixture.h). Each test file
 * includes it into a binary of its own; the functions are CHAT_FX_FN, so
 * a file that uses some of them only gets no -Wunused-function.
 */
#ifndef MUXD_TESTS_CLUSTER_RECORDER_H
#define MUXD_TESTS_CLUSTER_RECORDER_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/outq.h"
#include "muxd/log.h"
#include "proto/chat/chat.h"
#include "proto/chat/chat_int.h"
#include "reactor/clock.h"
#include "reactor/conn.h"
#include "reactor/server.h"

/* The fixture's failures fail the test (NWORKERS comes from it: 2). */
#define CHAT_FX_FAIL(why) cr_assert_fail("%s", why)
#include "chat_fixture.h"

#define NODE "node-a"
#define OTHER "node-b"
#define PREFIX "muxd:irc:"
/* A channel's subject: the prefix, "c:", its casefolded name. */
#define SUBJ(chan) PREFIX "c:" chan
/* The network's subject: QUIT and NICK lines, with their channels. */
#define USUBJ PREFIX "u"

/* ---- the recording bus --------------------------------------------------- */

/* Channel messages (publish, subscribe) are what these tests are about.
 * Nick claims, their release and lines to nicks elsewhere are the bus's
 * too: the recorder grants every claim, as a bus with no other node
 * would, answering on "its thread" (answer_claims, from settle), and
 * reaches no other node for a nick. */
#define MAX_CALLS 16
struct sub_call {
    char subject[256];
    bool on;
};
struct pub_call {
    char subject[256];
    char payload[2048];             /* without AT: "NODE\nNEED\nTAGS\n..." */
    size_t len;
    char at[32];                    /* the AT that was after NEED */
};
struct claim_call {
    void (*done)(void *ctx, int r);
    void *ctx;
};
/* Memberships: every JOIN, PART, KICK, QUIT and NICK of a registered
 * client records one per channel (the clients a test's .fini cuts off
 * too: the array keeps the first ones, nmember counts them all). */
#define MAX_MEMBER_CALLS 64
struct member_call {
    char chan[128];
    uint64_t uid;
    char who[256];
    char status[8];             /* its last line: o, v, i */
    bool on;                    /* who given, not NULL */
};
/* A channel's members on every node, asked for by JOIN and NAMES: the
 * recorder answers (from settle, as the bus's thread would) with the
 * entries in answer, or as a network that cannot be reached; or leaves
 * them out while hold_members. */
typedef void members_done_fn(void *ctx, const char *const *v, const size_t *lens, unsigned n);
struct members_call {
    char chan[128];
    members_done_fn *done;
    void *ctx;
};
static struct {
    struct sub_call sub[MAX_CALLS];
    struct pub_call pub[MAX_CALLS];
    unsigned nsub, npub;
    struct claim_call claim[MAX_CALLS];
    unsigned nclaim, nanswered;
    unsigned refuse_claims;         /* the next ones are answered 0: held elsewhere */
    struct member_call member[MAX_MEMBER_CALLS];
    unsigned nmember;
    struct members_call members[MAX_MEMBER_CALLS];
    unsigned nmembers, nmembers_answered;
    bool hold_members;          /* settle leaves members calls unanswered */
    bool members_fail;          /* they are answered as Redis lost (v NULL) */
    const char *answer[8];      /* "NODE UID\nnick!user@host" each */
    unsigned nanswer;
    unsigned ncalls;            /* of any function of the bus */
} rec;

static int bus_arg_token;       /* its address is the bus's arg */

CHAT_FX_FN void called(void *arg)
{
    rec.ncalls++;
    cr_assert_eq(arg, &bus_arg_token, "the bus was called with another arg");
}

CHAT_FX_FN int rec_publish(void *arg, const char *subject, const void *payload, size_t len)
{
    called(arg);
    cr_assert_lt(rec.npub, MAX_CALLS);
    struct pub_call *p = &rec.pub[rec.npub++];
    snprintf(p->subject, sizeof p->subject, "%s", subject);
    cr_assert_lt(len, sizeof p->payload);
    memcpy(p->payload, payload, len);
    p->payload[len] = '\0';
    /* AT (when it happened) goes to its own field: the tests compare the
     * rest as it must be, and AT alone where it matters. */
    char *nl = strchr(p->payload, '\n'), *sp = nl ? strchr(nl, ' ') : NULL;
    char *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
    if (sp && nl2 && sp < nl2) {
        snprintf(p->at, sizeof p->at, "%.*s", (int)(nl2 - sp - 1), sp + 1);
        memmove(sp, nl2, strlen(nl2) + 1);
    }
    p->len = strlen(p->payload);
    return 0;
}

CHAT_FX_FN void rec_subscribe(void *arg, const char *subject, bool on)
{
    called(arg);
    cr_assert_lt(rec.nsub, MAX_CALLS);
    struct sub_call *s = &rec.sub[rec.nsub++];
    snprintf(s->subject, sizeof s->subject, "%s", subject);
    s->on = on;
}

CHAT_FX_FN int rec_claim(void *arg, uint64_t id, const char *nick, const char *info,
                     void (*done)(void *ctx, int r), void *ctx)
{
    (void)id;
    (void)nick;
    (void)info;
    called(arg);
    cr_assert_lt(rec.nclaim, MAX_CALLS);
    rec.claim[rec.nclaim++] = (struct claim_call){ done, ctx };
    return 0;
}

CHAT_FX_FN void rec_release(void *arg, uint64_t id, const char *nick)
{
    (void)id;
    (void)nick;
    called(arg);
}

CHAT_FX_FN int rec_to_nick(void *arg, const char *nick, const void *payload, size_t len,
                       const char *invite, void (*done)(void *ctx, int r), void *ctx)
{
    (void)nick;
    (void)payload;
    (void)len;
    (void)invite;
    (void)done;
    (void)ctx;
    called(arg);
    return -1;                  /* unreachable: done never runs */
}

CHAT_FX_FN void rec_member(void *arg, const char *chan, uint64_t uid, const char *who,
                       const char *modes)
{
    (void)modes;
    called(arg);
    if (rec.nmember < MAX_MEMBER_CALLS) {
        struct member_call *m = &rec.member[rec.nmember];
        snprintf(m->chan, sizeof m->chan, "%s", chan);
        m->uid = uid;
        /* "nick!user@host\nreal name\nSTATUS": the tests compare the first
         * line and the last. */
        snprintf(m->who, sizeof m->who, "%.*s", who ? (int)strcspn(who, "\n") : 0,
                 who ? who : "");
        const char *st = who ? strrchr(who, '\n') : NULL;
        snprintf(m->status, sizeof m->status, "%s", st && st != strchr(who, '\n') ? st + 1 : "");
        m->on = who != NULL;
    }
    rec.nmember++;
}

CHAT_FX_FN int rec_members(void *arg, const char *chan, members_done_fn *done, void *ctx)
{
    called(arg);
    cr_assert_lt(rec.nmembers, MAX_MEMBER_CALLS);
    struct members_call *m = &rec.members[rec.nmembers++];
    snprintf(m->chan, sizeof m->chan, "%s", chan);
    m->done = done;
    m->ctx = ctx;
    return 0;
}

static const struct mx_chat_bus rec_bus = {
    .arg = &bus_arg_token, .publish = rec_publish, .subscribe = rec_subscribe,
    .claim = rec_claim, .release = rec_release, .to_nick = rec_to_nick,
    .member = rec_member, .members = rec_members,
};

/* The bus's thread: every claim asked is granted. */
CHAT_FX_FN bool answer_claims(void)
{
    bool any = false;
    while (rec.nanswered < rec.nclaim) {
        struct claim_call *k = &rec.claim[rec.nanswered++];
        int r = rec.refuse_claims ? 0 : 1;
        rec.refuse_claims -= rec.refuse_claims ? 1 : 0;
        k->done(k->ctx, r);
        any = true;
    }
    return any;
}

/* The bus's thread: every members call is answered with answer[] (or
 * as unreachable), unless they are held. */
CHAT_FX_FN bool answer_members(void)
{
    bool any = false;
    size_t lens[8];
    for (unsigned i = 0; i < rec.nanswer; i++)
        lens[i] = strlen(rec.answer[i]);
    while (!rec.hold_members && rec.nmembers_answered < rec.nmembers) {
        struct members_call *m = &rec.members[rec.nmembers_answered++];
        if (rec.members_fail)
            m->done(m->ctx, NULL, NULL, 0);
        else
            m->done(m->ctx, rec.answer, lens, rec.nanswer);
        any = true;
    }
    return any;
}

CHAT_FX_FN void forget_calls(void)
{
    rec.nsub = rec.npub = rec.nmember = 0;
}

/* ---- the server: two workers, one chat listener -------------------------- */

static struct chat_fixture S;

CHAT_FX_FN void start(bool with_bus)
{
    memset(&rec, 0, sizeof rec);
    mx_log_set_level(MX_LOG_ERROR);
    /* Room enough that nobody is ever cut off for its SendQ here. */
    chat_fx_server(&S, 256 * 1024);
    const struct mx_chat_opts o = chat_fx_calm_opts("test.local", S.srv.opts.output_max);
    chat_fx_start(&S, &o);
    /* Before any client, as the daemon does before the server starts. */
    if (with_bus)
        cr_assert_eq(mx_chat_set_bus(S.chat, &rec_bus, NODE, PREFIX), 0);
    chat_fx_listen(&S);
}

CHAT_FX_FN void start_with_bus(void)
{
    start(true);
}

CHAT_FX_FN void start_without_bus(void)
{
    start(false);
}

/* What a loop owes, on both workers, until nothing is: the bus's answers
 * given, inboxes drained (fan-out posts), on_close calls and flushes run. */
CHAT_FX_FN void settle(void)
{
    for (int round = 0; round < 100; round++) {
        size_t n = answer_claims();
        n += answer_members();
        n += chat_fx_round(&S);
        if (n == 0)
            return;
    }
    cr_assert_fail("the workers keep posting to each other");
}

CHAT_FX_FN void stop(void)
{
    settle();
    chat_fx_abort_all(&S);
    settle();
    chat_fx_free(&S);
}

/* ---- clients ------------------------------------------------------------- */

struct client {
    unsigned worker;
    uint64_t tag;               /* the connection, found again by it */
};

/* A connected UDP socket: getpeername gives 127.0.0.1 (no packet is ever
 * sent; the backend is fake), so the client has a host like any other. */
CHAT_FX_FN int peer_fd(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    (void)connect(fd, (struct sockaddr *)&a, sizeof a); /* else: host "unknown" */
    return fd;
}

CHAT_FX_FN struct mx_conn *conn_of(const struct client *c)
{
    struct mx_conn *conn = mx__worker_lookup(&S.w[c->worker], c->tag);
    cr_assert_not_null(conn, "the client's connection is gone");
    return conn;
}

CHAT_FX_FN struct chat_client *chat_client_of(const struct client *c)
{
    return mx_conn_data(conn_of(c));
}

/* Bytes from the client, then the loops run until they are settled. */
CHAT_FX_FN void say(const struct client *c, const char *text)
{
    mx__conn_recv(conn_of(c), text, strlen(text));
    settle();
}

/* What the client was sent since last asked (consumed, as if written). */
CHAT_FX_FN char *take(const struct client *c)
{
    struct mx_conn *conn = conn_of(c);
    char *text = fake_queued_text(conn);
    chat_fx_written(conn, conn->out.bytes);
    return text;
}

/* A registered client on worker, with the capabilities caps (a CAP REQ
 * list, or NULL), its welcome taken. */
CHAT_FX_FN struct client user(const char *nick, unsigned worker, const char *caps)
{
    struct mx_conn *conn = chat_fx_open(&S, worker, peer_fd());
    cr_assert_not_null(conn);
    struct client c = { .worker = worker, .tag = mx__conn_tag(conn) };
    char line[256];
    if (caps) {
        snprintf(line, sizeof line, "CAP REQ :%s\r\n", caps);
        say(&c, line);
    }
    snprintf(line, sizeof line, "NICK %s\r\nUSER %s 0 * :%s\r\n", nick, nick, nick);
    say(&c, line);
    if (caps)
        say(&c, "CAP END\r\n");
    cr_assert(chat_client_of(&c)->registered, "%s did not register: %s", nick, take(&c));
    take(&c);
    return c;
}

/* What each client of v (NULL-ended) was sent, taken and dropped. */
CHAT_FX_FN void take_each(const struct client *const *v)
{
    for (; *v; v++)
        take(*v);
}

/* Each client of v (NULL-ended) was sent nothing; why says after what. */
CHAT_FX_FN void assert_none_got(const struct client *const *v, const char *why)
{
    for (; *v; v++)
        cr_assert_str_eq(take(*v), "", "%s: %s got it", why, chat_client_of(*v)->nick);
}

/* c joins chan; what the join sent everyone is taken by the caller. */
CHAT_FX_FN void join(const struct client *c, const char *chan)
{
    char line[128];
    snprintf(line, sizeof line, "JOIN %s\r\n", chan);
    say(c, line);
}

/* ":nick!user@host" of c, as others see it. */
CHAT_FX_FN const char *source_of(const struct client *c)
{
    static char buf[256];
    const struct chat_client *cl = chat_client_of(c);
    snprintf(buf, sizeof buf, ":%s!%s@%s", cl->nick, cl->user, cl->vhost);
    return buf;
}

/* The payload chat publishes for a line of c's: NODE, NEED, TAGS, LINE. */
CHAT_FX_FN const char *payload_of(const struct client *c, unsigned need, const char *tags,
                              const char *rest)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s\n%u\n%s\n%s %s\r\n", NODE, need, tags, source_of(c), rest);
    return buf;
}

/* The payload of c's JOIN to chan: the line, then its extended-join form. */
CHAT_FX_FN const char *join_payload_of(const struct client *c, const char *chan)
{
    static char buf[1024];
    char rest[128];
    snprintf(rest, sizeof rest, "JOIN :%s", chan);
    int n = snprintf(buf, sizeof buf, "%s", payload_of(c, 0, "", rest));
    snprintf(buf + n, sizeof buf - (size_t)n, "%s JOIN %s * :%s\r\n", source_of(c), chan,
             chat_client_of(c)->real);
    return buf;
}

/* As the bus's thread hands it over: chat posts it to the workers. */
CHAT_FX_FN void post_from_bus(const char *subject, const char *payload)
{
    mx_chat_bus_message(S.chat, subject, strlen(subject), payload, strlen(payload));
}

/* The same, then the loops run (the posts delivered). */
CHAT_FX_FN void from_bus(const char *subject, const char *payload)
{
    post_from_bus(subject, payload);
    settle();
}

CHAT_FX_FN void assert_sub(unsigned i, const char *subject, bool on)
{
    cr_assert_lt(i, rec.nsub, "subscribe call %u was not made", i);
    cr_assert_str_eq(rec.sub[i].subject, subject);
    cr_assert_eq(rec.sub[i].on, on, "subscribe %s: on is %d", subject, rec.sub[i].on);
}

/* "nick!user@host" of c, as the network's lists keep it. */
CHAT_FX_FN const char *who_of(const struct client *c)
{
    return source_of(c) + 1;
}

#endif
