/* test_admin_expo.c - the Prometheus text formatter
 * (src/proto/admin/expo.c) on numbers made up here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/admin/expo.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

static struct mx_worker_stats ws[2];
static struct mx_text t;

static const char *render(long long fds)
{
    ws[0] = (struct mx_worker_stats){ .conns_opened = 5, .conns_closed = 2, .bytes_in = 100,
                                      .bytes_queued = 90, .bytes_out = 70, .bytes_dropped = 5,
                                      .turns = 4, .turn_ns_sum = 1500000000 };
    ws[0].turn_buckets[0] = 1;                          /* <= 10 us */
    ws[0].turn_buckets[3] = 2;                          /* <= 100 us */
    ws[0].turn_buckets[MX_STATS_TURN_BUCKETS - 1] = 1;  /* above 50 ms */
    ws[0].proxy_accepted = 6;
    ws[0].proxy_refused[MX_PROXY_REFUSED_TIMEOUT] = 2;
    ws[1] = (struct mx_worker_stats){ .conns_opened = 3, .conns_closed = 4 };
    ws[1].proxy_refused[MX_PROXY_REFUSED_MALFORMED] = 3;
    struct mx_expo_input in = {
        .version = "1.2.3", .backend = "we\"ird\\name\n",
        .srv = { .workers = 2, .workers_seen = 2, .conns_open = 3, .rejected_max_conns = 7, .rejected_emfile = 1,
                 .rejected_per_ip_limit = 11, .rejected_per_ip_rate = 12, .per_ip_untracked = 13,
                 .offload_outstanding = 4, .offload_running = 1 },
        .workers = ws, .open_fds = fds, .max_fds = 1024, .rss_bytes = 4096, .heap_bytes = 2048,
    };
    mx_text_free(&t);
    mx_expo_write(&t, &in);
    cr_assert_not(t.failed);
    return t.p;
}

static void teardown(void) { mx_text_free(&t); }
TestSuite(expo, .fini = teardown);

#define HAS(s, line) cr_expect(strstr((s), line "\n") != NULL, "missing: %s", line)

Test(expo, per_worker_counters_and_gauges)
{
    const char *s = render(10);
    HAS(s, "# TYPE muxd_connections_accepted_total counter");
    HAS(s, "muxd_connections_accepted_total{worker=\"0\"} 5");
    HAS(s, "muxd_connections_accepted_total{worker=\"1\"} 3");
    HAS(s, "muxd_received_bytes_total{worker=\"0\"} 100");
    HAS(s, "muxd_connections_open{worker=\"0\"} 3");
    HAS(s, "muxd_connections_open{worker=\"1\"} 0");   /* read apart: never negative */
    HAS(s, "muxd_output_queued_bytes{worker=\"0\"} 15");
    HAS(s, "muxd_proxy_headers_accepted_total{worker=\"0\"} 6");
    HAS(s, "# TYPE muxd_proxy_headers_refused_total counter");
    HAS(s, "muxd_proxy_headers_refused_total{worker=\"0\",reason=\"timeout\"} 2");
    HAS(s, "muxd_proxy_headers_refused_total{worker=\"0\",reason=\"malformed\"} 0");
    HAS(s, "muxd_proxy_headers_refused_total{worker=\"1\",reason=\"malformed\"} 3");
    HAS(s, "muxd_proxy_headers_refused_total{worker=\"1\",reason=\"untrusted\"} 0");
}

Test(expo, server_wide)
{
    const char *s = render(10);
    HAS(s, "muxd_connections_rejected_total{reason=\"max_connections\"} 7");
    HAS(s, "muxd_connections_rejected_total{reason=\"emfile\"} 1");
    HAS(s, "muxd_connections_rejected_total{reason=\"per_ip_limit\"} 11");
    HAS(s, "muxd_connections_rejected_total{reason=\"per_ip_rate\"} 12");
    HAS(s, "muxd_connections_untracked_total 13");
    HAS(s, "muxd_offload_jobs_running 1");
    HAS(s, "muxd_offload_jobs_queued 3");
    HAS(s, "muxd_workers 2");
    HAS(s, "muxd_process_open_fds 10");
    HAS(s, "muxd_process_resident_memory_bytes 4096");
    HAS(s, "muxd_heap_allocated_bytes 2048");
}

Test(expo, label_values_are_escaped)
{
    const char *s = render(10);
    HAS(s, "muxd_info{version=\"1.2.3\",backend=\"we\\\"ird\\\\name\\n\"} 1");
}

Test(expo, unknown_process_figures_are_left_out)
{
    const char *s = render(-1);
    cr_assert_null(strstr(s, "muxd_process_open_fds"));
}

Test(expo, histogram_is_cumulative)
{
    const char *s = render(10);
    HAS(s, "# TYPE muxd_loop_turn_duration_seconds histogram");
    HAS(s, "muxd_loop_turn_duration_seconds_bucket{worker=\"0\",le=\"1e-05\"} 1");
    HAS(s, "muxd_loop_turn_duration_seconds_bucket{worker=\"0\",le=\"5e-05\"} 1");
    HAS(s, "muxd_loop_turn_duration_seconds_bucket{worker=\"0\",le=\"0.0001\"} 3");
    HAS(s, "muxd_loop_turn_duration_seconds_bucket{worker=\"0\",le=\"0.05\"} 3");
    HAS(s, "muxd_loop_turn_duration_seconds_bucket{worker=\"0\",le=\"+Inf\"} 4");
    HAS(s, "muxd_loop_turn_duration_seconds_count{worker=\"0\"} 4");
    HAS(s, "muxd_loop_turn_duration_seconds_sum{worker=\"0\"} 1.500000000");
}

/* Every sample line is NAME[{labels}] VALUE, every family has HELP and
 * TYPE before its samples, and the text ends with a newline. */
Test(expo, every_line_is_well_formed)
{
    const char *s = render(10);
    size_t n = strlen(s);
    cr_assert(n > 0 && s[n - 1] == '\n');
    char fam[128] = "";
    for (const char *line = s; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = (size_t)(nl - line);
        char buf[512];
        cr_assert_lt(len, sizeof buf);
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (strncmp(buf, "# HELP ", 7) == 0) {
            sscanf(buf + 7, "%127s", fam);
        } else if (strncmp(buf, "# TYPE ", 7) != 0) {
            cr_expect_eq(strncmp(buf, fam, strlen(fam)), 0, "%s outside its family %s", buf, fam);
            const char *sp = strrchr(buf, ' ');
            cr_expect_not_null(sp, "%s", buf);
        }
        line = nl + 1;
    }
}

/* ---- the protocols' own metrics (expo_proto.c) -------------------------- */

#include "proto/admin/expo_proto.h"

static void report(struct mx_expo_protos *p, const char *listener, const char *name,
                   enum mx_metric_type type, unsigned workers, const uint64_t *v)
{
    p->listener = listener;
    mx_expo_protos_add(p, &(struct mx_metric){ .name = name, .help = "Some\\thing\nelse.",
                                              .type = type, .workers = workers, .values = v });
}

Test(expo, protocol_families_are_one_block_each_labelled_by_listener)
{
    static const uint64_t two[] = { 4, 5 }, one[] = { 7 }, other[] = { 9 };
    struct mx_expo_protos p = { 0 };
    const char *a = "chat", *b = "ch\"at2";
    report(&p, a, "x_total", MX_METRIC_COUNTER, 2, two);
    report(&p, a, "x_users", MX_METRIC_GAUGE, 0, one);
    report(&p, b, "x_total", MX_METRIC_COUNTER, 2, two);
    report(&p, b, "x_users", MX_METRIC_GAUGE, 0, other);
    mx_expo_protos_write(&t, &p);
    cr_assert_not(t.failed);
    cr_assert_not(p.failed);
    cr_assert_eq(p.refused, 0);
    cr_assert_str_eq(t.p,
        "# HELP x_total Some\\\\thing\\nelse.\n# TYPE x_total counter\n"
        "x_total{listener=\"chat\",worker=\"0\"} 4\nx_total{listener=\"chat\",worker=\"1\"} 5\n"
        "x_total{listener=\"ch\\\"at2\",worker=\"0\"} 4\n"
        "x_total{listener=\"ch\\\"at2\",worker=\"1\"} 5\n"
        "# HELP x_users Some\\\\thing\\nelse.\n# TYPE x_users gauge\n"
        "x_users{listener=\"chat\"} 7\nx_users{listener=\"ch\\\"at2\"} 9\n");
    mx_expo_protos_free(&p);
}

Test(expo, protocol_metrics_that_would_break_the_text_are_refused)
{
    static const uint64_t one[] = { 1 };
    struct mx_expo_protos p = { 0 };
    const char *a = "a", *b = "b";
    report(&p, a, "ok_total", MX_METRIC_COUNTER, 0, one);
    report(&p, a, "ok_total", MX_METRIC_COUNTER, 0, one);   /* twice from one listener */
    report(&p, b, "ok_total", MX_METRIC_GAUGE, 0, one);     /* another type */
    report(&p, a, "9lives", MX_METRIC_GAUGE, 0, one);
    report(&p, a, "has space", MX_METRIC_GAUGE, 0, one);
    report(&p, a, "", MX_METRIC_GAUGE, 0, one);
    report(&p, a, "typo", (enum mx_metric_type)7, 0, one);
    mx_expo_protos_write(&t, &p);
    cr_assert_eq(p.refused, 6);
    cr_assert_str_eq(t.p, "# HELP ok_total Some\\\\thing\\nelse.\n# TYPE ok_total counter\n"
                          "ok_total{listener=\"a\"} 1\n");
    mx_expo_protos_free(&p);
}
