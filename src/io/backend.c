/* backend.c - choosing a backend by name at run time.
 *
 * auto prefers io_uring and falls back to epoll when a probe ring cannot be
 * made (old kernel, seccomp, kernel.io_uring_disabled) or when
 * MUXD_DISABLE_IO_URING=1 asks it to, so tests can drive the fallback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/backend.h"
#include "io/uring.h"
#include "muxd/server.h"

static const struct mx_backend_ops *const backends[] = {
    &mx__backend_uring, &mx__backend_epoll, &mx__backend_poll,
};

static int uring_available(const char **why)
{
    static _Thread_local char reason[96];
    const char *env = getenv("MUXD_DISABLE_IO_URING");
    if (env && strcmp(env, "1") == 0) {
        *why = "io_uring disabled by MUXD_DISABLE_IO_URING=1";
        return -EPERM;
    }
    int err = mx__uring_probe();
    if (err < 0) {
        snprintf(reason, sizeof reason, "io_uring unavailable: %s", strerror(-err));
        *why = reason;
    }
    return err;
}

const struct mx_backend_ops *mx__backend_choose(const char *name, const char **why, int *err)
{
    *why = NULL;
    *err = 0;
    if (strcmp(name, "auto") == 0)
        return uring_available(why) == 0 ? &mx__backend_uring : &mx__backend_epoll;
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++) {
        if (strcmp(name, backends[i]->name) != 0)
            continue;
        if (backends[i] == &mx__backend_uring && (*err = uring_available(why)) < 0)
            return NULL;
        return backends[i];
    }
    *err = -EINVAL;
    return NULL;
}

int mx_backend_pick(const char *name, const char **chosen, const char **why)
{
    const char *reason;
    int err;
    const struct mx_backend_ops *be = mx__backend_choose(name, &reason, &err);
    if (why)
        *why = reason;
    if (!be)
        return err;
    *chosen = be->name;
    return 0;
}
