/* hs_report.c - hostile mode's report: a table on a terminal, or one JSON
 * object (the keys are in docs/load.md). */
#include "hostile.h"

#include <stdio.h>

#include "json.h"
#include "muxd/muxd.h"

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double p99_ms(const struct ld_hs_good_stats *s)
{
    return ms(ld_hist_quantile(&s->lat, 0.99));
}

static double ratio(const struct ld_hs_report *rep, const struct ld_hs_case_result *r)
{
    double base = p99_ms(&rep->baseline);
    return base > 0 ? p99_ms(&r->good) / base : 0.0;
}

/* ---- text ---- */

static void text_side(const struct ld_hs_case_result *r)
{
    if (r->outcome == LD_HS_NOT_RUN && !r->setup_failed)
        printf("not run: the server is gone\n");
    else if (r->id == HC_CONNECT_FLOOD)
        printf("opened %llu, refused %llu, closed %llu, pending %llu, slowest %.0f ms\n",
               (unsigned long long)r->opened, (unsigned long long)r->refused,
               (unsigned long long)r->cut, (unsigned long long)r->pending, r->connect_max_ms);
    else
        printf("sent %llu B, got %llu B, stall %.0f ms, lag %.0f ms, %llu error replies\n",
               (unsigned long long)r->sent, (unsigned long long)r->recvd, r->stall_ms,
               r->lag_ms, (unsigned long long)r->error_replies);
}

static void text_case(const struct ld_hs_report *rep, const struct ld_hs_case_result *r)
{
    char after[32] = "-", p99[32] = "-", x[32] = "-";
    if (r->outcome == LD_HS_CUT)
        snprintf(after, sizeof after, "%.1f ms", r->cut_ms);
    if (r->good.lat.count) {
        snprintf(p99, sizeof p99, "%.2f ms", p99_ms(&r->good));
        snprintf(x, sizeof x, "%.1fx", ratio(rep, r));
    }
    printf("%-16s %-10s %-9s %12s %7s   ", ld_hcases[r->id].name, ld_hs_outcome_name(r->outcome),
           after, p99, x);
    text_side(r);
    if (r->note[0])
        printf("%-16s note: %s\n", "", r->note);
    if (r->finding[0])
        printf("%-16s FINDING: %s\n", "", r->finding);
}

void ld_hs_report_text(const struct ld_hs_report *rep)
{
    const struct ld_opts *o = rep->o;
    printf("muxd-load hostile %s: --proto %s, %u well-behaved clients (%.0f probes/s), "
           "%u abuser(s) per case, %.1f s each\n", o->target,
           o->hproto == LD_HP_CHAT ? "chat" : "echo", o->conns, o->rate, o->abusers,
           o->duration);
    if (rep->setup_failed) {
        printf("FAILED: %s\n", rep->setup_why);
        return;
    }
    const struct ld_hs_good_stats *b = &rep->baseline;
    printf("baseline: well-behaved p99 %.2f ms (p50 %.2f ms, max %.2f ms, %llu probes)\n",
           p99_ms(b), ms(ld_hist_quantile(&b->lat, 0.5)), ms(b->lat.max),
           (unsigned long long)b->answered);
    printf("%-16s %-10s %-9s %12s %7s   %s\n", "case", "outcome", "after", "p99", "ratio",
           "the abuser's side");
    for (unsigned i = 0; i < rep->ncases; i++)
        text_case(rep, &rep->cases[i]);
    printf("%u finding(s)\n%s\n", rep->findings, rep->findings ? "FAILED" : "ok");
}

/* ---- JSON ---- */

static void json_good(struct ld_json *j, const char *key, const struct ld_hs_good_stats *s)
{
    ld_json_obj(j, key);
    ld_json_num(j, "p50_ms", ms(ld_hist_quantile(&s->lat, 0.5)), 3);
    ld_json_num(j, "p99_ms", p99_ms(s), 3);
    ld_json_num(j, "max_ms", ms(s->lat.max), 3);
    ld_json_u64(j, "probes", s->probes);
    ld_json_u64(j, "answered", s->answered);
    ld_json_u64(j, "owed", s->owed);
    ld_json_u64(j, "closed", s->lost);
    ld_json_close(j);
}

static void json_case(struct ld_json *j, const struct ld_hs_report *rep,
                      const struct ld_hs_case_result *r)
{
    ld_json_obj(j, ld_hcases[r->id].name);
    ld_json_str(j, "outcome", ld_hs_outcome_name(r->outcome));
    ld_json_num_or_null(j, "cut_ms", r->cut_ms, 1, r->outcome == LD_HS_CUT);
    ld_json_u64(j, "abusers", r->abusers);
    ld_json_u64(j, "cut", r->cut);
    ld_json_num(j, "stall_ms", r->stall_ms, 1);
    ld_json_num(j, "lag_ms", r->lag_ms, 1);
    ld_json_u64(j, "sent_bytes", r->sent);
    ld_json_u64(j, "recv_bytes", r->recvd);
    ld_json_u64(j, "error_replies", r->error_replies);
    if (r->id == HC_CONNECT_FLOOD) {
        ld_json_u64(j, "opened", r->opened);
        ld_json_u64(j, "refused", r->refused);
        ld_json_u64(j, "pending", r->pending);
        ld_json_num(j, "connect_max_ms", r->connect_max_ms, 1);
    }
    json_good(j, "well_behaved", &r->good);
    ld_json_num(j, "p99_ratio", ratio(rep, r), 2);
    ld_json_str(j, "note", r->note);
    if (r->finding[0])
        ld_json_str(j, "finding", r->finding);
    else
        ld_json_null(j, "finding");
    ld_json_close(j);
}

void ld_hs_report_json(const struct ld_hs_report *rep)
{
    const struct ld_opts *o = rep->o;
    struct ld_json j;
    ld_json_begin(&j, stdout);
    ld_json_str(&j, "tool", "muxd-load");
    ld_json_str(&j, "version", MUXD_VERSION);
    ld_json_str(&j, "mode", "hostile");
    ld_json_str(&j, "target", o->target);
    ld_json_str(&j, "proto", o->hproto == LD_HP_CHAT ? "chat" : "echo");
    ld_json_u64(&j, "conns", o->conns);
    ld_json_num(&j, "rate", o->rate, 1);
    ld_json_u64(&j, "abusers", o->abusers);
    ld_json_num(&j, "duration_s", o->duration, 3);
    json_good(&j, "baseline", &rep->baseline);
    ld_json_obj(&j, "cases");
    for (unsigned i = 0; i < rep->ncases; i++)
        json_case(&j, rep, &rep->cases[i]);
    ld_json_close(&j);
    ld_json_u64(&j, "findings", rep->findings);
    ld_json_bool(&j, "ok", !rep->setup_failed && rep->findings == 0);
    ld_json_str(&j, "why", rep->setup_failed ? rep->setup_why : "");
    ld_json_end(&j);
}
