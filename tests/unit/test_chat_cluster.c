/* test_chat_cluster.c - the chat core's side of its cluster bus
 * (chat_cluster.c, docs/cluster.md): what it asks of the bus and what it
 * does with what the bus brings. The bus here is a recorder: plain
 * functions that note each subscribe and publish (and grant nick claims),
 * each channel membership, and answer the question of a channel's members
 * on other nodes; the real one (Redis, on a thread of its own) is the
 * integration tests' business.
 *
 * Chat runs for real, without sockets: a server of two workers on the
 * fake backend (fake_backend.h), one chat listener, clients fed bytes
 * through mx__conn_recv (chat_fixture.h, as tests/fuzz/fuzz_chat_cmd.c and
 * fuzz_cluster_msg.c make it). The test plays both workers' loops on its
 * own thread: after each input it drains
 * both inboxes (the posts between workers, and those the bus's thread
 * would make) and ends their turns. What a client was sent stays in its
 * output queue (the backend writes nothing) until the test takes it.
 */
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

static void called(void *arg)
{
    rec.ncalls++;
    cr_assert_eq(arg, &bus_arg_token, "the bus was called with another arg");
}

static int rec_publish(void *arg, const char *subject, const void *payload, size_t len)
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

static void rec_subscribe(void *arg, const char *subject, bool on)
{
    called(arg);
    cr_assert_lt(rec.nsub, MAX_CALLS);
    struct sub_call *s = &rec.sub[rec.nsub++];
    snprintf(s->subject, sizeof s->subject, "%s", subject);
    s->on = on;
}

static int rec_claim(void *arg, uint64_t id, const char *nick, const char *info,
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

static void rec_release(void *arg, uint64_t id, const char *nick)
{
    (void)id;
    (void)nick;
    called(arg);
}

static int rec_to_nick(void *arg, const char *nick, const void *payload, size_t len,
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

static void rec_member(void *arg, const char *chan, uint64_t uid, const char *who,
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

static int rec_members(void *arg, const char *chan, members_done_fn *done, void *ctx)
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
static bool answer_claims(void)
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
static bool answer_members(void)
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

static void forget_calls(void)
{
    rec.nsub = rec.npub = rec.nmember = 0;
}

/* ---- the server: two workers, one chat listener -------------------------- */

static struct chat_fixture S;

static void start(bool with_bus)
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

static void start_with_bus(void)
{
    start(true);
}

static void start_without_bus(void)
{
    start(false);
}

/* What a loop owes, on both workers, until nothing is: the bus's answers
 * given, inboxes drained (fan-out posts), on_close calls and flushes run. */
static void settle(void)
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

static void stop(void)
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
static int peer_fd(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    (void)connect(fd, (struct sockaddr *)&a, sizeof a); /* else: host "unknown" */
    return fd;
}

static struct mx_conn *conn_of(const struct client *c)
{
    struct mx_conn *conn = mx__worker_lookup(&S.w[c->worker], c->tag);
    cr_assert_not_null(conn, "the client's connection is gone");
    return conn;
}

static struct chat_client *chat_client_of(const struct client *c)
{
    return mx_conn_data(conn_of(c));
}

/* Bytes from the client, then the loops run until they are settled. */
static void say(const struct client *c, const char *text)
{
    mx__conn_recv(conn_of(c), text, strlen(text));
    settle();
}

/* What the client was sent since last asked (consumed, as if written). */
static char *take(const struct client *c)
{
    struct mx_conn *conn = conn_of(c);
    char *text = fake_queued_text(conn);
    chat_fx_written(conn, conn->out.bytes);
    return text;
}

/* A registered client on worker, with the capabilities caps (a CAP REQ
 * list, or NULL), its welcome taken. */
static struct client user(const char *nick, unsigned worker, const char *caps)
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
static void take_each(const struct client *const *v)
{
    for (; *v; v++)
        take(*v);
}

/* Each client of v (NULL-ended) was sent nothing; why says after what. */
static void assert_none_got(const struct client *const *v, const char *why)
{
    for (; *v; v++)
        cr_assert_str_eq(take(*v), "", "%s: %s got it", why, chat_client_of(*v)->nick);
}

/* c joins chan; what the join sent everyone is taken by the caller. */
static void join(const struct client *c, const char *chan)
{
    char line[128];
    snprintf(line, sizeof line, "JOIN %s\r\n", chan);
    say(c, line);
}

/* ":nick!user@host" of c, as others see it. */
static const char *source_of(const struct client *c)
{
    static char buf[256];
    const struct chat_client *cl = chat_client_of(c);
    snprintf(buf, sizeof buf, ":%s!%s@%s", cl->nick, cl->user, cl->vhost);
    return buf;
}

/* The payload chat publishes for a line of c's: NODE, NEED, TAGS, LINE. */
static const char *payload_of(const struct client *c, unsigned need, const char *tags,
                              const char *rest)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s\n%u\n%s\n%s %s\r\n", NODE, need, tags, source_of(c), rest);
    return buf;
}

/* The payload of c's JOIN to chan: the line, then its extended-join form. */
static const char *join_payload_of(const struct client *c, const char *chan)
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
static void post_from_bus(const char *subject, const char *payload)
{
    mx_chat_bus_message(S.chat, subject, strlen(subject), payload, strlen(payload));
}

/* The same, then the loops run (the posts delivered). */
static void from_bus(const char *subject, const char *payload)
{
    post_from_bus(subject, payload);
    settle();
}

static void assert_sub(unsigned i, const char *subject, bool on)
{
    cr_assert_lt(i, rec.nsub, "subscribe call %u was not made", i);
    cr_assert_str_eq(rec.sub[i].subject, subject);
    cr_assert_eq(rec.sub[i].on, on, "subscribe %s: on is %d", subject, rec.sub[i].on);
}

/* ==== 1. subscribing while the channel has members here =================== */

TestSuite(subscribe, .init = start_with_bus, .fini = stop);

Test(subscribe, the_first_join_subscribes_the_casefolded_subject_once)
{
    struct client a = user("alice", 0, NULL);
    cr_assert_eq(rec.nsub, 0, "a client alone subscribed something");
    join(&a, "#Chan");
    cr_assert_eq(rec.nsub, 1);
    assert_sub(0, SUBJ("#chan"), true);
    /* The JOIN goes to the other nodes' members as a line of the channel. */
    cr_assert_eq(rec.npub, 1, "the JOIN was published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#chan"));
    cr_assert_str_eq(rec.pub[0].payload, join_payload_of(&a, "#Chan"));
    /* When it happened, for the others' @time: SECONDS.NANOSECONDS. */
    long long sec;
    long nsec;
    char tail;
    cr_assert_eq(sscanf(rec.pub[0].at, "%lld.%ld%c", &sec, &nsec, &tail), 2, "AT '%s'",
                 rec.pub[0].at);
    cr_assert(sec > 1700000000LL && nsec >= 0 && nsec < 1000000000L, "AT '%s'", rec.pub[0].at);
}

Test(subscribe, casefolding_is_rfc1459)
{
    struct client a = user("alice", 0, NULL);
    /* rfc1459: "[]\^" are the capitals of "{}|~". */
    join(&a, "#Foo[X]\\^");
    cr_assert_eq(rec.nsub, 1);
    assert_sub(0, SUBJ("#foo{x}|~"), true);
}

Test(subscribe, a_second_member_does_not_subscribe_again)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL),
                  c = user("carol", 0, NULL);
    join(&a, "#chan");
    join(&b, "#CHAN");      /* another worker, another case: the same channel */
    join(&c, "#chan");      /* the first one's worker */
    cr_assert_eq(rec.nsub, 1, "subscribed %u times", rec.nsub);
}

Test(subscribe, the_last_part_unsubscribes)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#Chan");
    join(&b, "#chan");
    say(&a, "PART #chan\r\n");
    cr_assert_eq(rec.nsub, 1, "a PART with a member left unsubscribed");
    say(&b, "PART #CHAN :bye\r\n");
    cr_assert_eq(rec.nsub, 2);
    assert_sub(1, SUBJ("#chan"), false);
}

Test(subscribe, the_last_quit_unsubscribes)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    say(&b, "QUIT :later\r\n");
    cr_assert_eq(rec.nsub, 1, "a QUIT with a member left unsubscribed");
    say(&a, "QUIT\r\n");
    cr_assert_eq(rec.nsub, 2);
    assert_sub(1, SUBJ("#chan"), false);
}

Test(subscribe, a_lost_connection_of_the_last_member_unsubscribes)
{
    struct client a = user("alice", 1, NULL);
    join(&a, "#chan");
    mx__conn_hangup(conn_of(&a));   /* a reset, no QUIT: on_close quits it */
    settle();
    cr_assert_eq(rec.nsub, 2);
    assert_sub(1, SUBJ("#chan"), false);
}

Test(subscribe, a_channel_joined_again_after_emptying_subscribes_again)
{
    struct client a = user("alice", 0, NULL);
    join(&a, "#chan");
    say(&a, "PART #chan\r\n");
    join(&a, "#chan");
    cr_assert_eq(rec.nsub, 3);
    assert_sub(0, SUBJ("#chan"), true);
    assert_sub(1, SUBJ("#chan"), false);
    assert_sub(2, SUBJ("#chan"), true);
}

/* ==== 2. publishing a channel message ===================================== */

TestSuite(publish, .init = start_with_bus, .fini = stop);

/* alice (worker 0) and bob (worker 1) on #c, their output taken. */
static void two_members(struct client *a, struct client *b, const char *acaps)
{
    *a = user("alice", 0, acaps);
    *b = user("bob", 1, NULL);
    join(a, "#c");
    join(b, "#c");
    take(a);
    take(b);
    forget_calls();
}

Test(publish, a_privmsg_is_published_once_on_its_channels_subject)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "PRIVMSG #C :hello there\r\n");
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    /* The line names the channel as it was created, not as the sender
     * typed it. */
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :hello there"));
    cr_assert_eq(rec.pub[0].len, strlen(rec.pub[0].payload), "a NUL inside the payload");
    cr_assert_eq(rec.nsub, 0);
    /* Local delivery goes on as before. */
    char want[320];
    snprintf(want, sizeof want, "%s PRIVMSG #c :hello there\r\n", source_of(&a));
    cr_assert_str_eq(take(&b), want);
    cr_assert_str_eq(take(&a), "", "the sender got its own line");
}

Test(publish, a_member_alone_here_still_publishes)
{
    /* No one else on this node: the other nodes' members are why. */
    struct client a = user("alice", 1, NULL);
    join(&a, "#c");
    forget_calls();
    say(&a, "PRIVMSG #c :anyone out there?\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :anyone out there?"));
}

Test(publish, a_notice_is_published_too)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&b, "NOTICE #c :psst\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&b, 0, "", "NOTICE #c :psst"));
}

Test(publish, each_target_channel_is_published_on_its_own_subject)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    join(&a, "#d");
    forget_calls();
    say(&a, "PRIVMSG #c,#d :both\r\n");
    cr_assert_eq(rec.npub, 2);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :both"));
    cr_assert_str_eq(rec.pub[1].subject, SUBJ("#d"));
    cr_assert_str_eq(rec.pub[1].payload, payload_of(&a, 0, "", "PRIVMSG #d :both"));
}

Test(publish, a_tagmsg_carries_its_client_tags_and_needs_message_tags)
{
    struct client a, b;
    two_members(&a, &b, "message-tags");
    say(&a, "@+draft/react=lol;+x=1 TAGMSG #c\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload,
                     payload_of(&a, CAP_MESSAGE_TAGS, "+draft/react=lol;+x=1", "TAGMSG #c"));
    /* The bit itself, so that a change of the enum shows here: other
     * nodes (maybe another version) read this number. */
    cr_assert_eq(CAP_MESSAGE_TAGS, 2);
}

Test(publish, a_privmsg_with_client_tags_needs_nothing)
{
    struct client a, b;
    two_members(&a, &b, "message-tags");
    say(&a, "@+x=1 PRIVMSG #c :tagged\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "+x=1", "PRIVMSG #c :tagged"));
}

Test(publish, client_tags_of_a_client_without_message_tags_are_not_published)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "@+x=1 PRIVMSG #c :untagged\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :untagged"));
}

Test(publish, a_refused_privmsg_publishes_nothing)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    struct client out = user("outsider", 0, NULL);
    forget_calls();
    /* #c is +n (the default): an outsider may not speak there. */
    say(&out, "PRIVMSG #c :let me in\r\n");
    cr_assert(strstr(take(&out), " 404 "), "no 404 for the outsider");
    say(&out, "PRIVMSG #nowhere :anyone?\r\n");
    cr_assert(strstr(take(&out), " 401 "), "no 401 for a channel that is not");
    cr_assert_eq(rec.npub, 0, "a refused message was published");
    cr_assert_str_eq(take(&a), "");
    cr_assert_str_eq(take(&b), "");
}

Test(publish, a_privmsg_to_a_nick_publishes_nothing)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "PRIVMSG bob :just you\r\n");
    cr_assert_eq(rec.npub, 0);
    cr_assert(strstr(take(&b), "PRIVMSG bob :just you\r\n"), "bob did not get it");
    /* A nick not here is the bus's to_nick's business (the recorder's
     * reaches no node: 401), never a channel's subject. */
    say(&a, "PRIVMSG nobody :hello?\r\n");
    cr_assert(strstr(take(&a), " 401 "), "no 401 for a nick that is nowhere");
    cr_assert_eq(rec.npub, 0);
}

Test(publish, a_statusmsg_stays_on_this_node)
{
    /* docs/cluster.md: STATUSMSG reaches this node's members only. */
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "PRIVMSG @#c :ops only\r\n");
    cr_assert_eq(rec.npub, 0);
}

/* Without a bus chat is a single node: nothing calls the recorder, and
 * messages flow as before. */
TestSuite(no_bus, .init = start_without_bus, .fini = stop);

static void chat_works_and_calls_nothing(void)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    take(&a);
    take(&b);
    say(&a, "PRIVMSG #c :hello\r\n");
    char want[320];
    snprintf(want, sizeof want, "%s PRIVMSG #c :hello\r\n", source_of(&a));
    cr_assert_str_eq(take(&b), want);
    say(&a, "PART #c\r\n");
    say(&b, "QUIT\r\n");
    cr_assert_eq(rec.ncalls, 0, "a bus that was not set was called");
}

Test(no_bus, never_set)
{
    cr_assert_null(mx_chat_get_bus(S.chat));
    chat_works_and_calls_nothing();
}

Test(no_bus, set_then_unset)
{
    cr_assert_eq(mx_chat_set_bus(S.chat, &rec_bus, NODE, PREFIX), 0);
    cr_assert_not_null(mx_chat_get_bus(S.chat));
    cr_assert_eq(mx_chat_set_bus(S.chat, NULL, NULL, NULL), 0);
    cr_assert_null(mx_chat_get_bus(S.chat));
    chat_works_and_calls_nothing();
}

Test(no_bus, get_bus_gives_a_copy_of_the_one_set)
{
    cr_assert_eq(mx_chat_set_bus(S.chat, &rec_bus, NODE, PREFIX), 0);
    const struct mx_chat_bus *b = mx_chat_get_bus(S.chat);
    cr_assert_not_null(b);
    cr_assert_eq(b->arg, rec_bus.arg);
    cr_assert_eq(b->publish, rec_publish);
    cr_assert_eq(b->subscribe, rec_subscribe);
}

/* ==== 3. what other nodes published ======================================= */

TestSuite(remote, .init = start_with_bus, .fini = stop);

#define REMOTE_LINE ":zed!z@far.example PRIVMSG #chan :from afar\r\n"
#define REMOTE(node) node "\n0\n\n" REMOTE_LINE

/* Members of #Chan on both workers (three on worker 1, one of them with
 * server-time: a line that is empty or broken still gets a tag in front,
 * so it shows), and one client elsewhere; all their output taken. */
struct crowd {
    struct client a, b, c, timed, loner;
};

static struct crowd crowd(void)
{
    struct crowd k = {
        .a = user("alice", 0, NULL), .b = user("bob", 1, NULL), .c = user("carol", 1, NULL),
        .timed = user("tim", 1, "server-time"), .loner = user("loner", 0, NULL),
    };
    join(&k.a, "#Chan");
    join(&k.b, "#chan");
    join(&k.c, "#chan");
    join(&k.timed, "#chan");
    join(&k.loner, "#other");
    take_each((const struct client *[]){ &k.a, &k.b, &k.c, &k.timed, &k.loner, NULL });
    forget_calls();
    return k;
}

static void assert_nobody_got_anything(const struct crowd *k, const char *why)
{
    assert_none_got((const struct client *[]){ &k->a, &k->b, &k->c, &k->timed, &k->loner, NULL },
                    why);
}

Test(remote, a_line_reaches_every_local_member_once_on_every_worker)
{
    struct crowd k = crowd();
    post_from_bus(SUBJ("#chan"), REMOTE(OTHER));
    /* Posted, as from the bus's thread: nobody has it before the loops
     * run. */
    cr_assert_str_eq(take(&k.a), "");
    settle();
    cr_assert_str_eq(take(&k.a), REMOTE_LINE);
    cr_assert_str_eq(take(&k.b), REMOTE_LINE);
    cr_assert_str_eq(take(&k.c), REMOTE_LINE);
    /* server-time: stamped here, on delivery. */
    const char *t = take(&k.timed);
    cr_assert(strncmp(t, "@time=", 6) == 0, "no @time: %s", t);
    cr_assert(strchr(t, ' ') && strcmp(strchr(t, ' ') + 1, REMOTE_LINE) == 0, "got %s", t);
    cr_assert_str_eq(take(&k.loner), "", "a non-member got it");
    /* Never published again: two nodes would echo it forever. */
    cr_assert_eq(rec.npub, 0, "a remote line was published");
}

Test(remote, lines_keep_their_order)
{
    struct crowd k = crowd();
    post_from_bus(SUBJ("#chan"), OTHER "\n0\n\n:z!z@h PRIVMSG #chan :1\r\n");
    post_from_bus(SUBJ("#chan"), OTHER "\n0\n\n:z!z@h PRIVMSG #chan :2\r\n");
    settle();
    const char *want = ":z!z@h PRIVMSG #chan :1\r\n:z!z@h PRIVMSG #chan :2\r\n";
    cr_assert_str_eq(take(&k.a), want);
    cr_assert_str_eq(take(&k.b), want);
}

Test(remote, what_this_node_published_itself_is_ignored)
{
    struct crowd k = crowd();
    from_bus(SUBJ("#chan"), REMOTE(NODE));
    assert_nobody_got_anything(&k, "its own node");
    /* A name that only starts like this node's is another node. */
    from_bus(SUBJ("#chan"), REMOTE(NODE "2"));
    cr_assert_str_eq(take(&k.a), REMOTE_LINE);
}

Test(remote, a_channel_without_members_here_gets_nothing)
{
    struct crowd k = crowd();
    from_bus(SUBJ("#nobody"), REMOTE(OTHER));
    assert_nobody_got_anything(&k, "a channel that is not here");
    /* Nor one that was here and emptied (the unsubscribe is in flight). */
    join(&k.loner, "#gone");
    say(&k.loner, "PART #gone\r\n");
    take(&k.loner);
    from_bus(SUBJ("#gone"), REMOTE(OTHER));
    assert_nobody_got_anything(&k, "an emptied channel");
}

/* Each is something a node of this version never publishes; none may
 * reach anyone (or crash). */
Test(remote, malformed_payloads_deliver_nothing)
{
    struct crowd k = crowd();
    static const char *const bad[][2] = {
        { "an empty payload", "" },
        { "no newline at all", OTHER },
        { "the node only", OTHER "\n" },
        { "no tags field", OTHER "\n0\n" REMOTE_LINE },
        { "no line", OTHER "\n0\n\n" },
        { "the node alone before the line", OTHER "\n" REMOTE_LINE },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(SUBJ("#chan"), bad[i][1]);
        assert_nobody_got_anything(&k, bad[i][0]);
    }
}

/* The line goes to clients as it is: one that does not end its line
 * (a stray PUBLISH, another version) would run into the next line each
 * member is sent. */
Test(remote, a_line_without_its_crlf_delivers_nothing)
{
    struct crowd k = crowd();
    from_bus(SUBJ("#chan"), OTHER "\n0\n\n:z!z@h PRIVMSG #chan :no end");
    assert_nobody_got_anything(&k, "a line without CRLF");
}

Test(remote, tags_too_long_deliver_nothing)
{
    struct crowd k = crowd();
    static char payload[8192];
    int n = snprintf(payload, sizeof payload, "%s\n0\n+x=", OTHER);
    memset(payload + n, 'v', 4200);
    snprintf(payload + n + 4200, sizeof payload - (size_t)n - 4200, "\n%s", REMOTE_LINE);
    from_bus(SUBJ("#chan"), payload);
    assert_nobody_got_anything(&k, "tags of 4 KiB and more");
}

Test(remote, subjects_that_name_no_channel_of_ours_deliver_nothing)
{
    struct crowd k = crowd();
    static const char *const bad[][2] = {
        { "the prefix alone", SUBJ("") },
        { "shorter than the prefix", "#chan" },
        { "no subject", "" },
        /* 51 characters: longer than any channel (CHANLEN 50). */
        { "an over-long channel name",
          SUBJ("#chan0123456789012345678901234567890123456789012345") },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(bad[i][1], REMOTE(OTHER));
        assert_nobody_got_anything(&k, bad[i][0]);
    }
    /* Far longer: the name is copied to the stack only after its bound
     * is checked (this one would smash it). */
    char subject[600];
    int n = snprintf(subject, sizeof subject, "%s#", SUBJ(""));
    memset(subject + n, 'c', 500);
    subject[n + 500] = '\0';
    from_bus(subject, REMOTE(OTHER));
    assert_nobody_got_anything(&k, "a channel name of 500 bytes");
}

/* A subject of another network (or another prefix) whose tail after
 * strlen(prefix) bytes happens to be one of our channels: it is not ours. */
Test(remote, a_subject_without_our_prefix_delivers_nothing)
{
    struct crowd k = crowd();
    cr_assert_eq(strlen("muxd:web:c:#chan"), strlen(SUBJ("#chan")));
    from_bus("muxd:web:c:#chan", REMOTE(OTHER));
    assert_nobody_got_anything(&k, "another network's subject");
    from_bus("xxxxxxxxxxx#chan", REMOTE(OTHER));
    assert_nobody_got_anything(&k, "a subject of no prefix");
}

Test(remote, the_longest_channel_name_is_delivered)
{
    /* The bound on the name is CHANLEN, inclusive. */
    struct client a = user("alice", 1, NULL);
    const char *name = "#chan012345678901234567890123456789012345678901234";
    cr_assert_eq(strlen(name), CHAT_CHANLEN);
    join(&a, name);
    take(&a);
    char subject[128], payload[256], line[128];
    snprintf(subject, sizeof subject, PREFIX "c:%s", name);
    snprintf(line, sizeof line, ":z!z@h PRIVMSG %s :long\r\n", name);
    snprintf(payload, sizeof payload, OTHER "\n0\n\n%s", line);
    from_bus(subject, payload);
    cr_assert_str_eq(take(&a), line);
}

Test(remote, a_tagmsg_reaches_only_members_with_message_tags)
{
    struct client a = user("alice", 0, "message-tags"), b = user("bob", 1, NULL),
                  c = user("carol", 1, "message-tags"), d = user("dave", 0, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    join(&c, "#chan");
    join(&d, "#chan");
    take(&a);
    take(&b);
    take(&c);
    take(&d);
    char payload[256];
    snprintf(payload, sizeof payload, "%s\n%u\n+react=x\n:z!z@h TAGMSG #chan\r\n", OTHER,
             (unsigned)CAP_MESSAGE_TAGS);
    from_bus(SUBJ("#chan"), payload);
    cr_assert_str_eq(take(&a), "@+react=x :z!z@h TAGMSG #chan\r\n");
    cr_assert_str_eq(take(&c), "@+react=x :z!z@h TAGMSG #chan\r\n");
    cr_assert_str_eq(take(&b), "", "a TAGMSG reached a member without message-tags");
    cr_assert_str_eq(take(&d), "", "a TAGMSG reached a member without message-tags");
}

/* Another node's JOIN carries its extended-join form: each member gets
 * the form it asked for; and its AT is the @time of those with
 * server-time. */
Test(remote, a_join_comes_in_the_form_each_member_asked_for_at_its_time)
{
    struct client a = user("alice", 0, "extended-join"), b = user("bob", 1, NULL),
                  c = user("carol", 1, "server-time");
    join(&a, "#chan");
    join(&b, "#chan");
    join(&c, "#chan");
    take(&a);
    take(&b);
    take(&c);
    from_bus(SUBJ("#chan"), OTHER "\n0 1796342947.250000000\n\n:z!z@h JOIN :#chan\r\n"
                            ":z!z@h JOIN #chan * :Zed Z\r\n");
    cr_assert_str_eq(take(&a), ":z!z@h JOIN #chan * :Zed Z\r\n");
    cr_assert_str_eq(take(&b), ":z!z@h JOIN :#chan\r\n");
    cr_assert_str_eq(take(&c), "@time=2026-12-04T00:09:07.250Z :z!z@h JOIN :#chan\r\n");
    /* Without AT (a netsplit QUIT from Redis's script), or with one that
     * is no time: now. */
    from_bus(SUBJ("#chan"), OTHER "\n0 soon\n\n:z!z@h PRIVMSG #chan :hi\r\n");
    char *t = take(&c);
    cr_assert(strncmp(t, "@time=20", 8) == 0 && !strstr(t, "00:09:07.250Z"), "%s", t);
}

/* Only a JOIN may have a second line, and only its own extended form. */
Test(remote, a_second_line_that_is_no_join_form_delivers_nothing)
{
    struct client a = user("alice", 0, "extended-join"), b = user("bob", 1, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    take(&a);
    take(&b);
    static const char *const bad[] = {
        OTHER "\n0\n\n:z!z@h PRIVMSG #chan :hi\r\n:z!z@h PRIVMSG #chan :two\r\n",
        OTHER "\n0\n\n:z!z@h JOIN :#chan\r\n:y!y@h JOIN #chan * :Other\r\n",
        OTHER "\n0\n\n:z!z@h JOIN :#chan\r\n:z!z@h JOIN #chan * :no crlf",
        OTHER "\n0\n\n:z!z@h JOIN :#chan\r\n:z!z@h JOIN #chan\r\n:z!z@h KICK #chan alice\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(SUBJ("#chan"), bad[i]);
        cr_assert_str_eq(take(&a), "", "payload %zu delivered", i);
        cr_assert_str_eq(take(&b), "", "payload %zu delivered", i);
    }
}

Test(remote, client_tags_of_a_privmsg_go_only_to_members_with_message_tags)
{
    struct client a = user("alice", 0, "message-tags"), b = user("bob", 1, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    take(&a);
    take(&b);
    from_bus(SUBJ("#chan"), OTHER "\n0\n+x=1\n:z!z@h PRIVMSG #chan :hi\r\n");
    cr_assert_str_eq(take(&a), "@+x=1 :z!z@h PRIVMSG #chan :hi\r\n");
    cr_assert_str_eq(take(&b), ":z!z@h PRIVMSG #chan :hi\r\n");
}

/* ==== 4. Redis reached again ============================================== */

TestSuite(bus_up, .init = start_with_bus, .fini = stop);

/* How many subscribe calls named subject, and whether every one of them
 * turned it on. */
static unsigned subscribed(const char *subject, bool *all_on)
{
    unsigned n = 0;
    *all_on = true;
    for (unsigned i = 0; i < rec.nsub; i++)
        if (strcmp(rec.sub[i].subject, subject) == 0) {
            n++;
            *all_on &= rec.sub[i].on;
        }
    return n;
}

/* Channel subjects among the subscribe calls; what else the bus hears
 * (lines to this node's nicks) is not the channels' business. */
static unsigned channel_subscribes(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < rec.nsub; i++)
        n += strncmp(rec.sub[i].subject, SUBJ(""), strlen(SUBJ(""))) == 0;
    return n;
}

Test(bus_up, every_channel_here_subscribes_once)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#One");
    join(&b, "#one");       /* members on both workers: still one channel */
    join(&a, "#two");
    join(&b, "#three");
    join(&a, "#gone");
    say(&a, "PART #gone\r\n");
    forget_calls();
    mx_chat_bus_up(S.chat);
    settle();
    cr_assert_eq(channel_subscribes(), 3, "%u channel subscribe calls", channel_subscribes());
    const char *want[] = { SUBJ("#one"), SUBJ("#two"), SUBJ("#three") };
    for (unsigned w = 0; w < 3; w++) {
        bool on;
        unsigned n = subscribed(want[w], &on);
        cr_assert_eq(n, 1, "%s subscribed %u times", want[w], n);
        cr_assert(on, "%s unsubscribed", want[w]);
    }
    cr_assert_eq(rec.npub, 0);
}

Test(bus_up, no_channels_no_channel_subscribes)
{
    user("alice", 0, NULL);
    mx_chat_bus_up(S.chat);
    settle();
    cr_assert_eq(channel_subscribes(), 0);
    cr_assert_eq(rec.npub, 0);
}

Test(bus_up, every_member_is_recorded_again)
{
    /* Redis may have restarted empty: the lists get this node's members
     * back, each channel of each once. */
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#One");
    join(&b, "#one");
    join(&a, "#two");
    forget_calls();
    mx_chat_bus_up(S.chat);
    settle();
    cr_assert_eq(rec.nmember, 3, "%u member calls", rec.nmember);
    unsigned seen_a = 0, seen_b = 0;
    for (unsigned i = 0; i < rec.nmember; i++) {
        const struct member_call *m = &rec.member[i];
        cr_assert(m->on, "bus_up recorded %s leaving %s", m->who, m->chan);
        if (m->uid == chat_client_of(&a)->uid) {
            seen_a |= strcmp(m->chan, "#one") == 0 ? 1 : strcmp(m->chan, "#two") == 0 ? 2 : 4;
            cr_assert_str_eq(m->who, source_of(&a) + 1);
        } else {
            cr_assert_eq(m->uid, chat_client_of(&b)->uid, "a member call of no client");
            seen_b |= strcmp(m->chan, "#one") == 0 ? 1 : 4;
            cr_assert_str_eq(m->who, source_of(&b) + 1);
        }
    }
    cr_assert_eq(seen_a, 3, "alice's channels recorded: %u", seen_a);
    cr_assert_eq(seen_b, 1, "bob's channels recorded: %u", seen_b);
}

/* The network's subject: QUIT and NICK lines, with their channels. */
#define USUBJ PREFIX "u"

/* The network gave alice's nick to another node's client while this node
 * was cut off: her claim, made again, is refused; she takes a guest nick
 * (claimed too), told why, and her channel hears the NICK, here and on
 * the other nodes. */
Test(bus_up, a_nick_held_elsewhere_meanwhile_becomes_a_guest)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    take(&a);
    take(&b);
    forget_calls();
    char old[256];
    snprintf(old, sizeof old, "%s", source_of(&a));
    unsigned claims = rec.nclaim;
    rec.refuse_claims = 1;
    mx_chat_bus_up(S.chat);
    settle();
    const char *nick = chat_client_of(&a)->nick;
    cr_assert(strncmp(nick, "Guest", 5) == 0 && strlen(nick) == 10, "alice is now '%s'", nick);
    /* Two claims again (alice's refused, bob's) and the guest one. */
    cr_assert_eq(rec.nclaim, claims + 3, "%u claims", rec.nclaim - claims);
    char want[512];
    snprintf(want, sizeof want, ":test.local NOTICE alice :*** Your nick was taken by a user of "
             "another server of this network while this one was cut off from it: you are %s "
             "now\r\n%s NICK :%s\r\n", nick, old, nick);
    cr_assert_str_eq(take(&a), want);
    snprintf(want, sizeof want, "%s NICK :%s\r\n", old, nick);
    cr_assert_str_eq(take(&b), want);
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, USUBJ);
    /* bob kept his. */
    cr_assert_str_eq(chat_client_of(&b)->nick, "bob");
}

/* Back after the others took this node for dead: as bus_up, and a JOIN of
 * each member on each of its channels, published on the channel's subject. */
Test(bus_up, coming_back_publishes_a_join_per_member)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    join(&a, "#D");
    take(&a);
    forget_calls();
    mx_chat_bus_rejoin(S.chat);
    settle();
    cr_assert_eq(rec.nmember, 3, "%u member calls", rec.nmember);
    cr_assert_eq(rec.npub, 3, "published %u times", rec.npub);
    unsigned seen = 0;
    for (unsigned i = 0; i < rec.npub; i++) {
        const struct pub_call *p = &rec.pub[i];
        if (strcmp(p->subject, SUBJ("#d")) == 0 &&
            strcmp(p->payload, join_payload_of(&a, "#D")) == 0)
            seen |= 1;
        else if (strcmp(p->subject, SUBJ("#c")) == 0 &&
                 strcmp(p->payload, join_payload_of(&a, "#c")) == 0)
            seen |= 2;
        else if (strcmp(p->subject, SUBJ("#c")) == 0 &&
                 strcmp(p->payload, join_payload_of(&b, "#c")) == 0)
            seen |= 4;
        else
            cr_assert_fail("published %s: %s", p->subject, p->payload);
    }
    cr_assert_eq(seen, 7, "JOINs published: %u of 7", seen);
    /* Nothing to this node's own clients: they never saw anyone leave. */
    cr_assert_str_eq(take(&a), "");
}

/* ==== 5. memberships on the network ======================================= */

TestSuite(membership, .init = start_with_bus, .fini = stop);


/* "nick!user@host" of c, as the network's lists keep it. */
static const char *who_of(const struct client *c)
{
    return source_of(c) + 1;
}

static void assert_member(unsigned i, const char *chan, uint64_t uid, const char *who)
{
    cr_assert_lt(i, rec.nmember, "member call %u was not made", i);
    const struct member_call *m = &rec.member[i];
    cr_assert_str_eq(m->chan, chan);
    cr_assert_eq(m->uid, uid, "member %s: uid %llu, want %llu", chan,
                 (unsigned long long)m->uid, (unsigned long long)uid);
    if (who) {
        cr_assert(m->on, "member %s: recorded as gone, want %s", chan, who);
        cr_assert_str_eq(m->who, who);
    } else {
        cr_assert(!m->on, "member %s: recorded as %s, want gone", chan, m->who);
    }
}

Test(membership, a_join_records_the_member_on_the_casefolded_channel)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    cr_assert_eq(rec.nmember, 0, "registering recorded %u memberships", rec.nmember);
    uint64_t ua = chat_client_of(&a)->uid, ub = chat_client_of(&b)->uid;
    cr_assert_neq(ua, ub, "two clients share uid %llu", (unsigned long long)ua);
    join(&a, "#Chan[1]");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#chan{1}", ua, "alice!alice@127.0.0.1");
    cr_assert_str_eq(who_of(&a), "alice!alice@127.0.0.1");
    join(&b, "#chan{1}");
    cr_assert_eq(rec.nmember, 2);
    assert_member(1, "#chan{1}", ub, who_of(&b));
    /* Joining again changes nothing. */
    join(&b, "#CHAN[1]");
    cr_assert_eq(rec.nmember, 2, "a JOIN of a member recorded it again");
}

Test(membership, a_part_records_the_member_gone_and_publishes_the_part)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#Chan");
    join(&b, "#chan");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    say(&a, "PART #chan :bye\r\n");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#chan", ua, NULL);
    /* The line to the channel's members on other nodes, on its subject. */
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#chan"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PART #Chan :bye"));
}

Test(membership, a_kick_records_the_target_gone_and_publishes_the_kick)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    forget_calls();
    uint64_t ub = chat_client_of(&b)->uid;
    say(&a, "KICK #c bob :out\r\n");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#c", ub, NULL);
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "KICK #c bob :out"));
}

Test(membership, a_nick_change_records_each_channel_again_and_publishes_once)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&a, "#D");
    join(&b, "#c");
    join(&b, "#d");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    char old[256];
    snprintf(old, sizeof old, "%s", source_of(&a));
    say(&a, "NICK alice2\r\n");
    cr_assert_str_eq(chat_client_of(&a)->nick, "alice2", "the NICK was not granted");
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    assert_member(0, "#c", ua, "alice2!alice@127.0.0.1");
    assert_member(1, "#d", ua, "alice2!alice@127.0.0.1");
    /* Once on the network's subject with both channels, never on the
     * channels' own subjects: a member of both hears it once. */
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, USUBJ);
    char want[512];
    snprintf(want, sizeof want, "%s\n0\n\n#c,#D\n%s NICK :alice2\r\n", NODE, old);
    cr_assert_str_eq(rec.pub[0].payload, want);
    /* Without channels: nobody elsewhere to tell. */
    struct client c = user("carol", 1, NULL);
    forget_calls();
    say(&c, "NICK carol2\r\n");
    cr_assert_str_eq(chat_client_of(&c)->nick, "carol2");
    cr_assert_eq(rec.nmember, 0);
    cr_assert_eq(rec.npub, 0);
}

/* What the network's lists show of a member's status goes there again
 * whenever it changes: NAMES and WHO on other nodes read it. */
Test(membership, a_status_change_records_the_member_again)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    join(&b, "#d");
    cr_assert_eq(rec.nmember, 3);
    cr_assert_str_eq(rec.member[0].status, "o", "the channel's creator: '%s'",
                     rec.member[0].status);
    cr_assert_str_eq(rec.member[1].status, "");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid, ub = chat_client_of(&b)->uid;
    say(&a, "MODE #c +v bob\r\n");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#c", ub, "bob!bob@127.0.0.1");
    cr_assert_str_eq(rec.member[0].status, "v");
    say(&a, "MODE #c -o alice\r\n");
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    assert_member(1, "#c", ua, "alice!alice@127.0.0.1");
    cr_assert_str_eq(rec.member[1].status, "");
    /* +i: on each of bob's channels (#d his own: o); a user mode that changes nothing
     * there (+w) records nothing. */
    say(&b, "MODE bob +i\r\n");
    cr_assert_eq(rec.nmember, 4, "%u member calls", rec.nmember);
    cr_assert_str_eq(rec.member[2].status, strcmp(rec.member[2].chan, "#c") ? "oi" : "vi");
    cr_assert_str_eq(rec.member[3].status, strcmp(rec.member[3].chan, "#c") ? "oi" : "vi");
    say(&b, "MODE bob +w\r\n");
    cr_assert_eq(rec.nmember, 4, "+w recorded %u members", rec.nmember - 4);
}

Test(membership, a_quit_records_each_channel_gone_and_publishes_once)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&a, "#d");
    join(&b, "#c");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    char src[256];
    snprintf(src, sizeof src, "%s", source_of(&a));
    say(&a, "QUIT :gone\r\n");
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    unsigned seen = 0;
    for (unsigned i = 0; i < 2; i++) {
        const struct member_call *m = &rec.member[i];
        cr_assert_eq(m->uid, ua);
        cr_assert(!m->on, "the QUIT recorded %s on %s", m->who, m->chan);
        seen |= strcmp(m->chan, "#c") == 0 ? 1 : strcmp(m->chan, "#d") == 0 ? 2 : 4;
    }
    cr_assert_eq(seen, 3, "channels recorded gone: %u (1 #c, 2 #d, 4 another)", seen);
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, USUBJ);
    char want[512];
    snprintf(want, sizeof want, "%s\n0\n\n#c,#d\n%s QUIT :Quit: gone\r\n", NODE, src);
    cr_assert_str_eq(rec.pub[0].payload, want);
}

Test(membership, a_lost_connection_records_its_channels_gone)
{
    struct client a = user("alice", 1, NULL);
    join(&a, "#c");
    join(&a, "#d");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    mx__conn_hangup(conn_of(&a));
    settle();
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    assert_member(0, "#c", ua, NULL);
    assert_member(1, "#d", ua, NULL);
}

/* ==== 6. QUIT and NICK lines of other nodes' clients ====================== */

TestSuite(network, .init = start_with_bus, .fini = stop);

#define NET_QUIT ":z!z@h QUIT :gone\r\n"

/* Members of #c and #d on both workers (c0, c1), of #d alone (d1), of
 * #c alone (c0only) and of neither (e0, on #e); their output taken. */
struct net_crowd {
    struct client c0, c1, d1, c0only, e0;
};

static struct net_crowd net_crowd(void)
{
    struct net_crowd k = {
        .c0 = user("cd0", 0, NULL), .c1 = user("cd1", 1, NULL), .d1 = user("d1", 1, NULL),
        .c0only = user("c0", 0, NULL), .e0 = user("e0", 0, NULL),
    };
    join(&k.c0, "#c");
    join(&k.c0, "#d");
    join(&k.c1, "#C");
    join(&k.c1, "#D");
    join(&k.d1, "#d");
    join(&k.c0only, "#c");
    join(&k.e0, "#e");
    take_each((const struct client *[]){ &k.c0, &k.c1, &k.d1, &k.c0only, &k.e0, NULL });
    forget_calls();
    return k;
}

static void assert_net_nothing(const struct net_crowd *k, const char *why)
{
    assert_none_got((const struct client *[]){ &k->c0, &k->c1, &k->d1, &k->c0only, &k->e0, NULL },
                    why);
}

Test(network, a_quit_reaches_each_member_of_its_channels_once)
{
    struct net_crowd k = net_crowd();
    post_from_bus(USUBJ, OTHER "\n0\n\n#c,#d\n" NET_QUIT);
    cr_assert_str_eq(take(&k.c0), "", "delivered before the loops ran");
    settle();
    cr_assert_str_eq(take(&k.c0), NET_QUIT, "a member of both, worker 0");
    cr_assert_str_eq(take(&k.c1), NET_QUIT, "a member of both, worker 1");
    cr_assert_str_eq(take(&k.d1), NET_QUIT, "a member of #d only");
    cr_assert_str_eq(take(&k.c0only), NET_QUIT, "a member of #c only");
    cr_assert_str_eq(take(&k.e0), "", "a member of neither got it");
    cr_assert_eq(rec.npub, 0, "a line of another node was published again");
    /* The channels as the other node named them: any case; one that is
     * not here is left out. */
    from_bus(USUBJ, OTHER "\n0\n\n#nowhere,#D\n:z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.c0), ":z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.c1), ":z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.d1), ":z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.c0only), "", "a member of #c only got #d's line");
    cr_assert_str_eq(take(&k.e0), "");
}

Test(network, what_this_node_published_itself_is_ignored)
{
    struct net_crowd k = net_crowd();
    from_bus(USUBJ, NODE "\n0\n\n#c,#d\n" NET_QUIT);
    assert_net_nothing(&k, "its own node");
    from_bus(USUBJ, NODE "2\n0\n\n#c\n" NET_QUIT);
    cr_assert_str_eq(take(&k.c0only), NET_QUIT, "node-a2 is another node");
}

Test(network, malformed_payloads_deliver_nothing)
{
    struct net_crowd k = net_crowd();
    static const char *const bad[][2] = {
        { "an empty payload", "" },
        { "the node only", OTHER "\n" },
        { "no channel field", OTHER "\n0\n\n" NET_QUIT },
        { "no line", OTHER "\n0\n\n#c,#d\n" },
        { "a line without CRLF", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :gone" },
        { "a line with LF alone", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :gone\n" },
        { "two lines", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :a\r\n:z!z@h QUIT :b\r\n" },
        { "a bare CR inside", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :a\rb\r\n" },
        { "no channels", OTHER "\n0\n\n\n" NET_QUIT },
        { "commas alone", OTHER "\n0\n\n,,,\n" NET_QUIT },
        /* 51 characters: longer than any channel (CHANLEN 50). */
        { "a channel name over CHANLEN",
          OTHER "\n0\n\n#c0123456789012345678901234567890123456789012345678\n" NET_QUIT },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(USUBJ, bad[i][1]);
        assert_net_nothing(&k, bad[i][0]);
    }
    /* A line of more than 512 bytes. */
    static char payload[1024];
    int n = snprintf(payload, sizeof payload, "%s\n0\n\n#c\n:z!z@h QUIT :", OTHER);
    memset(payload + n, 'x', 520);
    snprintf(payload + n + 520, sizeof payload - (size_t)n - 520, "\r\n");
    from_bus(USUBJ, payload);
    assert_net_nothing(&k, "a line over 512 bytes");
}

Test(network, a_channel_list_over_its_bound_delivers_nothing)
{
    /* 128 channels of 50 and their commas at most: a list longer than
     * that is refused whole (it would not fit the stack's copy), even
     * when it names our channels. */
    struct net_crowd k = net_crowd();
    static char payload[16384];
    int n = snprintf(payload, sizeof payload, "%s\n0\n\n", OTHER);
    while (n < 8000)
        n += snprintf(payload + n, sizeof payload - (size_t)n, "#c,#d,");
    snprintf(payload + n, sizeof payload - (size_t)n, "#c\n%s", NET_QUIT);
    from_bus(USUBJ, payload);
    assert_net_nothing(&k, "a channel list of 8 KB");
}

Test(network, the_longest_channel_name_is_delivered)
{
    struct client a = user("alice", 1, NULL);
    const char *name = "#chan012345678901234567890123456789012345678901234";
    cr_assert_eq(strlen(name), CHAT_CHANLEN);
    join(&a, name);
    take(&a);
    char payload[256];
    snprintf(payload, sizeof payload, "%s\n0\n\n#x,%s\n%s", OTHER, name, NET_QUIT);
    from_bus(USUBJ, payload);
    cr_assert_str_eq(take(&a), NET_QUIT);
}

/* ==== 7. NAMES: the members of other nodes too ============================ */

TestSuite(names, .init = start_with_bus, .fini = stop);

#define NAMES_END(nick, chan) ":test.local 366 " nick " " chan " :End of NAMES list\r\n"

/* alice (worker 0, the channel's first: @) and bob (worker 1) on #c,
 * their output taken; the network answers with zed of node-b and alice
 * herself (this node's entries are its own tables' business). */
static void names_world(struct client *a, struct client *b)
{
    *a = user("alice", 0, NULL);
    *b = user("bob", 1, NULL);
    join(a, "#c");
    join(b, "#c");
    take(a);
    take(b);
    static char mine[512];
    snprintf(mine, sizeof mine, "%s %llu\n%s", NODE,
             (unsigned long long)chat_client_of(a)->uid, who_of(a));
    rec.answer[0] = OTHER " 7\nzed!z@h";
    rec.answer[1] = mine;
    rec.nanswer = 2;
    forget_calls();
}

Test(names, other_nodes_members_come_after_this_nodes)
{
    struct client a, b;
    names_world(&a, &b);
    unsigned asked = rec.nmembers;
    say(&a, "NAMES #C\r\n");
    cr_assert_eq(rec.nmembers, asked + 1, "NAMES asked the network %u times",
                 rec.nmembers - asked);
    cr_assert_str_eq(rec.members[asked].chan, "#c", "asked for another channel");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob zed\r\n"
                               NAMES_END("alice", "#c"));
}

/* Other nodes' members with their status there (the entry's last
 * line); an invisible one only to the channel's members. */
Test(names, other_nodes_members_show_their_status)
{
    struct client a, b;
    names_world(&a, &b);
    rec.answer[0] = OTHER " 7\nzed!z@h\nZed\nov";
    rec.answer[2] = OTHER " 8\nyan!y@h\nYan\nv";
    rec.answer[3] = OTHER " 9\nxi!x@h\nXi\ni";
    rec.nanswer = 4;
    say(&a, "NAMES #c\r\n");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob @zed +yan xi\r\n"
                               NAMES_END("alice", "#c"));
    struct client m = user("mo", 1, "multi-prefix");
    say(&m, "NAMES #c\r\n");
    cr_assert_str_eq(take(&m), ":test.local 353 mo = #c :@alice bob @+zed +yan\r\n"
                               NAMES_END("mo", "#c"));
}

Test(names, userhost_in_names_shows_other_nodes_members_whole)
{
    struct client a, b;
    names_world(&a, &b);
    struct client c = user("carol", 1, "userhost-in-names");
    join(&c, "#c");
    take(&a);
    char *t = take(&c);
    cr_assert(strstr(t, ":test.local 353 carol = #c :@alice!alice@127.0.0.1 bob!bob@127.0.0.1 "
                        "carol!carol@127.0.0.1 zed!z@h\r\n" NAMES_END("carol", "#c")),
              "carol's JOIN: %s", t);
    say(&c, "NAMES #c\r\n");
    cr_assert_str_eq(take(&c), ":test.local 353 carol = #c :@alice!alice@127.0.0.1 "
                               "bob!bob@127.0.0.1 carol!carol@127.0.0.1 zed!z@h\r\n"
                               NAMES_END("carol", "#c"));
}

Test(names, a_joins_names_lists_other_nodes_members)
{
    struct client a, b;
    names_world(&a, &b);
    struct client c = user("carol", 0, NULL);
    join(&c, "#c");
    cr_assert_str_eq(take(&c), ":carol!carol@127.0.0.1 JOIN :#c\r\n"
                               ":test.local 353 carol = #c :@alice bob carol zed\r\n"
                               NAMES_END("carol", "#c"));
}

Test(names, the_clients_next_lines_wait_for_the_answer)
{
    struct client a, b;
    names_world(&a, &b);
    rec.hold_members = true;
    say(&a, "NAMES #c\r\nPING :after\r\n");
    cr_assert_str_eq(take(&a), "", "sent before the network answered");
    /* Another client goes on meanwhile. */
    say(&b, "PING :bob\r\n");
    cr_assert_str_eq(take(&b), ":test.local PONG test.local :bob\r\n");
    cr_assert_str_eq(take(&a), "");
    rec.hold_members = false;
    settle();
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob zed\r\n"
                               NAMES_END("alice", "#c")
                               ":test.local PONG test.local :after\r\n");
}

Test(names, without_the_networks_answer_this_nodes_members_are_listed)
{
    struct client a, b;
    names_world(&a, &b);
    rec.members_fail = true;
    say(&a, "NAMES #c\r\nPING :after\r\n");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob\r\n"
                               NAMES_END("alice", "#c")
                               ":test.local PONG test.local :after\r\n");
}

Test(names, entries_that_are_not_nick_user_host_are_skipped)
{
    struct client a, b;
    names_world(&a, &b);
    rec.answer[0] = OTHER " 7\nzed!z@h";
    rec.answer[1] = OTHER " 8\nnobang";
    rec.answer[2] = OTHER " 9\nsp ace!s@h";
    rec.answer[3] = "no newline at all";
    rec.answer[4] = OTHER " 10\n";
    rec.answer[5] = NODE "2 11\nyan!y@h";   /* another node whose name starts like ours */
    rec.nanswer = 6;
    say(&a, "NAMES #c\r\n");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob zed yan\r\n"
                               NAMES_END("alice", "#c"));
}

Test(names, a_client_gone_before_the_answer_is_no_trouble)
{
    struct client a, b;
    names_world(&a, &b);
    rec.hold_members = true;
    say(&a, "NAMES #c\r\n");
    mx__conn_hangup(conn_of(&a));
    settle();
    take(&b);
    rec.hold_members = false;
    settle();
    cr_assert_eq(rec.nmembers_answered, rec.nmembers);
    say(&b, "NAMES #c\r\n");
    /* alice's place is gone here (bob keeps no @: no one gave it). */
    cr_assert_str_eq(take(&b), ":test.local 353 bob = #c :bob zed\r\n"
                               NAMES_END("bob", "#c"));
}
