/* fuzz_config.c - the configuration loader (src/app/config.c) on any file.
 * Properties: a file it takes passes its own validation and prints back
 * (mx_config_print) as a file it takes again, with the same settings
 * printed; a refused one gets a message naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "app/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

/* The input as a file, through a memfd: no disk, one descriptor. */
static void put(const void *p, size_t n)
{
    if (fd < 0) {
        fd = memfd_create("fuzz-config", MFD_CLOEXEC);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, p, n, 0) != (ssize_t)n)
        abort();
}

static char *printed(const struct mx_config *cfg, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    mx_config_print(cfg, f);
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mx_config cfg, again;
    char err[512] = "";
    put(data, size);
    if (mx_config_load(&cfg, path, err, sizeof err) != 0) {
        if (!strstr(err, path))
            abort();
        return 0;
    }
    size_t n1, n2;
    char *one = printed(&cfg, &n1);
    put(one, n1);
    if (mx_config_load(&again, path, err, sizeof err) != 0)
        abort();
    char *two = printed(&again, &n2);
    if (n1 != n2 || memcmp(one, two, n1) != 0)
        abort();
    free(one);
    free(two);
    return 0;
}
