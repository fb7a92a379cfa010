/* test_cpus.c - workers = auto: the affinity mask and the cgroup v2 CPU
 * quota, read from a fake tree of files. */
#include <criterion/criterion.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/cpus.h"

Test(cpus, cpu_max_rounds_up)
{
    unsigned n = 0;
    cr_assert_eq(mx_cpu_max_parse("max 100000\n", &n), 1);
    cr_assert_eq(mx_cpu_max_parse("100000 100000\n", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(mx_cpu_max_parse("150000 100000\n", &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(mx_cpu_max_parse("50000 100000", &n), 0);
    cr_assert_eq(n, 1, "half a CPU is still one worker");
    cr_assert_eq(mx_cpu_max_parse("400001 100000", &n), 0);
    cr_assert_eq(n, 5);
    cr_assert_eq(mx_cpu_max_parse("", &n), -1);
    cr_assert_eq(mx_cpu_max_parse("abc", &n), -1);
    cr_assert_eq(mx_cpu_max_parse("100 0", &n), -1);
}

Test(cpus, cgroup_v2_path)
{
    char p[64];
    cr_assert_eq(mx_cgroup_v2_path("0::/user.slice/muxd.service\n", p, sizeof p), 0);
    cr_assert_str_eq(p, "/user.slice/muxd.service");
    cr_assert_eq(mx_cgroup_v2_path("12:cpu,cpuacct:/x\n1:name=systemd:/y\n0::/\n", p,
                                   sizeof p), 0);
    cr_assert_str_eq(p, "/");
    cr_assert_eq(mx_cgroup_v2_path("12:cpu,cpuacct:/x\n", p, sizeof p), -1, "v1 only");
    cr_assert_eq(mx_cgroup_v2_path("0::/a-long-path\n", p, 4), -1);
}

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[256], dir[320];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", path);
    cr_assert_eq(system(dir), 0);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void make_root(void)
{
    strcpy(root, "/tmp/muxd-cpus-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

/* The tightest quota on the way up to the root binds, rounded up. */
Test(cpus, quota_of_the_cgroup_and_its_parents, .init = make_root, .fini = remove_root)
{
    put("proc/self/cgroup", "0::/svc.slice/muxd\n");
    put("sys/fs/cgroup/svc.slice/muxd/cpu.max", "max 100000\n");
    put("sys/fs/cgroup/svc.slice/cpu.max", "250000 100000\n");
    cr_assert_eq(mx_cpus_usable_at(root, 8), 3);
    cr_assert_eq(mx_cpus_usable_at(root, 2), 2, "the affinity mask is tighter");
    put("sys/fs/cgroup/svc.slice/muxd/cpu.max", "50000 100000\n");
    cr_assert_eq(mx_cpus_usable_at(root, 8), 1);
}

Test(cpus, no_quota_or_no_cgroup_v2, .init = make_root, .fini = remove_root)
{
    cr_assert_eq(mx_cpus_usable_at(root, 4), 4, "no /proc/self/cgroup");
    put("proc/self/cgroup", "0::/\n");
    cr_assert_eq(mx_cpus_usable_at(root, 4), 4, "no cpu.max");
    put("sys/fs/cgroup/cpu.max", "100000 100000\n"); /* a container's own root */
    cr_assert_eq(mx_cpus_usable_at(root, 4), 1);
    put("proc/self/cgroup", "4:cpu:/x\n");
    cr_assert_eq(mx_cpus_usable_at(root, 4), 4, "cgroup v1: no quota read");
    cr_assert_eq(mx_cpus_usable_at(root, 0), 1, "at least one");
}

/* The real files: never more than the affinity mask allows. */
Test(cpus, real_process_within_its_mask)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    unsigned n = mx_cpus_usable();
    cr_assert_geq(n, 1);
    cr_assert_leq(n, (unsigned)CPU_COUNT(&set));
}
