/* report.c - load mode's output (see report.h). */
#include "report.h"

#include <stdio.h>

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/* The heavy line without its '\n', for printing. */
static int req_len(const struct opts *o)
{
    int n = 0;
    while (o->heavy_req[n] && o->heavy_req[n] != '\n')
        n++;
    return n;
}

/* The fields that exist only with --lines or --heavy, so that a plain run
 * prints what it always did. */
static void json_extras(const struct opts *o, const struct result *res, double window_s)
{
    if (o->lines)
        printf(",\"lines\":true");
    if (o->heavy == 0)
        return;
    const struct hist *h = &res->heavy_hist;
    printf(",\"heavy_conns\":%u,\"heavy_line\":\"%.*s\",\"heavy_requests\":%llu,"
           "\"heavy_per_s\":%.2f,\"heavy_lat_p50_us\":%.1f,\"heavy_lat_max_us\":%.1f",
           o->heavy, req_len(o), o->heavy_req, (unsigned long long)res->heavy_reqs,
           (double)res->heavy_reqs / window_s, us(hist_quantile(h, 0.50)), us(h->max));
}

void print_json(const struct opts *o, const struct result *res, double window_s)
{
    const struct hist *h = &res->hist;
    double rate = (double)res->msgs / window_s;
    printf("{\"target\":\"%s\",\"conns\":%u,\"size\":%zu,\"depth\":%u,\"threads\":%u,"
           "\"warmup_s\":%.3f,\"window_s\":%.3f,\"messages\":%llu,\"msgs_per_s\":%.1f,"
           "\"mib_per_s\":%.2f,\"lat_min_us\":%.1f,\"lat_mean_us\":%.1f,\"lat_p50_us\":%.1f,"
           "\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,\"lat_max_us\":%.1f,",
           o->target, o->conns, o->size, o->depth, o->threads, o->warmup, window_s,
           (unsigned long long)res->msgs, rate, rate * (double)o->size / (1024.0 * 1024.0),
           us(h->count ? h->min : 0), hist_mean(h) / 1000.0, us(hist_quantile(h, 0.50)),
           us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)), us(h->max));
    if (res->server_cpu_s >= 0 && res->msgs > 0)
        printf("\"server_pid\":%d,\"server_cpu_s\":%.2f,\"server_cpu_s_per_mmsg\":%.3f,",
               (int)o->server_pid, res->server_cpu_s,
               res->server_cpu_s / ((double)res->msgs / 1e6));
    else
        printf("\"server_pid\":null,\"server_cpu_s\":null,\"server_cpu_s_per_mmsg\":null,");
    printf("\"client_cpu_s\":%.2f,\"machine_busy_s\":%.2f", res->client_cpu_s,
           res->machine_busy_s);
    json_extras(o, res, window_s);
    printf("}\n");
}

static void text_heavy(const struct opts *o, const struct result *res, double window_s)
{
    const struct hist *h = &res->heavy_hist;
    printf("heavy     %u conns x '%.*s': %llu requests (%.2f/s), latency p50 %.1f  max %.1f ms\n",
           o->heavy, req_len(o), o->heavy_req, (unsigned long long)res->heavy_reqs,
           (double)res->heavy_reqs / window_s, us(hist_quantile(h, 0.50)) / 1000.0,
           us(h->max) / 1000.0);
}

void print_text(const struct opts *o, const struct result *res, double window_s)
{
    const struct hist *h = &res->hist;
    double rate = (double)res->msgs / window_s;
    printf("%s: %u conns x depth %u x %zu B%s, %u thread(s), warm-up %.1f s, measured %.3f s\n",
           o->target, o->conns, o->depth, o->size, o->lines ? " lines" : "", o->threads,
           o->warmup, window_s);
    printf("messages  %llu  (%.0f/s, %.2f MiB/s each way), every byte checked\n",
           (unsigned long long)res->msgs, rate, rate * (double)o->size / (1024.0 * 1024.0));
    printf("latency   min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us\n",
           us(h->count ? h->min : 0), us(hist_quantile(h, 0.50)), us(hist_quantile(h, 0.99)),
           us(hist_quantile(h, 0.999)), us(h->max), hist_mean(h) / 1000.0);
    if (o->heavy > 0)
        text_heavy(o, res, window_s);
    if (res->server_cpu_s >= 0 && res->msgs > 0)
        printf("server    %.2f CPU s over the window, %.3f CPU s per million messages\n",
               res->server_cpu_s, res->server_cpu_s / ((double)res->msgs / 1e6));
    if (res->client_cpu_s >= 0)
        printf("client    %.2f CPU s over the window\n", res->client_cpu_s);
    if (res->machine_busy_s >= 0)
        printf("machine   %.2f CPU s busy over the window, all CPUs and processes\n",
               res->machine_busy_s);
}
