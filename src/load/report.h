/* report.h - judging a finished run and printing it: a human summary, or
 * with --json exactly one JSON object on stdout (the keys are listed in
 * docs/load.md; bench scripts rely on them). */
#ifndef MUXD_LOAD_REPORT_H
#define MUXD_LOAD_REPORT_H

#include <stdbool.h>

#include "opts.h"
#include "result.h"

struct ld_report {
    const struct ld_opts *o;
    struct ld_result *r;
    double server_cpu_s;     /* < 0: not measured */
    unsigned processes, threads;
    bool ok;
};

/* Decides ok: no error, nothing wrong verified, failures within what was
 * allowed, something measured; fills r->why when it is not ok and no
 * reason is there yet. Chat's losses, duplicates, reorders and corrupt
 * texts are added to verify_failures. */
void ld_report_judge(struct ld_report *rep);
void ld_report_json(const struct ld_report *rep);
void ld_report_text(const struct ld_report *rep);

#endif
