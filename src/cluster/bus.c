/* bus.c - the cluster bus thread (bus.h): a publisher and a subscriber
 * connection to Redis, the queue other threads fill, the heartbeat, and
 * losing and finding Redis again.
 *
 * States: down (waiting to retry, with back-off from 200 ms to 2 s),
 * connecting (both sockets connecting, then AUTH and a PING each), up.
 * Redis counts as lost when a connection fails, closes, sends what is not
 * RESP, or leaves a probe (a PING, one per heartbeat on each connection)
 * unanswered for timeout_ms: a stopped Redis is noticed that way, as
 * a dead one is. Both connections go down together: a node that still
 * publishes but no longer hears would be worse than one that does
 * neither and says so.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cluster/bus.h"
#include "cluster/bus_conn.h"
#include "muxd/log.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS MX_BUS_BACKOFF_MAX_MS

enum req_kind { REQ_PUB, REQ_SUB, REQ_UNSUB, REQ_CALL };

struct req {
    struct req *next;
    enum req_kind kind;
    size_t slen, plen;              /* REQ_CALL: argc in slen, the bytes in plen */
    mx_bus_done_fn *done;           /* REQ_CALL */
    void *arg;
    size_t lens[MX_BUS_MAX_ARGS];   /* REQ_CALL */
    char data[];                    /* subject, then payload; or the arguments */
};

enum bus_state { BUS_DOWN, BUS_CONNECTING, BUS_UP };

struct mx_bus {
    struct mx_bus_opts o;           /* strings point into strs */
    char *strs;
    pthread_t tid;
    bool started;
    int evfd;
    /* Under mu: the requests of other threads, and stop. */
    pthread_mutex_t mu;
    struct req *head, **tail;
    size_t qbytes;
    bool stop;
    /* Written by the bus thread, read by anyone. */
    atomic_bool up;
    atomic_size_t outbytes;         /* written into the publisher, not sent */
    atomic_uint_fast64_t transitions, published, received, dropped;
    /* The bus thread's. */
    struct bus_conn pub, sub;
    enum bus_state state;
    uint64_t retry_ms, backoff_ms, since_ms, beat_ms;
    bool hello_pub, hello_sub;      /* AUTH and PING sent once connected */
    bool failed_once;               /* a failed attempt was logged */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- requests from other threads ---------------------------------------- */

static void wake(struct mx_bus *b)
{
    uint64_t one = 1;
    (void)!write(b->evfd, &one, sizeof one);
}

/* The bus whose thread this is, if any. */
static _Thread_local const struct mx_bus *on_bus;

/* Requests are taken while up, and from the bus thread itself while it
 * comes up (on_ready). */
static bool open_for(struct mx_bus *b)
{
    return atomic_load(&b->up) || on_bus == b;
}

/* Queues r (freed on -ENOBUFS: past queue_max). */
static int push(struct mx_bus *b, struct req *r)
{
    size_t bytes = r->kind == REQ_CALL ? r->plen : r->slen + r->plen;
    pthread_mutex_lock(&b->mu);
    size_t held = b->qbytes + atomic_load_explicit(&b->outbytes, memory_order_relaxed);
    /* Subscriptions are few and must not be lost; everything else a slow
     * Redis leaves waiting counts against queue_max. */
    if ((r->kind == REQ_PUB || r->kind == REQ_CALL) && on_bus != b &&
        held + bytes > b->o.queue_max) {
        pthread_mutex_unlock(&b->mu);
        free(r);
        return -ENOBUFS;
    }
    bool was_empty = !b->head;
    *b->tail = r;
    b->tail = &r->next;
    b->qbytes += bytes;
    pthread_mutex_unlock(&b->mu);
    if (was_empty)
        wake(b);
    return 0;
}

static int enqueue(struct mx_bus *b, enum req_kind kind, const char *subject,
                   const void *payload, size_t plen)
{
    size_t slen = strlen(subject);
    struct req *r = malloc(sizeof *r + slen + plen);
    if (!r)
        return -ENOMEM;
    *r = (struct req){ .kind = kind, .slen = slen, .plen = plen };
    memcpy(r->data, subject, slen);
    if (plen)
        memcpy(r->data + slen, payload, plen);
    return push(b, r);
}

int mx_bus_call(struct mx_bus *b, int argc, const char *const *argv, const size_t *lens,
                mx_bus_done_fn *done, void *arg)
{
    if (argc < 1 || argc > MX_BUS_MAX_ARGS)
        return -EINVAL;
    if (!open_for(b))
        return -ENOTCONN;
    size_t n = 0;
    for (int i = 0; i < argc; i++)
        n += lens[i];
    struct req *r = malloc(sizeof *r + n);
    if (!r)
        return -ENOMEM;
    *r = (struct req){ .kind = REQ_CALL, .slen = (size_t)argc, .plen = n, .done = done,
                       .arg = arg };
    for (int i = 0, off = 0; i < argc; off += (int)lens[i], i++) {
        r->lens[i] = lens[i];
        memcpy(r->data + off, argv[i], lens[i]);
    }
    return push(b, r);
}

int mx_bus_publish(struct mx_bus *b, const char *subject, const void *payload, size_t len)
{
    int rc = open_for(b) ? enqueue(b, REQ_PUB, subject, payload, len) : -ENOTCONN;
    if (rc < 0)
        count(&b->dropped);
    return rc;
}

void mx_bus_subscribe(struct mx_bus *b, const char *subject, bool on)
{
    /* seq_cst: against go_up's store, so a subject made after on_state's
     * walk is never missed (bus.h). */
    if (open_for(b) && enqueue(b, on ? REQ_SUB : REQ_UNSUB, subject, NULL, 0) < 0)
        mx_warn("cluster: out of memory: subject %s not %s", subject,
                on ? "subscribed" : "unsubscribed");
}

void mx_bus_stats(const struct mx_bus *b, struct mx_bus_stats *s)
{
    *s = (struct mx_bus_stats){
        .up = atomic_load_explicit(&b->up, memory_order_relaxed),
        .transitions = atomic_load_explicit(&b->transitions, memory_order_relaxed),
        .published = atomic_load_explicit(&b->published, memory_order_relaxed),
        .received = atomic_load_explicit(&b->received, memory_order_relaxed),
        .dropped = atomic_load_explicit(&b->dropped, memory_order_relaxed),
    };
}

static struct req *take_all(struct mx_bus *b, bool *stop)
{
    pthread_mutex_lock(&b->mu);
    struct req *r = b->head;
    b->head = NULL;
    b->tail = &b->head;
    b->qbytes = 0;
    *stop = b->stop;
    pthread_mutex_unlock(&b->mu);
    return r;
}

/* A request that will not reach Redis: counted, or its caller told. */
static void refuse(struct mx_bus *b, struct req *r)
{
    if (r->kind == REQ_PUB)
        count(&b->dropped);
    else if (r->kind == REQ_CALL && r->done)
        r->done(r->arg, NULL);
    free(r);
}

/* ---- commands ----------------------------------------------------------- */

static int cmd(struct bus_conn *c, int argc, const char *const *argv, const size_t *lens)
{
    size_t l[8];
    for (int i = 0; i < argc; i++)
        l[i] = lens && lens[i] != (size_t)-1 ? lens[i] : strlen(argv[i]);
    return bconn_cmd(c, argc, argv, l);
}

static int run_call(struct mx_bus *b, const struct req *r)
{
    const char *argv[MX_BUS_MAX_ARGS];
    size_t off = 0;
    for (size_t i = 0; i < r->slen; off += r->lens[i], i++)
        argv[i] = r->data + off;
    return bconn_call(&b->pub, (int)r->slen, argv, r->lens, r->done, r->arg);
}

static int run_req(struct mx_bus *b, const struct req *r)
{
    if (r->kind == REQ_CALL)
        return run_call(b, r);
    static const char *const verbs[] = { "PUBLISH", "SUBSCRIBE", "UNSUBSCRIBE" };
    const char *argv[3] = { verbs[r->kind], r->data, r->data + r->slen };
    size_t lens[3] = { (size_t)-1, r->slen, r->plen };
    if (r->kind != REQ_PUB)
        return cmd(&b->sub, 2, argv, lens);
    count(&b->published);
    return cmd(&b->pub, 3, argv, lens);
}

/* A connection is in: AUTH if asked, and a PING whose answer says it
 * works (the AUTH's error, if any, comes first). */
static int hello(struct mx_bus *b, struct bus_conn *c)
{
    int rc = 0;
    if (b->o.password[0]) {
        const char *argv[3] = { "AUTH", b->o.user, b->o.password };
        rc = b->o.user[0] ? cmd(c, 3, argv, NULL) : cmd(c, 2, (const char *[]){ "AUTH",
                                                                 b->o.password }, NULL);
    }
    return rc < 0 ? rc : bconn_probe(c, now_ms());
}

static void beat(struct mx_bus *b, uint64_t now)
{
    char key[256], px[24];
    snprintf(key, sizeof key, "%snode:%s", b->o.prefix, b->o.node);
    snprintf(px, sizeof px, "%u", b->o.heartbeat_ms * 3);
    cmd(&b->pub, 5, (const char *[]){ "SET", key, "1", "PX", px }, NULL);
    bconn_probe(&b->pub, now);
    bconn_probe(&b->sub, now);
    b->beat_ms = now + b->o.heartbeat_ms;
    if (b->o.on_beat)
        b->o.on_beat(b->o.arg);
}

/* ---- up and down -------------------------------------------------------- */

static void go_down(struct mx_bus *b, const char *why, int err)
{
    bool was_up = b->state == BUS_UP;
    bconn_close(&b->pub);
    bconn_close(&b->sub);
    atomic_store(&b->outbytes, 0);
    b->state = BUS_DOWN;
    b->retry_ms = now_ms() + b->backoff_ms;
    b->backoff_ms = b->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->backoff_ms * 2;
    const char *detail = err ? strerror(-err) : "";
    if (was_up) {
        atomic_store(&b->up, false);
        count(&b->transitions);
        mx_warn("cluster: redis %s:%u down: %s%s%s", b->o.host, b->o.port, why,
                err ? ": " : "", detail);
        if (b->o.on_state)
            b->o.on_state(b->o.arg, false);
    } else if (!b->failed_once) {
        b->failed_once = true;
        mx_warn("cluster: redis %s:%u unreachable: %s%s%s (retrying)", b->o.host, b->o.port,
                why, err ? ": " : "", detail);
    }
}

static void go_up(struct mx_bus *b)
{
    b->state = BUS_UP;
    b->backoff_ms = BACKOFF_MIN_MS;
    b->failed_once = false;
    /* Requests still queued from before the loss are stale now. */
    bool stop;
    for (struct req *r = take_all(b, &stop), *next; r; r = next) {
        next = r->next;
        refuse(b, r);
    }
    if (b->o.on_ready)
        b->o.on_ready(b->o.arg);
    atomic_store(&b->up, true);
    count(&b->transitions);
    if (b->o.on_state)
        b->o.on_state(b->o.arg, true);
    mx_info("cluster: node %s: redis %s:%u up", b->o.node, b->o.host, b->o.port);
    beat(b, now_ms());
}

static void attempt(struct mx_bus *b)
{
    int rc = bconn_open(&b->pub, b->o.host, b->o.port);
    if (rc == 0)
        rc = bconn_open(&b->sub, b->o.host, b->o.port);
    if (rc < 0) {
        go_down(b, "connect", rc);
        return;
    }
    b->state = BUS_CONNECTING;
    b->since_ms = now_ms();
    b->hello_pub = b->hello_sub = false;
}

static bool ready(const struct bus_conn *c, bool hello_sent)
{
    return hello_sent && !c->connecting && c->due == 0;
}

/* ---- replies ------------------------------------------------------------ */

static bool is(const redisReply *r, const char *s)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           strcasecmp(r->str, s) == 0;
}

static void reply_error(struct mx_bus *b, struct bus_conn *c, const redisReply *r)
{
    if (b->state != BUS_UP) {  /* AUTH refused, or the like */
        mx_error("cluster: redis %s:%u refused the %s: %s", b->o.host, b->o.port, c->what,
                 r->str);
        go_down(b, "refused", 0);
        return;
    }
    mx_warn("cluster: redis %s:%u: %s: %s", b->o.host, b->o.port, c->what, r->str);
}

static bool on_reply(void *arg, struct bus_conn *c, struct redisReply *r)
{
    struct mx_bus *b = arg;
    if (r->type == REDIS_REPLY_ERROR) {
        reply_error(b, c, r);
        return true;
    }
    if (c == &b->sub && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        is(r->element[0], "message") && r->element[2]->type == REDIS_REPLY_STRING) {
        count(&b->received);
        b->o.on_message(b->o.arg, r->element[1]->str, r->element[1]->len, r->element[2]->str,
                        r->element[2]->len);
        return false;
    }
    return true;    /* +OK, an integer, (un)subscribe, pong */
}

/* ---- the loop ----------------------------------------------------------- */

static void conn_io(struct mx_bus *b, struct bus_conn *c, short revents, bool *hello_sent)
{
    int rc = 0;
    if (c->connecting && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        rc = bconn_finish(c);
        if (rc == 0 && !*hello_sent) {
            rc = hello(b, c);
            *hello_sent = rc == 0;
        }
    } else if (revents & (POLLIN | POLLERR | POLLHUP)) {
        rc = bconn_read(c, on_reply, b);
    }
    if (rc == -ECONNABORTED)  /* on_reply took it down */
        return;
    if (rc < 0)
        go_down(b, rc == -EPIPE ? "connection closed" : c->what, rc == -EPIPE ? 0 : rc);
}

static void timers(struct mx_bus *b, uint64_t now)
{
    if (b->state == BUS_DOWN && now >= b->retry_ms)
        attempt(b);
    else if (b->state == BUS_CONNECTING && now - b->since_ms >= b->o.timeout_ms)
        go_down(b, "connect timed out", 0);
    else if (b->state == BUS_UP && (bconn_late(&b->pub, now, b->o.timeout_ms) ||
                                    bconn_late(&b->sub, now, b->o.timeout_ms)))
        go_down(b, "no reply within redis_timeout", 0);
    else if (b->state == BUS_UP && now >= b->beat_ms)
        beat(b, now);
}

static int poll_timeout(const struct mx_bus *b, uint64_t now)
{
    uint64_t at = b->state == BUS_DOWN ? b->retry_ms
                : b->state == BUS_CONNECTING ? b->since_ms + b->o.timeout_ms
                : b->beat_ms;
    if (b->state == BUS_UP) {  /* a probe's deadline may come first */
        const struct bus_conn *cs[2] = { &b->pub, &b->sub };
        for (int i = 0; i < 2; i++)
            if (cs[i]->probe_left && cs[i]->probe_ms + b->o.timeout_ms < at)
                at = cs[i]->probe_ms + b->o.timeout_ms;
    }
    return at <= now ? 0 : at - now > 1000 ? 1000 : (int)(at - now);
}

static bool drain(struct mx_bus *b)
{
    bool stop;
    for (struct req *r = take_all(b, &stop), *next; r; r = next) {
        next = r->next;
        if (b->state != BUS_UP) {
            refuse(b, r);
            continue;
        }
        if (run_req(b, r) < 0) {
            go_down(b, "out of memory", -ENOMEM);
            refuse(b, r);
            continue;
        }
        free(r);
    }
    return stop;
}

static void flush(struct mx_bus *b)
{
    struct bus_conn *cs[2] = { &b->pub, &b->sub };
    for (int i = 0; i < 2 && b->state != BUS_DOWN; i++)
        if (cs[i]->fd >= 0 && !cs[i]->connecting) {
            int rc = bconn_flush(cs[i]);
            if (rc < 0)
                go_down(b, cs[i]->what, rc);
        }
    atomic_store_explicit(&b->outbytes, bconn_queued(&b->pub), memory_order_relaxed);
}

static void once(struct mx_bus *b)
{
    struct pollfd p[3] = { { .fd = b->evfd, .events = POLLIN } };
    struct bus_conn *cs[2] = { &b->pub, &b->sub };
    for (int i = 0; i < 2; i++)
        p[i + 1] = (struct pollfd){ .fd = cs[i]->fd,
                                    .events = POLLIN | (bconn_wants_write(cs[i]) ? POLLOUT : 0) };
    if (poll(p, 3, poll_timeout(b, now_ms())) <= 0)
        return;
    if (p[0].revents & POLLIN) {
        uint64_t n;
        (void)!read(b->evfd, &n, sizeof n);
    }
    bool *hellos[2] = { &b->hello_pub, &b->hello_sub };
    for (int i = 0; i < 2; i++)
        if (b->state != BUS_DOWN && p[i + 1].revents)
            conn_io(b, cs[i], p[i + 1].revents, hellos[i]);
    if (b->state == BUS_CONNECTING && ready(&b->pub, b->hello_pub) &&
        ready(&b->sub, b->hello_sub))
        go_up(b);
}

static void *bus_main(void *arg)
{
    struct mx_bus *b = arg;
    pthread_setname_np(pthread_self(), "muxd-bus");
    on_bus = b;
    for (;;) {
        timers(b, now_ms());
        if (drain(b))
            break;
        flush(b);
        once(b);
        flush(b);
    }
    return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

static char *copy_strings(struct mx_bus_opts *o)
{
    const char **f[] = { &o->host, &o->user, &o->password, &o->node, &o->prefix };
    size_t n = 0;
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        n += strlen(*f[i] ? *f[i] : "") + 1;
    char *s = malloc(n), *p = s;
    for (size_t i = 0; s && i < sizeof f / sizeof *f; i++) {
        size_t l = strlen(*f[i] ? *f[i] : "") + 1;
        memcpy(p, *f[i] ? *f[i] : "", l);
        *f[i] = p;
        p += l;
    }
    return s;
}

struct mx_bus *mx_bus_new(const struct mx_bus_opts *o)
{
    struct mx_bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->o = *o;
    b->strs = copy_strings(&b->o);
    b->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    b->tail = &b->head;
    b->backoff_ms = BACKOFF_MIN_MS;
    bconn_init(&b->pub, "publisher");
    bconn_init(&b->sub, "subscriber");
    pthread_mutex_init(&b->mu, NULL);
    if (!b->strs || b->evfd < 0) {
        int err = b->strs ? errno : ENOMEM;
        mx_bus_free(b);
        errno = err;
        return NULL;
    }
    return b;
}

int mx_bus_start(struct mx_bus *b)
{
    int rc = pthread_create(&b->tid, NULL, bus_main, b);
    b->started = rc == 0;
    return -rc;
}

void mx_bus_free(struct mx_bus *b)
{
    if (!b)
        return;
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_mutex_unlock(&b->mu);
        wake(b);
        pthread_join(b->tid, NULL);
    }
    bool stop;
    for (struct req *r = take_all(b, &stop), *next; r; r = next) {
        next = r->next;
        refuse(b, r);
    }
    bconn_free(&b->pub);
    bconn_free(&b->sub);
    if (b->evfd >= 0)
        close(b->evfd);
    pthread_mutex_destroy(&b->mu);
    free(b->strs);
    free(b);
}
