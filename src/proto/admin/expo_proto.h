/* expo_proto.h - the protocols' own metrics (struct mx_proto's metrics
 * callback, muxd/stats.h) gathered for the exposition. Several listeners
 * may report one family (two chat networks both have muxd_chat_users),
 * and the format wants each family as one block: samples are kept per
 * family until every protocol has reported, each labelled with its
 * listener. Pure: the unit tests feed it made-up metrics. */
#ifndef MUXD_PROTO_ADMIN_EXPO_PROTO_H
#define MUXD_PROTO_ADMIN_EXPO_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "muxd/stats.h"
#include "proto/admin/expo.h"

struct mx_expo_family {
    char *name, *help;
    enum mx_metric_type type;
    const char *last;            /* the listener whose samples came last */
    struct mx_text samples;
};

struct mx_expo_protos {
    /* Set by the caller before each protocol reports: the listener="..."
     * value of what comes next. One pointer per listener: a family that
     * comes twice with the same pointer is a protocol repeating itself. */
    const char *listener;
    struct mx_expo_family *v;
    size_t n, cap;
    bool failed;                 /* out of memory: do not serve the text */
    unsigned refused;            /* bad name, a type clash, or repeated */
};

/* An mx_metric_emit_fn; sink is a struct mx_expo_protos. */
void mx_expo_protos_add(void *sink, const struct mx_metric *m);
/* Appends every family, in the order each first came. */
void mx_expo_protos_write(struct mx_text *t, const struct mx_expo_protos *p);
void mx_expo_protos_free(struct mx_expo_protos *p);

#endif
