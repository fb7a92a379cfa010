/* proto_work.c - the work service in the protocol registry: its key
 * (offload), the pool it needs, and its options. */
#include <stdio.h>

#include "app/protocols.h"
#include "proto/work.h"

struct work_cfg {
    unsigned offload;            /* the index in switch_names: 1 = on */
};

_Static_assert(sizeof(struct work_cfg) <= MX_PROTO_CFG_SIZE, "work's keys fit their block");

static const char *const switch_names[] = { "off", "on", NULL };

static const struct mx_cfg_key keys[] = {
    { .sect = MX_SECT_LISTENER, .name = "offload", .type = MX_CFG_ENUM,
      MX_CFG_FIELD(struct work_cfg, offload), .choices = switch_names, .def = "on",
      .help = "work: run SPIN / SLEEP on the offload pool (on) or on the worker "
              "itself (off); other protocols ignore it" },
};

/* Offloading needs a pool to offload to; catching it here beats
 * answering every request "ERR busy". */
static int work_check(const struct mx_config *cfg, const void *pcfg, char *why, size_t len)
{
    const struct work_cfg *wc = pcfg;

    if (!wc->offload || cfg->offload_threads != 0)
        return 0;
    snprintf(why, len, "offload: needs [offload] threads > 0");
    return -1;
}

static void *work_opts_new(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                           const void *pcfg, char *err, size_t len)
{
    const struct work_cfg *wc = pcfg;
    struct mx_work_opts o = { .offload = wc->offload != 0 };
    return mx_app_opts_copy(&o, sizeof o, l, err, len);
}

const struct mx_app_proto mx_app_work = {
    .name = "work",
    .proto = &mx_work_proto,
    .keys = keys,
    .nkeys = sizeof keys / sizeof keys[0],
    .check = work_check,
    .opts_new = work_opts_new,
};
