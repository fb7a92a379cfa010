/* admin.c - the admin listener (admin.h), built on the public API alone
 * like any other protocol, so it runs on every backend and under the
 * server's limits.
 *
 * One request per connection: the head is gathered (at most max_request
 * bytes, within request_timeout_ms of connecting, so a slow or endless
 * client is cut off), answered, and the connection closed after the
 * response ("Connection: close"). Scrapes are rare; keep-alive would buy
 * nothing and cost a state machine.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "muxd/muxd.h"
#include "proto/admin/admin.h"
#include "proto/admin/expo.h"
#include "proto/admin/expo_proto.h"
#include "muxd/http.h"

struct areq {
    bool answered;
    size_t len;
    char buf[];     /* max_request bytes */
};

static const struct mx_admin_opts *opts_of(struct mx_conn *c)
{
    return mx_conn_listener_data(c);
}

/* Sends the response and closes once it is written. */
static void respond(struct mx_conn *c, int status, const char *ctype, const char *extra,
                    const char *body, size_t blen)
{
    struct areq *r = mx_conn_data(c);
    struct mx_text t = { 0 };
    mx_text_add(&t, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n%s\r\n",
                status, mx_http_reason(status), ctype, blen, extra ? extra : "");
    if (!t.failed)
        mx_conn_send(c, t.p, t.len);
    if (!t.failed && blen)
        mx_conn_send(c, body, blen);
    mx_text_free(&t);
    r->answered = true;
    mx_conn_timer_stop(c);
    mx_conn_close(c, NULL);
}

static void respond_status(struct mx_conn *c, int status, const char *extra)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, mx_http_reason(status));
    respond(c, status, "text/plain; charset=utf-8", extra, body, (size_t)n);
}

static long long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* not the one opendir holds */
}

static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size, rss = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

/* What the program holds from malloc, apart from what malloc keeps free:
 * RSS over this is fragmentation and free pages not yet given back (a
 * leak grows this, a fragmented heap only RSS). It walks the arenas
 * under their locks: fine once per scrape. */
static long long heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
}

static long long max_fds(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY
               ? -1 : (long long)rl.rlim_cur;
}

/* The numbers, gathered now from the public stats calls and /proc. */
static int gather(struct mx_server *s, struct mx_expo_input *in)
{
    *in = (struct mx_expo_input){ .version = MUXD_VERSION, .backend = mx_server_backend(s) };
    int err = mx_server_stats(s, &in->srv);
    if (err < 0)
        return err;
    /* Retired workers too: their counters only grow. */
    unsigned n = in->srv.workers_seen;
    struct mx_worker_stats *w = calloc(n ? n : 1, sizeof *w);
    if (!w)
        return -ENOMEM;
    for (unsigned i = 0; i < n && err == 0; i++)
        err = mx_server_worker_stats(s, i, &w[i]);
    in->workers = w;
    in->open_fds = count_fds();
    in->max_fds = max_fds();
    in->rss_bytes = rss_bytes();
    in->heap_bytes = heap_bytes();
    size_t nf = mx_fault_counts(in->fault_names, in->fault_counts, 16);
    nf = nf < 16 ? nf : 16;
    uint64_t any = 0;
    for (size_t i = 0; i < nf; i++)
        any += in->fault_counts[i];
    in->nfaults = any ? nf : 0;
    return err;
}

/* Did an earlier open listener than i serve the same protocol state? Then
 * it has reported already (a state shared by listeners counts once). */
static bool reported_before(struct mx_server *s, unsigned i, const struct mx_listener_info *li)
{
    struct mx_listener_info e;
    for (unsigned j = 0; j < i && mx_server_listener(s, j, &e) == 0; j++)
        if (e.open && e.proto == li->proto && e.proto_data == li->proto_data)
            return true;
    return false;
}

/* Each open listener's protocol's own metrics (muxd/proto.h), once per
 * state, labelled with the first listener serving it. A closed
 * listener's are left out: its name may be taken by a new listener. */
static void gather_protos(struct mx_server *s, struct mx_expo_protos *p)
{
    struct mx_listener_info li;
    for (unsigned i = 0; mx_server_listener(s, i, &li) == 0; i++) {
        if (!li.open || !li.proto->metrics || reported_before(s, i, &li))
            continue;
        p->listener = li.name;
        li.proto->metrics(li.proto_data, mx_expo_protos_add, p);
    }
    /* A protocol's bug, the same at every scrape: said once. */
    static atomic_bool said;
    if (p->refused && !atomic_exchange(&said, true))
        mx_warn("admin: %u protocol metrics refused (bad name or type, or reported twice)",
                p->refused);
}

static void serve_metrics(struct mx_conn *c)
{
    struct mx_expo_input in;
    struct mx_expo_protos protos = { 0 };
    struct mx_text t = { 0 };
    int err = gather(mx_conn_server(c), &in);
    if (err == 0) {
        gather_protos(mx_conn_server(c), &protos);
        mx_expo_write(&t, &in);
        mx_expo_protos_write(&t, &protos);
    }
    if (err < 0 || t.failed || protos.failed)
        respond_status(c, err == -EAGAIN ? 503 : 500, NULL);
    else
        respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, t.p, t.len);
    free((void *)in.workers);
    mx_expo_protos_free(&protos);
    mx_text_free(&t);
}

static void route(struct mx_conn *c, const struct mx_http_req *req)
{
    bool metrics = strcmp(req->path, "/metrics") == 0;
    bool health = strcmp(req->path, "/healthz") == 0;
    if (!metrics && !health)
        respond_status(c, 404, NULL);
    else if (strcmp(req->method, "GET") != 0)
        respond_status(c, 405, "Allow: GET\r\n");
    else if (metrics)
        serve_metrics(c);
    else
        respond(c, 200, "text/plain; charset=utf-8", NULL, "ok\n", 3);
}

static void request_timeout(struct mx_conn *c, void *arg)
{
    (void)arg;
    respond_status(c, 408, NULL);
}

static int admin_open(struct mx_conn *c)
{
    const struct mx_admin_opts *o = opts_of(c);
    struct areq *r = malloc(sizeof *r + o->max_request);
    if (!r)
        return -ENOMEM;
    *r = (struct areq){ 0 };
    mx_conn_set_data(c, r);
    return mx_conn_timer(c, o->request_timeout_ms, request_timeout, NULL);
}

/* Takes every byte: the head is gathered here rather than kept by the
 * server, whose max_line may be smaller than max_request. */
static size_t admin_data(struct mx_conn *c, const char *p, size_t n)
{
    struct areq *r = mx_conn_data(c);
    size_t max = opts_of(c)->max_request;
    if (r->answered)
        return n;
    size_t k = n < max - r->len ? n : max - r->len;
    memcpy(r->buf + r->len, p, k);
    r->len += k;
    struct mx_http_req req;
    int st = mx_http_parse(r->buf, r->len, max, &req);
    if (st == 0 && r->len >= max)
        st = 431;   /* full and still no end of the head */
    if (st == 200)
        route(c, &req);
    else if (st != 0)
        respond_status(c, st, NULL);
    return n;
}

static void admin_close(struct mx_conn *c)
{
    free(mx_conn_data(c));
}

const struct mx_proto mx_admin_proto = {
    .name = "admin",
    .on_open = admin_open,
    .on_data = admin_data,
    .on_close = admin_close,
};
