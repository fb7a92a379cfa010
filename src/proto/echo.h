/* echo.h - the echo service: raw bytes, whole lines, or upper-cased lines. */
#ifndef MUXD_PROTO_ECHO_H
#define MUXD_PROTO_ECHO_H

#include <stddef.h>

enum mx_echo_mode { MX_ECHO_RAW, MX_ECHO_LINE, MX_ECHO_UPPER };

struct mx_echo_opts {
    enum mx_echo_mode mode;
};

extern const struct mx_proto mx_echo_proto;

/* "raw" | "line" | "upper" -> mode; -EINVAL otherwise. */
int mx_echo_mode_parse(const char *s, enum mx_echo_mode *out);
const char *mx_echo_mode_name(enum mx_echo_mode m);

#endif
