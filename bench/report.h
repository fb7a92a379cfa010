/* report.h - what load mode prints: text, or one JSON object. Latency and
 * msgs/s are the light connections'; heavy requests are reported apart. */
#ifndef ECHO_BENCH_REPORT_H
#define ECHO_BENCH_REPORT_H

#include "load.h"
#include "opts.h"

void print_json(const struct opts *o, const struct result *res, double window_s);
void print_text(const struct opts *o, const struct result *res, double window_s);

#endif
