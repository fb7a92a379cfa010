/* idle_mode.c - idle mode: the connections stay open and silent for the
 * hold (tm.start .. tm.end); any byte or close from the server meanwhile
 * is a failure (echo.c sees it). When the hold ends every connection
 * sends one message and must get it back intact: the round trip that
 * proves the server still serves it. */
#include "echo.h"
#include "modes.h"

static int idle_init(struct ld_thread *th)
{
    return ld_echo_alloc(th, 1);
}

static int idle_tick(struct ld_thread *th, uint64_t now)
{
    if (th->idle_sent || now < th->tm.end)
        return 0;
    th->idle_sent = true;
    for (unsigned i = 0; i < th->n; i++) {
        struct ld_conn *c = &th->cs[i];
        if (c->state != LD_C_UP)
            continue;
        ld_echo_issue(th, c, now);
        if (ld_echo_pump_out(th, c) < 0)
            return -1;
    }
    return 0;
}

static uint64_t idle_next_due(const struct ld_thread *th, uint64_t now)
{
    return th->idle_sent ? UINT64_MAX : th->tm.end;
}

static bool idle_done(const struct ld_thread *th, uint64_t now)
{
    return th->idle_sent && th->pending == 0;
}

const struct ld_mode_ops ld_idle_ops = {
    .init = idle_init,
    .fini = ld_echo_free,
    .on_event = ld_echo_event,
    .tick = idle_tick,
    .next_due = idle_next_due,
    .done = idle_done,
    .give_up = ld_echo_give_up,
};
