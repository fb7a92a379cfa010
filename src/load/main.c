/* main.c - muxd-load: a load generator and checker for echo, IRC (chat),
 * idle and work servers, and a prober of how a server treats abusive
 * clients (hostile: hostile.h). See docs/load.md for the manual and README.md in
 * this directory for which file does what.
 *
 *   muxd-load MODE [options] HOST:PORT
 *
 * Exit status: 0 on a clean run, 1 when a check failed or the run could
 * not be done (the reason on stderr), 2 for a bad command line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "hostile.h"
#include "opts.h"
#include "pattern.h"
#include "report.h"
#include "run.h"
#include "spawn.h"

static int usage_error(const char *err, const struct ld_opts *o)
{
    fprintf(stderr, "muxd-load: %s\n", err);
    if (o->mode < LD_NMODES)
        fprintf(stderr, "see: muxd-load %s --help\n", ld_mode_name(o->mode));
    else
        fprintf(stderr, "see: muxd-load --help\n");
    return 2;
}

/* Runs, judges, prints; the exit status. */
static int run(const struct ld_opts *o, unsigned procs)
{
    struct ld_result *res = malloc(sizeof *res);
    if (!res) {
        fprintf(stderr, "muxd-load: out of memory\n");
        return 1;
    }
    ld_result_init(res);
    struct ld_report rep = { .o = o, .r = res, .processes = procs,
                             .threads = ld_threads_in_all(o, procs) };
    int rc = procs > 1 ? ld_run_forked(o, procs, res, &rep.server_cpu_s)
                       : ld_run_alone(o, res, &rep.server_cpu_s);
    if (rc < 0) {
        free(res);
        return 1;
    }
    ld_report_judge(&rep);
    (o->json ? ld_report_json : ld_report_text)(&rep);
    fflush(stdout);
    if (!rep.ok)
        fprintf(stderr, "muxd-load: FAILED: %s\n", res->why);
    free(res);
    return rep.ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct ld_opts o;
    char err[512];
    int pr = ld_parse_args(&o, argc, argv, err, sizeof err);
    if (pr == LD_PARSE_HELP) {
        ld_print_usage(stdout, o.mode);
        return 0;
    }
    if (pr != LD_PARSE_OK)
        return usage_error(err, &o);
    signal(SIGPIPE, SIG_IGN);
    if (o.mode == LD_HOSTILE)
        return ld_hostile_main(&o);
    unsigned procs = ld_processes_needed(&o);
    if (procs == 0)
        return 1;
    if (ld_pat_init(o.lines, o.size) < 0) {
        fprintf(stderr, "muxd-load: out of memory for the pattern\n");
        return 1;
    }
    int rc = run(&o, procs);
    ld_pat_free();
    return rc;
}
