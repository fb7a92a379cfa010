/* admin.h - the admin listener: HTTP/1.1 GET /metrics (Prometheus text,
 * format 0.0.4) and GET /healthz ("ok"), one request per connection. */
#ifndef MUXD_PROTO_ADMIN_H
#define MUXD_PROTO_ADMIN_H

#include <stddef.h>

struct mx_admin_opts {
    unsigned request_timeout_ms;  /* the whole head must arrive within it */
    size_t max_request;           /* bytes of request head at most */
};

/* proto_data: a struct mx_admin_opts that outlives the server. */
extern const struct mx_proto mx_admin_proto;

#endif
