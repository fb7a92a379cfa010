/* fuzz_cluster_msg.c - what other nodes publish (src/proto/chat/
 * chat_remote.c's mx_chat_bus_message): lines of a channel on
 * "PREFIXc:#chan", lines to a nick on "PREFIXn:NODE", QUIT and NICK lines
 * on "PREFIXu"; the payload "NODE\nNEED AT\nTAGS\n[EXTRA\n]LINE[ALT]", where MODE,
 * TOPIC and KICK lines change this node's state too.
 *
 * The fixture (made on the first input, with tests/unit/chat_fixture.h as
 * tests/unit/test_chat_cluster.c makes it): a server of two workers on the unit tests' fake backend, the
 * harness playing both loops on one thread; a chat listener with a bus
 * whose functions record nick claims and members questions (answered
 * from settle, as the bus's thread would) and do nothing else; three
 * registered clients, alice (worker 0, message-tags) and bob (worker 1)
 * on #a and #b, carol (worker 1) on #a. State drifts from input to input
 * (topics, modes, bans); when a KICK took a client off a channel (or
 * anything else left the fixture other than it was made) it is torn down
 * and made again before the next input.
 *
 * Input: the first byte picks the subject: #a's, #b's, the node's, the
 * network's, or (4) one from the input (the next byte its length, then
 * that many bytes); the rest is the payload. mx_chat_bus_message is
 * called with it, then the loops are settled (inboxes drained, turns
 * ended).
 *
 * Properties beyond "no crash" (ASan, UBSan, LeakSanitizer, and chat's
 * own owner and nesting checks, on in this build):
 * - what each live client was sent is whole lines, each ending in CRLF,
 *   with no other CR, LF or NUL in it, and none longer than 512 bytes
 *   plus its tags (server-time and the client tags a node may carry).
 *   Found and fixed: chat_remote.c checked a payload's LINE (line_ok)
 *   but not its TAGS, so a CR or a space in TAGS reached message-tags
 *   clients inside the line's tags ("@a\rb :z!z@h PRIVMSG #a :x\r\n"; a
 *   space let TAGS carry a source and command of its own); now tags_ok
 *   refuses such a payload (corpus/fuzz_cluster_msg/tags_with_cr);
 * - chat's counts of users, clients and nicks equal the live clients';
 *   every channel has members, each live, on it in its own list, and
 *   counted once in its worker's per_worker and local list; every nick
 *   finds its own client.
 * Then every client's queue is emptied (as if written).
 * FUZZ_CLUSTER_TRACE=1 in the environment prints what each client is sent.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/outq.h"
#include "muxd/log.h"
#include "proto/chat/chat.h"
#include "proto/chat/chat_int.h"
#include "reactor/clock.h"
#include "reactor/conn.h"
#include "reactor/server.h"

#include "../unit/chat_fixture.h" /* NWORKERS (2), the fake backend */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODE "node-a"
#define PREFIX "muxd:irc:"
#define NCLIENTS 3
/* "@time=" stamp ";" client tags " " before a line at most (chat_msg.c). */
#define TAGS_MAX (1 + 5 + IRC_TIME_LEN + 1 + 4095 + 1)

/* ---- the bus: claims granted, members answered "nobody elsewhere" -------- */

#define MAX_PENDING 64
typedef void members_done_fn(void *ctx, const char *const *v, const size_t *lens, unsigned n);
static struct {
    struct { void (*done)(void *ctx, int r); void *ctx; } claim[MAX_PENDING];
    unsigned nclaim;
    struct { members_done_fn *done; void *ctx; } members[MAX_PENDING];
    unsigned nmembers;
} bus;

static int b_publish(void *arg, const char *subject, const void *payload, size_t len)
{
    (void)arg, (void)subject, (void)payload, (void)len;
    return 0;
}

static void b_subscribe(void *arg, const char *subject, bool on)
{
    (void)arg, (void)subject, (void)on;
}

static int b_claim(void *arg, uint64_t id, const char *nick, const char *info,
                   void (*done)(void *ctx, int r), void *ctx)
{
    (void)arg, (void)id, (void)nick, (void)info;
    if (bus.nclaim == MAX_PENDING)
        abort();
    bus.claim[bus.nclaim].done = done;
    bus.claim[bus.nclaim++].ctx = ctx;
    return 0;
}

static void b_release(void *arg, uint64_t id, const char *nick)
{
    (void)arg, (void)id, (void)nick;
}

static int b_to_nick(void *arg, const char *nick, const void *payload, size_t len,
                     const char *invite, void (*done)(void *ctx, int r), void *ctx)
{
    (void)arg, (void)nick, (void)payload, (void)len, (void)invite, (void)done, (void)ctx;
    return -1;
}

static int b_lookup(void *arg, const char *const *nicks, unsigned n,
                    void (*done)(void *ctx, const char *const *v, const size_t *lens,
                                 unsigned n), void *ctx)
{
    (void)arg, (void)nicks, (void)n, (void)done, (void)ctx;
    return -1;
}

static void b_member(void *arg, const char *chan, uint64_t uid, const char *who,
                     const char *modes)
{
    (void)arg, (void)chan, (void)uid, (void)who, (void)modes;
}

static void b_state(void *arg, const char *chan, const char *field, const char *value)
{
    (void)arg, (void)chan, (void)field, (void)value;
}

static int b_members(void *arg, const char *chan, members_done_fn *done, void *ctx)
{
    (void)arg, (void)chan;
    if (bus.nmembers == MAX_PENDING)
        abort();
    bus.members[bus.nmembers].done = done;
    bus.members[bus.nmembers++].ctx = ctx;
    return 0;
}

static const struct mx_chat_bus the_bus = {
    .publish = b_publish, .subscribe = b_subscribe, .claim = b_claim,
    .release = b_release, .to_nick = b_to_nick, .lookup = b_lookup,
    .member = b_member, .state = b_state, .members = b_members,
};

/* The bus's thread: claims granted, members questions answered with no
 * member elsewhere. */
static size_t answer_bus(void)
{
    size_t n = bus.nclaim + bus.nmembers;
    for (unsigned i = 0; i < bus.nclaim; i++)
        bus.claim[i].done(bus.claim[i].ctx, 1);
    bus.nclaim = 0;
    static const char *const none[1] = { NULL };
    static const size_t no_lens[1] = { 0 };
    for (unsigned i = 0; i < bus.nmembers; i++)
        bus.members[i].done(bus.members[i].ctx, none, no_lens, 0);
    bus.nmembers = 0;
    return n;
}

/* ---- the server ---------------------------------------------------------- */

static struct chat_fixture S;
static struct {
    uint64_t tag[NCLIENTS];
    bool up;
} T;

static const struct {
    const char *nick, *caps;
    unsigned worker;
    bool on_b;
} who[NCLIENTS] = {
    { "alice", "message-tags", 0, true },
    { "bob", NULL, 1, true },
    { "carol", NULL, 1, false },
};

static void settle(void)
{
    for (int round = 0; round < 1000; round++) {
        size_t n = answer_bus();
        n += chat_fx_round(&S);
        if (n == 0)
            return;
    }
    abort(); /* the workers keep posting to each other */
}

static struct mx_conn *conn_of(unsigned i)
{
    return mx__worker_lookup(&S.w[who[i].worker], T.tag[i]);
}

static struct chat_client *client_of(unsigned i)
{
    struct mx_conn *c = conn_of(i);
    return c ? c->data : NULL;
}

/* Everything queued for c, as if the backend wrote it. */
static void written(struct mx_conn *c)
{
    chat_fx_written(c, c->out.bytes);
}

static void say(unsigned i, const char *text)
{
    struct mx_conn *c = conn_of(i);
    if (!c)
        abort();
    mx__conn_recv(c, text, strlen(text));
    settle();
}

static int peer_fd(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        abort();
    (void)connect(fd, (struct sockaddr *)&a, sizeof a); /* else: host "unknown" */
    return fd;
}

static void user(unsigned i)
{
    struct mx_conn *c = chat_fx_open(&S, who[i].worker, peer_fd());
    if (!c)
        abort();
    T.tag[i] = mx__conn_tag(c);
    char line[256];
    if (who[i].caps) {
        snprintf(line, sizeof line, "CAP REQ :%s\r\n", who[i].caps);
        say(i, line);
    }
    snprintf(line, sizeof line, "NICK %s\r\nUSER %s 0 * :%s\r\n", who[i].nick, who[i].nick,
             who[i].nick);
    say(i, line);
    if (who[i].caps)
        say(i, "CAP END\r\n");
    struct chat_client *cl = client_of(i);
    if (!cl || !cl->registered)
        abort(); /* the fixture itself failed */
}

static void setup(void)
{
    memset(&T, 0, sizeof T);
    memset(&bus, 0, sizeof bus);
    chat_fx_server(&S, 256 * 1024);
    const struct mx_chat_opts o = chat_fx_calm_opts("fuzz.local", S.srv.opts.output_max);
    chat_fx_start(&S, &o);
    if (mx_chat_set_bus(S.chat, &the_bus, NODE, PREFIX) != 0)
        abort();
    chat_fx_listen(&S);
    for (unsigned i = 0; i < NCLIENTS; i++)
        user(i);
    for (unsigned i = 0; i < NCLIENTS; i++) {
        say(i, "JOIN #a\r\n");
        if (who[i].on_b)
            say(i, "JOIN #b\r\n");
    }
    for (unsigned i = 0; i < NCLIENTS; i++)
        written(conn_of(i));
    T.up = true;
}

static void teardown(void)
{
    settle();
    chat_fx_abort_all(&S);
    settle();
    chat_fx_free(&S);
    T.up = false;
}

/* The fixture as it was made: each client live, registered, with its
 * nick, on its channels. */
static bool as_made(void)
{
    bool ok = true;
    chat_lock(S.chat);
    struct chat_channel *a = chan_find(S.chat, "#a"), *b = chan_find(S.chat, "#b");
    for (unsigned i = 0; i < NCLIENTS && ok; i++) {
        struct chat_client *cl = client_of(i);
        ok = cl && cl->registered && !(cl->flags & CL_GONE) &&
             strcmp(cl->nick, who[i].nick) == 0 && a && cl_on(cl, a) &&
             (!who[i].on_b || (b && cl_on(cl, b)));
    }
    chat_unlock(S.chat);
    return ok;
}

/* ---- properties ---------------------------------------------------------- */

static void bad_output(const char *why, const char *p, size_t n)
{
    fprintf(stderr, "fuzz_cluster_msg: %s in what a client was sent:\n", why);
    for (size_t i = 0; i < n && i < 1024; i++)
        fprintf(stderr, (p[i] >= 0x20 && p[i] < 0x7f) ? "%c" : "\\x%02x",
                (unsigned char)p[i]);
    fputc('\n', stderr);
    abort();
}

/* strict: a CR in a line's tags fails too (see above; always on now).
 * cr_in_tags: this input's TAGS field has a CR (and maybe spaces, so
 * where the tags end in a line is not known). */
static bool strict, cr_in_tags;

/* One line, CRLF included: CR and LF only at its end (but a CR in a
 * tagged line when the input's TAGS had one, unless strict), no NUL, the
 * part after the tags (if any) within 512 bytes. */
static void check_line(const char *p, size_t n)
{
    size_t tags = 0;
    if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
        bad_output("a line not ending in CRLF", p, n);
    if (p[0] == '@') {
        const char *sp = memchr(p, ' ', n);
        tags = sp ? (size_t)(sp + 1 - p) : n;
    }
    for (size_t i = 0; i < n - 2; i++)
        if ((p[i] == '\r' && (!tags || !cr_in_tags || strict)) || p[i] == '\n' || p[i] == '\0')
            bad_output("a CR, LF or NUL inside a line", p, n);
    if (tags > TAGS_MAX || n > TAGS_MAX + IRC_LINE_MAX)
        bad_output("a line too long", p, n);
}

static char text[512 * 1024];
/* FUZZ_CLUSTER_TRACE=1: what each client is sent, printed (to see what an
 * input does). */
static bool trace;

static void check_output(struct mx_conn *c)
{
    struct iovec iov[1024];
    int k = mx__outq_iov(&c->out, iov, 1024);
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        if (off + iov[i].iov_len > sizeof text)
            abort(); /* more than output_max */
        memcpy(text + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    if (off != c->out.bytes)
        abort(); /* more segments than read */
    size_t start = 0;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n') {
            check_line(text + start, i + 1 - start);
            start = i + 1;
        }
    if (start != off)
        bad_output("a partial line at the end", text + start, off - start);
    if (trace && off)
        fprintf(stderr, "--- to w%u:%u\n%.*s", c->w->idx, c->slot, (int)off, text);
}

#define MAX_LIVE 16

/* Every live connection's output checked, then emptied; chat's tables
 * against the live clients (chat_fx_check_tables). */
static void check(void)
{
    struct chat_client *live[MAX_LIVE];
    unsigned nlive = 0;
    for (unsigned k = 0; k < NWORKERS; k++)
        for (uint32_t s = 0; s < S.w[k].nslots; s++) {
            struct mx_conn *c = S.w[k].slots[s];
            if (!c)
                continue;
            check_output(c);
            written(c);
            struct chat_client *cl = c->data;
            if (!cl || (cl->flags & CL_GONE))
                continue;
            if (nlive == MAX_LIVE)
                abort();
            live[nlive++] = cl;
        }
    chat_fx_check_tables(S.chat, live, nlive);
}

/* ---- one input ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!T.up) {
        mx_log_set_level(MX_LOG_ERROR);
        trace = getenv("FUZZ_CLUSTER_TRACE") != NULL;
        strict = true;  /* chat_remote.c's tags_ok: no CR may come through */
        setup();
    } else if (!as_made()) {
        teardown();
        setup();
    }
    static const char *const fixed[] = {
        PREFIX "c:#a", PREFIX "c:#b", PREFIX "n:" NODE, PREFIX "u",
    };
    const char *subject;
    size_t slen, off = 1;
    unsigned kind = data[0] % 5;
    if (kind < 4) {
        subject = fixed[kind];
        slen = strlen(subject);
    } else if (size < 2) {
        subject = "";
        slen = 0;
    } else {
        subject = (const char *)data + 2;
        slen = data[1] < size - 2 ? data[1] : size - 2;
        off = 2 + slen;
    }
    /* NODE\nNEED\nTAGS\n: a CR in TAGS? */
    const uint8_t *nl1 = memchr(data + off, '\n', size - off);
    const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(data + size - nl1 - 1)) : NULL;
    const uint8_t *nl3 = nl2 ? memchr(nl2 + 1, '\n', (size_t)(data + size - nl2 - 1)) : NULL;
    cr_in_tags = nl3 && memchr(nl2 + 1, '\r', (size_t)(nl3 - nl2 - 1));
    /* Copies, so that ASan sees a read past either end. */
    char *subj = malloc(slen ? slen : 1), *payload = malloc(size - off ? size - off : 1);
    if (!subj || !payload)
        abort();
    memcpy(subj, subject, slen);
    memcpy(payload, data + off, size - off);
    mx_chat_bus_message(S.chat, subj, slen, payload, size - off);
    free(subj);
    free(payload);
    settle();
    check();
    return 0;
}
