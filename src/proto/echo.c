/* echo.c - the echo service.
 *
 * raw echoes bytes as they arrive; line echoes whole lines; upper echoes
 * lines upper-cased, as the select() tutorials do. A line over max_line
 * gets "ERR line too long" and the connection is closed. A partial line
 * left at EOF is dropped: only whole lines are echoed in line modes.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "muxd/conn.h"
#include "muxd/proto.h"
#include "proto/echo.h"
#include "proto/line.h"

static const char *const mode_names[] = { "raw", "line", "upper" };

int mx_echo_mode_parse(const char *s, enum mx_echo_mode *out)
{
    for (unsigned i = 0; i < sizeof mode_names / sizeof *mode_names; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (enum mx_echo_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *mx_echo_mode_name(enum mx_echo_mode m) { return mode_names[m]; }

/* 0, or the send's error once the connection is closing. */
static int send_upper(struct mx_conn *c, const char *p, size_t n)
{
    char tmp[4096];
    while (n > 0) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        for (size_t i = 0; i < k; i++)
            tmp[i] = (p[i] >= 'a' && p[i] <= 'z') ? (char)(p[i] - 'a' + 'A') : p[i];
        int err = mx_conn_send(c, tmp, k);
        if (err < 0)
            return err;
        p += k;
        n -= k;
    }
    return 0;
}

static size_t echo_lines(struct mx_conn *c, const struct mx_echo_opts *o,
                         const char *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        ssize_t k = mx_line_next(p + off, n - off, mx_conn_max_line(c));
        if (k < 0) {
            /* Lines before the long one still get their echo. */
            if (o->mode == MX_ECHO_LINE)
                mx_conn_send(c, p, off);
            static const char err[] = "ERR line too long\n";
            mx_conn_send(c, err, sizeof err - 1);
            mx_conn_close(c, "line too long");
            return n;
        }
        if (k == 0)
            break;
        /* A failed send means the connection is gone (over output_max):
         * stop, whatever is left is never answered. */
        if (o->mode == MX_ECHO_UPPER && send_upper(c, p + off, (size_t)k) < 0)
            return n;
        off += (size_t)k;
    }
    /* line mode echoes every complete line in one go */
    if (o->mode == MX_ECHO_LINE)
        mx_conn_send(c, p, off);
    return off;
}

static size_t echo_data(struct mx_conn *c, const char *p, size_t n)
{
    const struct mx_echo_opts *o = mx_conn_listener_data(c);
    if (o->mode == MX_ECHO_RAW) {
        mx_conn_send(c, p, n);
        return n;
    }
    return echo_lines(c, o, p, n);
}

const struct mx_proto mx_echo_proto = {
    .name = "echo",
    .on_data = echo_data,
};
