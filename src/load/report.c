/* report.c - the verdict and the output of a run (see report.h). */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "muxd/muxd.h"

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static double per_s(uint64_t n, const struct ld_opts *o)
{
    return (double)n / o->duration;
}

static void judge_chat(struct ld_report *rep)
{
    struct ld_result *r = rep->r;
    uint64_t lost = ld_result_lost(r);
    r->verify_failures += lost + r->duplicated + r->reordered + r->corrupt;
    if (lost)
        ld_result_why(r, "%llu of %llu deliveries lost (never came: none for 1 s after the "
                      "%.1f s drain)", (unsigned long long)lost, (unsigned long long)r->expected,
                      rep->o->drain);
    /* Not a wrong byte, but the server did not keep up with --rate. */
    if (r->late)
        ld_result_why(r, "%llu of %llu deliveries late: after the %.1f s drain, up to %.1f s after "
                      "being due (the server held them back: flood control?)",
                      (unsigned long long)r->late, (unsigned long long)r->expected,
                      rep->o->drain, (double)r->lat.max / 1e9);
    if (r->duplicated || r->reordered || r->corrupt)
        ld_result_why(r, "%llu deliveries duplicated, %llu reordered, %llu corrupt",
                      (unsigned long long)r->duplicated, (unsigned long long)r->reordered,
                      (unsigned long long)r->corrupt);
    if (r->deliveries > r->expected)
        ld_result_why(r, "%llu deliveries but only %llu owed", (unsigned long long)r->deliveries,
                      (unsigned long long)r->expected);
    if (r->messages == 0)
        ld_result_why(r, "no message was sent inside the window");
}

/* The --server-pid process to name when their CPU time could not be read:
 * the first one unreadable now (gone), or -1 if all can be read again. */
static int unreadable_pid(const struct ld_opts *o)
{
    for (unsigned i = 0; i < o->nserver_pids; i++)
        if (ld_proc_cpu_s(o->server_pids[i]) < 0)
            return o->server_pids[i];
    return -1;
}

void ld_report_judge(struct ld_report *rep)
{
    const struct ld_opts *o = rep->o;
    struct ld_result *r = rep->r;
    if (o->mode == LD_CHAT)
        judge_chat(rep);
    if (r->connect_failures > o->max_connect_failures)
        ld_result_why(r, "%llu connects failed", (unsigned long long)r->connect_failures);
    if (o->mode == LD_IDLE && r->messages != r->connected)
        ld_result_why(r, "%llu of %llu connections passed the round trip",
                      (unsigned long long)r->messages, (unsigned long long)r->connected);
    if ((o->mode == LD_ECHO || o->mode == LD_WORK) && r->messages == 0)
        ld_result_why(r, "no message completed inside the window");
    int pid = o->nserver_pids && rep->server_cpu_s < 0 ? unreadable_pid(o) : 0;
    if (pid > 0)
        ld_result_why(r, "cannot read the CPU time of process %d (/proc/%d/stat)", pid, pid);
    else if (pid < 0)
        ld_result_why(r, "cannot read the CPU time of the --server-pid processes at both ends "
                      "of the window");
    rep->ok = r->errors == 0 && r->verify_failures == 0 && !r->why[0];
    if (!rep->ok && !r->why[0])
        ld_result_why(r, "%llu errors, %llu verify failures", (unsigned long long)r->errors,
                      (unsigned long long)r->verify_failures);
}

static void json_latency(struct ld_json *j, const char *key, const struct ld_hist *h)
{
    ld_json_obj(j, key);
    ld_json_num(j, "p50", us(ld_hist_quantile(h, 0.50)), 1);
    ld_json_num(j, "p90", us(ld_hist_quantile(h, 0.90)), 1);
    ld_json_num(j, "p99", us(ld_hist_quantile(h, 0.99)), 1);
    ld_json_num(j, "p999", us(ld_hist_quantile(h, 0.999)), 1);
    ld_json_num(j, "max", us(h->max), 1);
    ld_json_num(j, "min", us(h->count ? h->min : 0), 1);
    ld_json_num(j, "mean", ld_hist_mean(h) / 1000.0, 1);
    ld_json_u64(j, "count", h->count);
    ld_json_close(j);
}

/* CPU microseconds per item, when both are known. */
static void json_cpu_per(struct ld_json *j, const char *key, double cpu_s, uint64_t n)
{
    ld_json_num_or_null(j, key, cpu_s * 1e6 / (double)n, 3, cpu_s >= 0 && n > 0);
}

static void json_options(struct ld_json *j, const struct ld_report *rep)
{
    const struct ld_opts *o = rep->o;
    bool closed = o->rate == 0 && (o->mode == LD_ECHO || o->mode == LD_WORK);
    ld_json_str(j, "tool", "muxd-load");
    ld_json_str(j, "version", MUXD_VERSION);
    ld_json_str(j, "mode", ld_mode_name(o->mode));
    ld_json_str(j, "target", o->target);
    ld_json_u64(j, "conns", o->conns);
    ld_json_u64(j, "threads", rep->threads);
    ld_json_u64(j, "processes", rep->processes);
    ld_json_u64(j, "size", o->size);
    if (closed)
        ld_json_u64(j, "depth", o->depth);
    else
        ld_json_null(j, "depth");
    ld_json_num_or_null(j, "rate", o->rate, 1, o->rate > 0);
    ld_json_num(j, "duration_s", o->duration, 3);
    ld_json_num(j, "warmup_s", o->mode == LD_IDLE ? 0.0 : o->warmup, 3);
    ld_json_bool(j, "lines", o->lines);
}

static void json_chat(struct ld_json *j, const struct ld_report *rep)
{
    const struct ld_result *r = rep->r;
    const struct ld_opts *o = rep->o;
    ld_json_u64(j, "channels", o->channels);
    ld_json_u64(j, "senders", o->senders);
    ld_json_u64(j, "expected_deliveries", r->expected);
    ld_json_u64(j, "deliveries", r->deliveries);
    ld_json_num(j, "deliveries_per_s", per_s(r->deliveries, o), 1);
    ld_json_u64(j, "lost", ld_result_lost(r));
    ld_json_u64(j, "late", r->late);
    ld_json_u64(j, "duplicated", r->duplicated);
    ld_json_u64(j, "reordered", r->reordered);
    ld_json_u64(j, "corrupt", r->corrupt);
    json_cpu_per(j, "server_cpu_us_per_delivery", rep->server_cpu_s, r->deliveries);
}

static void json_heavy(struct ld_json *j, const struct ld_report *rep)
{
    const struct ld_opts *o = rep->o;
    ld_json_obj(j, "heavy");
    ld_json_u64(j, "conns", o->heavy);
    char line[LD_HEAVY_LINE_MAX + 2];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(o->heavy_req, "\n"), o->heavy_req);
    ld_json_str(j, "line", line);
    ld_json_u64(j, "requests", rep->r->heavy_reqs);
    ld_json_num(j, "requests_per_s", per_s(rep->r->heavy_reqs, o), 2);
    json_latency(j, "latency_us", &rep->r->heavy_lat);
    ld_json_close(j);
}

void ld_report_json(const struct ld_report *rep)
{
    const struct ld_opts *o = rep->o;
    const struct ld_result *r = rep->r;
    struct ld_json j;
    ld_json_begin(&j, stdout);
    json_options(&j, rep);
    ld_json_u64(&j, "connected", r->connected);
    ld_json_u64(&j, "connect_failures", r->connect_failures);
    ld_json_u64(&j, "messages", r->messages);
    ld_json_u64(&j, "bytes", r->bytes);
    ld_json_num(&j, "msgs_per_s", per_s(r->messages, o), 1);
    json_latency(&j, "latency_us", &r->lat);
    ld_json_u64(&j, "errors", r->errors);
    ld_json_u64(&j, "verify_failures", r->verify_failures);
    ld_json_bool(&j, "ok", rep->ok);
    ld_json_str(&j, "why", rep->ok ? "" : r->why);
    ld_json_num_or_null(&j, "server_cpu_s", rep->server_cpu_s, 3, rep->server_cpu_s >= 0);
    json_cpu_per(&j, "server_cpu_us_per_msg", rep->server_cpu_s, r->messages);
    if (o->mode == LD_CHAT)
        json_chat(&j, rep);
    if (o->mode == LD_WORK)
        json_heavy(&j, rep);
    if (o->mode == LD_IDLE) {
        ld_json_u64(&j, "roundtrips", r->messages);
        ld_json_bool(&j, "roundtrip_ok", r->connected > 0 && r->messages == r->connected);
    }
    ld_json_end(&j);
}

static void text_latency(const char *what, const struct ld_hist *h)
{
    printf("%-9s p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f us  (%llu)\n", what,
           us(ld_hist_quantile(h, 0.5)), us(ld_hist_quantile(h, 0.9)),
           us(ld_hist_quantile(h, 0.99)), us(ld_hist_quantile(h, 0.999)), us(h->max),
           (unsigned long long)h->count);
}

static void text_mode(const struct ld_report *rep)
{
    const struct ld_opts *o = rep->o;
    const struct ld_result *r = rep->r;
    if (o->mode == LD_CHAT)
        printf("chat      %llu deliveries (%.0f/s) of %llu owed: lost %llu, late %llu, "
               "duplicated %llu, reordered %llu, corrupt %llu\n",
               (unsigned long long)r->deliveries, per_s(r->deliveries, o),
               (unsigned long long)r->expected, (unsigned long long)ld_result_lost(r),
               (unsigned long long)r->late, (unsigned long long)r->duplicated,
               (unsigned long long)r->reordered, (unsigned long long)r->corrupt);
    if (o->mode == LD_WORK) {
        printf("heavy     %u conns x '%.*s': %llu requests (%.2f/s)\n", o->heavy,
               (int)strcspn(o->heavy_req, "\n"), o->heavy_req,
               (unsigned long long)r->heavy_reqs, per_s(r->heavy_reqs, o));
        text_latency("  latency", &r->heavy_lat);
    }
    if (o->mode == LD_IDLE)
        printf("idle      held %.1f s; %llu of %llu round trips verified\n", o->duration,
               (unsigned long long)r->messages, (unsigned long long)r->connected);
}

void ld_report_text(const struct ld_report *rep)
{
    const struct ld_opts *o = rep->o;
    const struct ld_result *r = rep->r;
    printf("muxd-load %s %s: %u conns, %u thread(s) in %u process(es), %zu B, ",
           ld_mode_name(o->mode), o->target, o->conns, rep->threads, rep->processes, o->size);
    if (o->rate > 0)
        printf("%.0f msgs/s open loop", o->rate);
    else
        printf("depth %u", o->depth);
    printf(", warm-up %.1f s, measured %.1f s\n", o->mode == LD_IDLE ? 0.0 : o->warmup,
           o->duration);
    printf("connected %llu, connect failures %llu, errors %llu, verify failures %llu\n",
           (unsigned long long)r->connected, (unsigned long long)r->connect_failures,
           (unsigned long long)r->errors, (unsigned long long)r->verify_failures);
    printf("messages  %llu (%.0f/s, %llu bytes)\n", (unsigned long long)r->messages,
           per_s(r->messages, o), (unsigned long long)r->bytes);
    text_latency("latency", &r->lat);
    text_mode(rep);
    if (rep->server_cpu_s >= 0)
        printf("server    %.3f CPU s in the window, %.3f us per message\n", rep->server_cpu_s,
               r->messages ? rep->server_cpu_s * 1e6 / (double)r->messages : 0.0);
    if (rep->server_cpu_s >= 0 && o->mode == LD_CHAT)
        printf("          %.3f us per delivery\n",
               r->deliveries ? rep->server_cpu_s * 1e6 / (double)r->deliveries : 0.0);
    printf("%s\n", rep->ok ? "ok" : "FAILED");
}
