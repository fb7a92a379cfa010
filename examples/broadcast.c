/* broadcast.c - a chat in the style of the select() tutorials, on muxd.
 *
 * Every line a client sends goes to every connected client, the sender
 * included, whichever worker owns them. A worker touches only its own
 * connections, so the line becomes one shared chunk and each target's
 * owner sends it: mx_server_post(server, id, deliver, chunk reference).
 *   broadcast [-p PORT]       (4 workers; PORT 0 = any free port)
 *   nc 127.0.0.1 7001                    (in two or more terminals)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <muxd/muxd.h>

static struct mx_server *server;
/* The ids of all open connections. Lines are posted under the lock too:
 * every client sees them in one order, and a target's on_close (which
 * waits for the lock) cannot run while a line is being posted to it. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *ids;
static size_t nids, cap;

static int bc_open(struct mx_conn *c)
{
    pthread_mutex_lock(&mu);
    if (nids == cap) {
        uint64_t *v = realloc(ids, (cap ? 2 * cap : 64) * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&mu);
            return -ENOMEM; /* refused: muxd closes the connection */
        }
        ids = v;
        cap = cap ? 2 * cap : 64;
    }
    ids[nids++] = mx_conn_id(c);
    pthread_mutex_unlock(&mu);
    return 0;
}

static void bc_close(struct mx_conn *c)
{
    uint64_t id = mx_conn_id(c);
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nids; i++)
        if (ids[i] == id) {
            ids[i] = ids[--nids];
            break;
        }
    pthread_mutex_unlock(&mu);
}

/* Runs on the target's owner worker; c is NULL if it closed meanwhile. */
static void deliver(struct mx_conn *c, void *arg)
{
    if (c)
        mx_conn_send_chunk(c, arg); /* the queue takes its own reference */
    mx_chunk_unref(arg);            /* drop the one this post carried */
}

static size_t bc_data(struct mx_conn *c, const char *p, size_t n)
{
    (void)c; /* the sender gets its line like everyone else */
    size_t used = 0;
    for (const char *nl; (nl = memchr(p + used, '\n', n - used));) {
        size_t len = (size_t)(nl - (p + used)) + 1;
        struct mx_chunk *ch = mx_chunk_copy(p + used, len); /* one copy for all */
        used += len;
        if (!ch)
            continue; /* out of memory: this line is lost */
        pthread_mutex_lock(&mu);
        for (size_t i = 0; i < nids; i++)
            if (mx_server_post(server, ids[i], deliver, mx_chunk_ref(ch)) < 0)
                mx_chunk_unref(ch);
        pthread_mutex_unlock(&mu);
        mx_chunk_unref(ch);
    }
    return used; /* an unfinished line is kept and offered again */
}

static const struct mx_proto broadcast = {
    .name = "broadcast", .on_open = bc_open, .on_data = bc_data, .on_close = bc_close,
};

int main(int argc, char **argv)
{
    struct mx_server_opts o;
    mx_server_opts_default(&o);
    o.workers = 4;
    char addr[64] = "127.0.0.1:7001";
    int opt, err;
    while ((opt = getopt(argc, argv, "p:")) == 'p')
        snprintf(addr, sizeof addr, "127.0.0.1:%s", optarg);
    if (opt != -1)
        return 2;
    if ((err = mx_server_new(&o, &server)) < 0) {
        mx_error("cannot create the server: %s", strerror(-err));
        return 1;
    }
    /* serve: start, wait for SIGINT/SIGTERM, stop gracefully */
    if ((err = mx_server_listen(server, "broadcast", addr, &broadcast, NULL)) < 0 ||
        (err = mx_server_serve(server, NULL)) < 0) {
        if (err == -EINTR) /* a second signal: the stop was cut short */
            _exit(1);
        mx_error("cannot serve %s: %s", addr, strerror(-err));
        mx_server_free(server);
        return 1;
    }
    mx_server_free(server); /* joins the threads */
    free(ids);
    return 0;
}
