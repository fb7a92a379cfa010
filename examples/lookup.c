/* lookup.c - a line service that offloads blocking work, on muxd.
 *
 *   TIME          -> the current UTC time, answered on the worker
 *   RESOLVE NAME  -> "OK ADDRESS" or "ERR why": getaddrinfo blocks, so it
 *                    runs on the offload pool; the connection is paused
 *                    meanwhile, so pipelined requests are answered in order
 *   QUIT          -> "BYE", then the connection is closed once BYE is sent
 *   lookup [-p PORT]      (PORT 0 = any free port)
 *   printf 'TIME\nRESOLVE localhost\nQUIT\n' | nc 127.0.0.1 7002
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <muxd/muxd.h>
#include <muxd/offload.h>

struct job {
    char name[256], reply[300];
};

static void resolve(void *arg) /* on a pool thread: may block, must not touch c */
{
    struct job *j = arg;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    char host[64] = "?";
    int err = getaddrinfo(j->name, NULL, &hints, &ai);
    if (err) {
        snprintf(j->reply, sizeof j->reply, "ERR %s\n", gai_strerror(err));
        return;
    }
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(ai);
    snprintf(j->reply, sizeof j->reply, "OK %s\n", host);
}

static void resolved(struct mx_conn *c, void *arg) /* back on the owner worker */
{
    struct job *j = arg;
    if (c) { /* NULL: the connection closed meanwhile */
        mx_conn_send(c, j->reply, strlen(j->reply));
        mx_conn_resume(c); /* the kept requests are offered again */
    }
    free(j);
}

static void say(struct mx_conn *c, const char *s) { mx_conn_send(c, s, strlen(s)); }

static size_t lk_data(struct mx_conn *c, const char *p, size_t n)
{
    size_t used = 0;
    for (const char *nl; (nl = memchr(p + used, '\n', n - used));) {
        const char *line = p + used;
        size_t len = (size_t)(nl - line);
        used += len + 1;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 4 && memcmp(line, "TIME", 4) == 0) {
            char buf[64];
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            mx_conn_send(c, buf, strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ\n", &tm));
        } else if (len > 8 && memcmp(line, "RESOLVE ", 8) == 0) {
            struct job *j = calloc(1, sizeof *j);
            int err = !j ? -ENOMEM : len - 8 >= sizeof j->name ? -ENAMETOOLONG : 0;
            if (err == 0) {
                memcpy(j->name, line + 8, len - 8); /* before the pool can see j */
                err = mx_offload(c, resolve, resolved, j);
            }
            if (err == 0) {
                mx_conn_pause(c); /* no more requests until the answer is sent */
                return used;      /* the rest is kept and offered on resume */
            }
            free(j); /* refused (-EBUSY: the pool's queue is full): j is still ours */
            char msg[80];
            snprintf(msg, sizeof msg, "ERR %s\n", strerror(-err));
            say(c, msg);
        } else if (len == 4 && memcmp(line, "QUIT", 4) == 0) {
            say(c, "BYE\n");
            mx_conn_close(c, NULL); /* graceful: BYE is flushed first */
            return n;
        } else {
            say(c, "ERR unknown command\n");
        }
    }
    return used;
}

static const struct mx_proto lookup = { .name = "lookup", .on_data = lk_data };

int main(int argc, char **argv)
{
    struct mx_server_opts o;
    mx_server_opts_default(&o);
    o.workers = 2;
    o.offload_threads = 4;
    char addr[64] = "127.0.0.1:7002";
    int opt, err;
    while ((opt = getopt(argc, argv, "p:")) == 'p')
        snprintf(addr, sizeof addr, "127.0.0.1:%s", optarg);
    if (opt != -1)
        return 2;
    struct mx_server *s;
    if ((err = mx_server_new(&o, &s)) < 0) {
        mx_error("cannot create the server: %s", strerror(-err));
        return 1;
    }
    /* serve: start, wait for SIGINT/SIGTERM, stop gracefully */
    if ((err = mx_server_listen(s, "lookup", addr, &lookup, NULL)) < 0 ||
        (err = mx_server_serve(s, NULL)) < 0) {
        if (err == -EINTR) /* a second signal: the stop was cut short */
            _exit(1);
        mx_error("cannot serve %s: %s", addr, strerror(-err));
        mx_server_free(s);
        return 1;
    }
    mx_server_free(s);
    return 0;
}
