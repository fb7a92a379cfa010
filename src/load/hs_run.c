/* hs_run.c - muxd-load hostile from start to end: the well-behaved
 * clients come up, a baseline is measured with no abuser, then each case
 * runs in turn beside them, the server is checked to still accept after
 * each, and every case is judged. Exit status: 0 when nothing was found,
 * 1 when a case found a weakness (or the run could not be set up). */
#include "hostile.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"

/* Let the server close what the case left behind before the next one. */
#define SETTLE_NS (300 * NS_PER_MS)

const char *ld_hs_outcome_name(enum ld_hs_outcome v)
{
    static const char *const names[] = { "NOT_RUN", "CUT", "THROTTLED", "REFUSED", "IGNORED",
                                         "DOWN" };
    return names[v];
}

static double p99_ms(const struct ld_hs_good_stats *s)
{
    return (double)ld_hist_quantile(&s->lat, 0.99) / 1e6;
}

static enum ld_hs_outcome outcome_of(const struct ld_hs_case_result *r)
{
    if (r->id == HC_CONNECT_FLOOD) {
        if (r->refused + r->cut > 0)
            return LD_HS_CUT;
        return r->pending || r->connect_max_ms >= 1000 ? LD_HS_THROTTLED : LD_HS_IGNORED;
    }
    if (r->id == HC_RESET)
        return LD_HS_IGNORED; /* reset by us: what matters is that the server lives */
    if (r->abusers && r->cut == r->abusers)
        return LD_HS_CUT;
    if (r->stall_ms >= LD_HS_THROTTLE_NS / 1e6 || r->lag_ms >= LD_HS_THROTTLE_NS / 1e6)
        return LD_HS_THROTTLED;
    return r->error_replies ? LD_HS_REFUSED : LD_HS_IGNORED;
}

/* Probes of h at or above ns (to the histogram's bucket). */
static uint64_t slower_than(const struct ld_hist *h, uint64_t ns)
{
    uint64_t n = 0;
    for (unsigned i = ld_hist_index(ns); i < LD_HIST_BUCKETS; i++)
        n += h->b[i];
    return n;
}

/* The first weakness the case shows, or none. */
static void find(const struct ld_hs_report *rep, struct ld_hs_case_result *r)
{
    const struct ld_opts *o = rep->o;
    double base = p99_ms(&rep->baseline);
    double thr = base * LD_HS_BLOWN_RATIO > LD_HS_BLOWN_MIN_NS / 1e6 ? base * LD_HS_BLOWN_RATIO
                                                                : LD_HS_BLOWN_MIN_NS / 1e6;
    uint64_t slow = slower_than(&r->good.lat, (uint64_t)(thr * 1e6));
    bool blown = slow >= 2 && (double)slow >= LD_HS_BLOWN_SHARE * (double)r->good.lat.count;
    char note[161];
    snprintf(note, sizeof note, "%.160s", r->note);   /* gcc cannot tell it from r->finding */
    if (r->setup_failed)
        snprintf(r->finding, sizeof r->finding, "the case could not be set up: %s", note);
    else if (r->good.owed && r->good.answered * 2 < r->good.probes)
        snprintf(r->finding, sizeof r->finding,
                 "the well-behaved clients stalled: %llu of %llu probes answered",
                 (unsigned long long)r->good.answered, (unsigned long long)r->good.probes);
    else if (r->good.lost)
        snprintf(r->finding, sizeof r->finding,
                 "%llu well-behaved connections were closed by the server",
                 (unsigned long long)r->good.lost);
    else if (blown)
        snprintf(r->finding, sizeof r->finding,
                 "%llu of %llu well-behaved probes took over %.0f ms (p99 %.1f ms, baseline "
                 "p99 %.2f ms)", (unsigned long long)slow,
                 (unsigned long long)r->good.lat.count, thr, p99_ms(&r->good), base);
    else if (r->outcome == LD_HS_IGNORED && ld_hcases[r->id].ignored_is_finding)
        snprintf(r->finding, sizeof r->finding, "the abuse went on unchecked for %.1f s",
                 o->duration);
}

static void judge(struct ld_hs_report *rep, struct ld_hs_case_result *r, bool alive, int err)
{
    r->outcome = r->setup_failed ? LD_HS_NOT_RUN : outcome_of(r);
    find(rep, r);
    if (!alive) {
        /* What it did before it went is worth keeping too. */
        char before[sizeof r->finding];
        snprintf(before, sizeof before, "%s", r->finding);
        r->outcome = LD_HS_DOWN;
        snprintf(r->finding, sizeof r->finding, "the server is gone: a new connection got %s%s"
                 "%.120s", strerror(-err), before[0] ? "; before that: " : "", before);
    }
    if (r->finding[0])
        rep->findings++;
    if (!r->note[0] && r->abusers > 1 && r->cut && r->cut < r->abusers)
        snprintf(r->note, sizeof r->note, "%u of %u abusers cut", r->cut, r->abusers);
}

/* One case beside the well-behaved clients; false once the server is gone. */
static bool run_case(struct ld_hs_report *rep, struct ld_hs_good *g, enum ld_hcase id)
{
    struct ld_hs_case_result *r = &rep->cases[rep->ncases++];
    r->id = id;
    ld_hs_good_phase(g, (int)id);
    ld_hs_case_run(rep->o, id, r);
    ld_hs_good_phase(g, -1);
    r->good = g->stats[id];
    ld_sleep_ns(SETTLE_NS);
    int err = ld_hs_alive(rep->o);
    judge(rep, r, err == 0, err);
    return err == 0;
}

static void run_all(struct ld_hs_report *rep, struct ld_hs_good *g)
{
    const struct ld_opts *o = rep->o;
    ld_hs_good_phase(g, HC_COUNT);
    ld_sleep_ns(ld_secs_ns(o->duration));
    ld_hs_good_phase(g, -1);
    rep->baseline = g->stats[HC_COUNT];
    bool up = true;
    for (unsigned id = 0; id < HC_COUNT; id++) {
        if (!(o->hcases & (1u << id)))
            continue;
        if (up) {
            up = run_case(rep, g, (enum ld_hcase)id);
        } else {
            rep->cases[rep->ncases++] = (struct ld_hs_case_result){ .id = (enum ld_hcase)id };
        }
    }
}

/* connect-flood holds up to --flood-conns descriptors at once. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int ld_hostile_main(const struct ld_opts *o)
{
    static struct ld_hs_report rep;   /* large: a histogram per case */
    static struct ld_hs_good g;
    rep.o = o;
    raise_nofile();
    int err = ld_hs_alive(o);
    if (err < 0) {
        rep.setup_failed = true;
        snprintf(rep.setup_why, sizeof rep.setup_why, "cannot connect to %s: %s", o->target,
                 strerror(-err));
    } else if (ld_hs_good_start(&g, o) < 0) {
        rep.setup_failed = true;
        snprintf(rep.setup_why, sizeof rep.setup_why, "%s", g.why);
    } else {
        run_all(&rep, &g);
        ld_hs_good_stop(&g);
    }
    (o->json ? ld_hs_report_json : ld_hs_report_text)(&rep);
    fflush(stdout);
    if (rep.setup_failed)
        fprintf(stderr, "muxd-load: FAILED: %s\n", rep.setup_why);
    else if (rep.findings)
        fprintf(stderr, "muxd-load: FAILED: %u finding(s) against %s\n", rep.findings,
                o->target);
    return rep.setup_failed || rep.findings ? 1 : 0;
}
