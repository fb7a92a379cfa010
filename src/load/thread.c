/* thread.c - one client thread's loop through the phases of a run (see
 * thread.h). The modes (echo.c, idle.c, chat.c) only fill in callbacks. */
#include "thread.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "clock.h"

#define MAX_EVENTS 512
#define SETUP_TIMEOUT_S 60     /* registration and joins, after the connects */
#define ECHO_GIVE_UP_S 10      /* after the window: echoes still owed */
#define IDLE_GIVE_UP_S 30      /* after the hold: round trips still owed */
#define CHAT_LATE_MAX_S 30     /* after the drain: late deliveries still coming */
#define PUBLISH_NS (250 * NS_PER_MS)
#define MAX_SLEEP_NS (100 * NS_PER_MS)

void ld_times_set(struct ld_times *t, const struct ld_opts *o, uint64_t t0)
{
    t->t0 = t0;
    if (o->mode == LD_IDLE) {
        /* The hold is the window; the round trips come after it. */
        t->start = t0;
        t->end = t->stop = t0 + ld_secs_ns(o->duration);
        t->give_up = t->drain_end = t->end + IDLE_GIVE_UP_S * NS_PER_S;
        return;
    }
    t->start = t0 + ld_secs_ns(o->warmup);
    t->end = t->stop = t->start + ld_secs_ns(o->duration);
    if (o->mode != LD_CHAT) {
        t->give_up = t->drain_end = t->stop + ECHO_GIVE_UP_S * NS_PER_S;
        return;
    }
    /* A throttled server (flood control) still delivers after the drain:
     * the wait goes on while deliveries keep coming, so that those count
     * as late and only the ones that never come as lost. */
    t->drain_end = t->stop + ld_secs_ns(o->drain);
    t->give_up = t->drain_end + CHAT_LATE_MAX_S * NS_PER_S;
}

int ld_fail(struct ld_thread *th, enum ld_fail_kind kind, const char *fmt, ...)
{
    char why[LD_WHY_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    ld_result_why(th->res, "%s", why);
    if (kind == LD_VERIFY)
        th->res->verify_failures++;
    else
        th->res->errors++;
    atomic_store(&th->live->abort, true);
    return -1;
}

/* Progress for the coordinator: messages since the last time, and p99. */
static void publish(struct ld_thread *th, uint64_t now)
{
    atomic_fetch_add_explicit(&th->live->msgs, th->progress, memory_order_relaxed);
    th->progress = 0;
    ld_live_max(&th->live->p99_ns, ld_hist_quantile(&th->res->lat, 0.99));
    th->next_publish = now + PUBLISH_NS;
}

static int dispatch(struct ld_thread *th, struct ld_conn *c, uint32_t events)
{
    if (c->state == LD_C_CONNECTING) {
        ld_conn_finish(th, c);
        return ld_aborted(th) ? -1 : 0;
    }
    if (c->state != LD_C_UP || !th->ops->on_event)
        return 0;
    return th->ops->on_event(th, c, events);
}

int ld_thread_poll(struct ld_thread *th, uint64_t timeout_ns)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = ld_epoll_wait(th->ep, evs, MAX_EVENTS, timeout_ns);
    if (n < 0 && errno != EINTR)
        return ld_fail(th, LD_ERROR, "epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        if (dispatch(th, &th->cs[evs[i].data.u32], evs[i].events) < 0)
            return -1;
    return 0;
}

/* Chat registers and joins here; the other modes have nothing to do. */
static int setup_phase(struct ld_thread *th)
{
    uint64_t deadline = ld_now_ns() + SETUP_TIMEOUT_S * NS_PER_S;
    while (th->ops->setup_done && !th->ops->setup_done(th)) {
        if (ld_aborted(th))
            return -1;
        if (ld_now_ns() >= deadline)
            return ld_fail(th, LD_ERROR, "setup did not finish in %d s (see docs/load.md: "
                           "registration, joins)", SETUP_TIMEOUT_S);
        if (ld_thread_poll(th, 50 * NS_PER_MS) < 0)
            return -1;
    }
    return 0;
}

/* Serves the connections (chat servers ping) until the go time. */
static int wait_go(struct ld_thread *th)
{
    uint64_t t0;
    while ((t0 = atomic_load(&th->live->t0)) == 0 || ld_now_ns() < t0) {
        if (ld_aborted(th) || t0 == LD_T0_ABORT)
            return -1;
        /* Known before t0 comes: what arrives from then on is timed. */
        if (t0 && th->tm.t0 != t0)
            ld_times_set(&th->tm, th->o, t0);
        uint64_t now = ld_now_ns();
        uint64_t wait = t0 > now ? t0 - now : 0;
        if (ld_thread_poll(th, t0 == 0 || wait > 10 * NS_PER_MS ? 10 * NS_PER_MS : wait) < 0)
            return -1;
    }
    ld_times_set(&th->tm, th->o, t0);
    return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* How long the loop may sleep: until the next thing it must do. */
static uint64_t sleep_ns(const struct ld_thread *th, uint64_t now)
{
    uint64_t next = min_u64(th->tm.give_up, th->next_publish);
    if (now < th->tm.stop)
        next = min_u64(next, th->tm.stop);
    if (th->ops->next_due)
        next = min_u64(next, th->ops->next_due(th, now));
    return next > now ? min_u64(next - now, MAX_SLEEP_NS) : 0;
}

static int run_phase(struct ld_thread *th)
{
    uint64_t now = ld_now_ns();
    th->next_publish = now + PUBLISH_NS;
    if (th->ops->start && th->ops->start(th, now) < 0)
        return -1;
    for (;;) {
        now = ld_now_ns();
        if (ld_aborted(th))
            return -1;
        if (th->ops->tick && th->ops->tick(th, now) < 0)
            return -1;
        if (th->ops->done(th, now))
            return 0;
        if (now >= th->tm.give_up)
            return th->ops->give_up ? th->ops->give_up(th) : 0;
        if (now >= th->next_publish)
            publish(th, now);
        if (ld_thread_poll(th, sleep_ns(th, now)) < 0)
            return -1;
    }
}

void *ld_thread_main(void *arg)
{
    struct ld_thread *th = arg;
    /* The default 50 us timer slack would make every open-loop send that
     * late, and the latency counted from its due time would show it. */
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    int rc = ld_connect_phase(th);
    if (rc == 0)
        rc = setup_phase(th);
    atomic_fetch_add(&th->live->ready, 1);
    if (rc == 0)
        rc = wait_go(th);
    if (rc == 0)
        run_phase(th);
    publish(th, ld_now_ns());
    atomic_fetch_add(&th->live->finished, 1);
    return NULL;
}

int ld_thread_init(struct ld_thread *th, const struct ld_opts *o, struct ld_live *live,
                   struct ld_result *res, struct ld_conn *cs, unsigned n)
{
    th->o = o;
    th->ops = ld_mode_ops(o->mode);
    th->live = live;
    th->res = res;
    th->cs = cs;
    th->n = n;
    th->ep = epoll_create1(EPOLL_CLOEXEC);
    th->rxbuf = malloc(LD_RXBUF_SIZE);
    if (th->ep < 0 || !th->rxbuf)
        return ld_fail(th, LD_ERROR, "setting up a thread: %s",
                       strerror(th->rxbuf ? errno : ENOMEM));
    return th->ops->init ? th->ops->init(th) : 0;
}

void ld_thread_fini(struct ld_thread *th)
{
    if (th->ops && th->ops->fini)
        th->ops->fini(th);
    for (unsigned i = 0; i < th->n; i++)
        if (th->cs[i].fd >= 0)
            close(th->cs[i].fd);
    if (th->ep >= 0)
        close(th->ep);
    free(th->rxbuf);
    free(th->light);
}
