/* work.h - the work service: heavy requests, run inline or offloaded.
 *
 * A demonstration of what a blocking handler does to a reactor and how the
 * offload pool cures it. Each line is a request:
 *   SPIN <ms>   burn CPU for ms milliseconds of wall time
 *   SLEEP <ms>  block in nanosleep for ms milliseconds
 * both answered "DONE <ms>\n" when finished (ms at most MX_WORK_MAX_MS);
 * any other line is echoed as is. A malformed request gets
 * "ERR bad request\n", a line over max_line "ERR line too long\n" and a
 * close, and with the pool full "ERR busy\n". Replies keep request order.
 */
#ifndef MUXD_PROTO_WORK_H
#define MUXD_PROTO_WORK_H

#include <stdbool.h>
#include <stddef.h>

#define MX_WORK_MAX_MS 60000

struct mx_work_opts {
    bool offload;     /* true: run on the offload pool; false: on the worker */
};

extern const struct mx_proto mx_work_proto;

#endif
