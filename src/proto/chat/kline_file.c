/* kline_file.c - the K-line file on disk: read whole at start and reload,
 * replaced whole (never edited in place) on every change, so a crash
 * leaves either the old file or the new one, never half of each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/chat/kline.h"

void kline_file_stamp(const char *path, struct kline_stamp *st)
{
    struct stat sb;
    *st = (struct kline_stamp){ 0 };
    if (stat(path, &sb) < 0)
        return;
    *st = (struct kline_stamp){ .exists = true, .dev = sb.st_dev, .ino = sb.st_ino,
                                .mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
                                            sb.st_mtim.tv_nsec,
                                .size = sb.st_size };
}

bool kline_stamp_same(const struct kline_stamp *a, const struct kline_stamp *b)
{
    if (!a->exists || !b->exists)
        return a->exists == b->exists;
    return a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns &&
           a->size == b->size;
}

/* The whole file, NUL-terminated, at most max bytes: -errno (EFBIG past
 * it). */
static int read_all(int fd, size_t max, char **out)
{
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf)
            return -ENOMEM;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int err = r < 0 ? -errno : 0;
            buf[n] = '\0';
            if (err)
                free(buf);
            *out = err ? NULL : buf;
            return err;
        }
        n += (size_t)r;
        if (n > max) {
            free(buf);
            return -EFBIG;
        }
        if (n == cap) {
            cap *= 2;
            char *b = realloc(buf, cap + 1);
            if (!b)
                free(buf);
            buf = b;
        }
    }
}

int kline_file_load(const char *path, unsigned max, int64_t now, struct kline_list *out,
                    struct kline_stamp *st, char *err, size_t len)
{
    kline_list_free(out);
    kline_file_stamp(path, st);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0; /* no K-lines yet: the first KLINE makes it */
    char *text = NULL;
    /* Room for max full lines and as many comments. */
    int rc = fd < 0 ? -errno : read_all(fd, 2 * (size_t)max * KLINE_LINE_MAX + 4096, &text);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        snprintf(err, len, "%s: cannot read: %s", path,
                 rc == -EFBIG ? "larger than max_klines lines could be" : strerror(-rc));
        return -1;
    }
    unsigned lineno;
    char why[200];
    rc = kline_parse_text(text, out, max, now, &lineno, why, sizeof why);
    free(text);
    if (rc < 0 && lineno)
        snprintf(err, len, "%s:%u: %s", path, lineno, why);
    else if (rc < 0)
        snprintf(err, len, "%s: %s", path, why);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The directory's entry for the rename is durable only once the
 * directory itself is synced. */
static int sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int fail(char *err, size_t len, const char *what, const char *path, int rc)
{
    snprintf(err, len, "%s %s: %s", what, path, strerror(-rc));
    return rc;
}

int kline_file_write(const char *path, const char *text, size_t n, char *err, size_t len)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return fail(err, len, "cannot name a temporary file beside", path, -ENAMETOOLONG);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(err, len, "cannot create", tmp, -errno);
    int rc = write_all(fd, text, n);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return fail(err, len, "cannot write", tmp, rc);
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
        return fail(err, len, "cannot rename over", path, rc);
    }
    rc = sync_dir(path);
    return rc < 0 ? fail(err, len, "cannot sync the directory of", path, rc) : 0;
}
