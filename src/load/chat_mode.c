/* chat_mode.c - chat mode (being written: refuses to run for now). */
#include "modes.h"

static int chat_init(struct ld_thread *th)
{
    return ld_fail(th, LD_ERROR, "chat mode is not implemented yet");
}

static bool chat_done(const struct ld_thread *th, uint64_t now)
{
    return true;
}

const struct ld_mode_ops ld_chat_ops = { .init = chat_init, .done = chat_done };
