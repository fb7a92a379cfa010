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
    free(s->opers);
    free(s->cloak_secret);
    free(s->config_file);
    free(s->motd);
    free(s->server_name);
    free(s->password);
    free(s);
}

static size_t opers_size(const struct mx_chat_opts *o)
{
    size_t n = o->nopers * sizeof(struct mx_chat_oper);
    for (unsigned i = 0; i < o->nopers; i++)
        n += strlen(o->opers[i].name) + strlen(o->opers[i].hash) +
             strlen(o->opers[i].hosts) + 3;
    return n;
}

static const char *put(char **at, const char *str)
{
    size_t n = strlen(str) + 1;
    memcpy(*at, str, n);
    *at += n;
    return *at - n;
}

/* The oper table in one block, its strings after the array. */
static struct mx_chat_oper *opers_copy(const struct mx_chat_opts *o)
{
    if (!o->nopers)
        return NULL;
    struct mx_chat_oper *v = malloc(opers_size(o));
    if (!v)
        return NULL;
    char *at = (char *)(v + o->nopers);
    for (unsigned i = 0; i < o->nopers; i++) {
        v[i].name = put(&at, o->opers[i].name);
        v[i].hash = put(&at, o->opers[i].hash);
        v[i].hosts = put(&at, o->opers[i].hosts);
        v[i].die = o->opers[i].die;
    }
    return v;
}

static char *dup_or_null(const char *str, bool *fail)
{
    char *d = str && *str ? strdup(str) : NULL;
    if (str && *str && !d)
        *fail = true;
    return d;
}

struct chat_settings *chat_settings_new(const struct mx_chat_opts *o, unsigned refs)
{
    struct chat_settings *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, refs);
    s->o = *o;
    bool fail = false;
    s->server_name = dup_or_null(o->server_name, &fail);
    s->password = dup_or_null(o->password, &fail);
    s->motd = o->motd ? strdup(o->motd) : NULL; /* "" stays: an empty MOTD, not none */
    fail |= o->motd && !s->motd;
    s->cloak_secret = dup_or_null(o->cloak_secret, &fail);
    s->config_file = dup_or_null(o->config_file, &fail);
    s->opers = opers_copy(o);
    if (fail || !s->server_name || (o->nopers && !s->opers)) {
        set_free(s);
        return NULL;
    }
    s->o.server_name = s->server_name;
    s->o.password = s->password;
    s->o.motd = s->motd;
    s->o.cloak_secret = s->cloak_secret;
    s->o.config_file = s->config_file;
    s->o.opers = s->opers;
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
