/* cpus.h - how many CPUs this process may really use: what workers = auto
 * (and so [offload] threads = auto) resolves to. A container or a
 * systemd unit limits that by its affinity mask and by its cgroup's CPU
 * quota, not by the CPUs the machine has online. */
#ifndef MUXD_APP_CPUS_H
#define MUXD_APP_CPUS_H

#include <stddef.h>

/* The CPUs of the affinity mask, capped by the cgroup v2 quota of the
 * process's cgroup and its ancestors (rounded up); at least 1. */
unsigned mx_cpus_usable(void);

/* The same with the files read under root ("" for the real ones:
 * root/proc/self/cgroup, root/sys/fs/cgroup/...) and the affinity count
 * given; for tests. */
unsigned mx_cpus_usable_at(const char *root, unsigned affinity);

/* A cpu.max text ("max 100000" or "150000 100000"): 0 with the quota in
 * whole CPUs rounded up (at least 1) in *cpus, 1 for no limit, -1 when it
 * does not parse. */
int mx_cpu_max_parse(const char *text, unsigned *cpus);

/* The cgroup v2 path ("0::/a/b") in a /proc/self/cgroup text: 0 with it
 * in out, -1 when there is none (cgroup v1 only) or it does not fit. */
int mx_cgroup_v2_path(const char *text, char *out, size_t len);

#endif
