/* log.c - one line per event on stderr (see include/muxd/log.h). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "muxd/log.h"

static atomic_int log_level = MX_LOG_INFO;
static atomic_int log_format = MX_LOG_TEXT;
static _Thread_local char thread_name[16] = "muxd";

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const level_tags[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };

void mx_log_set_level(enum mx_log_level level) { atomic_store(&log_level, (int)level); }

enum mx_log_level mx_log_get_level(void) { return (enum mx_log_level)atomic_load(&log_level); }

int mx_log_level_parse(const char *s, enum mx_log_level *out)
{
    for (int i = 0; i <= MX_LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum mx_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *mx_log_level_name(enum mx_log_level level) { return level_names[level]; }

void mx_log_thread_name(const char *name)
{
    snprintf(thread_name, sizeof thread_name, "%s", name);
    pthread_setname_np(pthread_self(), thread_name);
}

static size_t format_time(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    return k + (size_t)snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

void mx_log_set_format(enum mx_log_format format) { atomic_store(&log_format, (int)format); }

/* msg as a logfmt quoted value: a line stays one line whatever it holds. */
static size_t quote(char *out, size_t cap, const char *msg, size_t len)
{
    size_t n = 0;
    out[n++] = '"';
    for (size_t i = 0; i < len && n + 3 < cap; i++) {
        char c = msg[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = c;
        } else if (c == '\n' || c == '\t') {
            out[n++] = '\\';
            out[n++] = c == '\n' ? 'n' : 't';
        } else {
            out[n++] = (unsigned char)c < 0x20 ? '?' : c;
        }
    }
    out[n++] = '"';
    return n;
}

void mx_log(enum mx_log_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    int saved = errno;
    char msg[1024], line[2200];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mlen = k < 0 ? 0 : (size_t)k < sizeof msg ? (size_t)k : sizeof msg - 1;
    size_t n;
    if (atomic_load_explicit(&log_format, memory_order_relaxed) == MX_LOG_LOGFMT) {
        n = (size_t)snprintf(line, sizeof line, "ts=");
        n += format_time(line + n, sizeof line - n);
        n += (size_t)snprintf(line + n, sizeof line - n, " level=%s thread=%s msg=",
                              level_names[level], thread_name);
        n += quote(line + n, sizeof line - n - 1, msg, mlen);
    } else {
        n = format_time(line, sizeof line);
        n += (size_t)snprintf(line + n, sizeof line - n, " %s %s: %.*s", level_tags[level],
                              thread_name, (int)mlen, msg);
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    /* One write per line: lines from different threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    errno = saved;
}
