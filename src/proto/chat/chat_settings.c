/* chat_settings.c - the settings a reload may change (flood, ping and
 * registration timers, MOTD, password, server name, SendQ), one pointer
 * per worker. A reload builds a new set and posts it to every worker,
 * which swaps its pointer between two of its turns: a client never sees
 * half of a change, and no worker reads a set another thread changes.
 * The set is freed by whichever worker lets go of it last. */
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

static void set_free(struct chat_settings *s)
{
    free(s->motd);
    free(s->server_name);
    free(s->password);
    free(s);
}

struct chat_settings *chat_settings_new(const struct mx_chat_opts *o, unsigned refs)
{
    struct chat_settings *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, refs);
    s->o = *o;
    s->server_name = strdup(o->server_name);
    s->password = o->password && *o->password ? strdup(o->password) : NULL;
    s->motd = o->motd ? strdup(o->motd) : NULL;
    if (!s->server_name || (o->password && *o->password && !s->password) ||
        (o->motd && !s->motd)) {
        set_free(s);
        return NULL;
    }
    s->o.server_name = s->server_name;
    s->o.password = s->password;
    s->o.motd = s->motd;
    s->sendq = o->output_max > 2 * CHAT_SENDQ_RESERVE ? o->output_max - CHAT_SENDQ_RESERVE
                                                      : o->output_max / 2;
    return s;
}

void chat_settings_unref(struct chat_settings *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        set_free(s);
}

struct swap {
    struct chat_worker *wk;
    struct chat_settings *set;
};

static void swap_on_worker(void *arg)
{
    struct swap *sw = arg;
    struct chat_settings *old = sw->wk->set;
    sw->wk->set = sw->set;
    chat_settings_unref(old);
}

/* Worker by worker, waiting for each: once this returns, every client's
 * next line is read under the new set. */
int chat_settings_publish(struct mx_chat *chat, struct chat_settings *s)
{
    int err = 0;
    for (unsigned w = 0; w < chat->nworkers; w++) {
        struct swap sw = { &chat->wk[w], s };
        int e = mx_server_run_sync(chat->srv, w, swap_on_worker, &sw);
        if (e < 0) {
            chat_settings_unref(s); /* worker w's share: it keeps the old set */
            err = e;
        }
    }
    return err;
}
