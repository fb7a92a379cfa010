/* modes.h - the mode callback tables (echo_mode.c, idle_mode.c,
 * chat_mode.c); work mode is echo mode with heavy clients. */
#ifndef MUXD_LOAD_MODES_H
#define MUXD_LOAD_MODES_H

#include "thread.h"

extern const struct ld_mode_ops ld_echo_ops;
extern const struct ld_mode_ops ld_idle_ops;
extern const struct ld_mode_ops ld_chat_ops;

#endif
