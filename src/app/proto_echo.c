/* proto_echo.c - the echo service in the protocol registry: its key
 * (mode) and its options. */
#include <stdint.h>

#include "app/protocols.h"
#include "proto/echo.h"

struct echo_cfg {
    enum mx_echo_mode mode;
};

_Static_assert(sizeof(struct echo_cfg) <= MX_PROTO_CFG_SIZE, "echo's keys fit their block");

/* MX_CFG_ENUM stores the index into its choices, so the list must follow
 * the enum it stands for. */
static const char *const mode_names[] = { "raw", "line", "upper", NULL };
_Static_assert(MX_ECHO_RAW == 0 && MX_ECHO_LINE == 1 && MX_ECHO_UPPER == 2,
               "mode_names follows enum mx_echo_mode");
_Static_assert(sizeof(enum mx_echo_mode) == sizeof(uint32_t),
               "enum fields are stored as 32-bit numbers");

static const struct mx_cfg_key keys[] = {
    { .sect = MX_SECT_LISTENER, .name = "mode", .type = MX_CFG_ENUM,
      MX_CFG_FIELD(struct echo_cfg, mode), .choices = mode_names, .def = "raw",
      .help = "echo: raw bytes, whole lines, or upper-cased lines" },
};

static void *echo_opts_new(const struct mx_config *cfg, const struct mx_listener_cfg *l,
                           const void *pcfg, char *err, size_t len)
{
    const struct echo_cfg *ec = pcfg;
    struct mx_echo_opts o = { .mode = ec->mode };
    return mx_app_opts_copy(&o, sizeof o, l, err, len);
}

const struct mx_app_proto mx_app_echo = {
    .name = "echo",
    .proto = &mx_echo_proto,
    .keys = keys,
    .nkeys = sizeof keys / sizeof keys[0],
    .opts_new = echo_opts_new,
};
