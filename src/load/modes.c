/* modes.c - which callbacks run each mode. */
#include "modes.h"

const struct ld_mode_ops *ld_mode_ops(enum ld_mode mode)
{
    switch (mode) {
    case LD_IDLE: return &ld_idle_ops;
    case LD_CHAT: return &ld_chat_ops;
    default: return &ld_echo_ops; /* echo, and work (echo plus heavy clients) */
    }
}
