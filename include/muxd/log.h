/* muxd/log.h - one line per event on stderr: time, level, thread, message,
 * as text or as logfmt (key=value, for log shippers).
 * Any thread may call any of these. Each line is written with a single
 * write(2), so lines from different threads never interleave; a line is cut
 * at about 1 KiB; errno is left as it was. */
#ifndef MUXD_LOG_H
#define MUXD_LOG_H

enum mx_log_level { MX_LOG_ERROR, MX_LOG_WARN, MX_LOG_INFO, MX_LOG_DEBUG };

/* text:   2026-12-03T08:00:00.000Z INFO  muxd-w0: message
 * logfmt: ts=2026-12-03T08:00:00.000Z level=info thread=muxd-w0 msg="message"
 *         (in msg, " and \ are escaped with \, control bytes as \n, \t or ?) */
enum mx_log_format { MX_LOG_TEXT, MX_LOG_LOGFMT };
void mx_log_set_format(enum mx_log_format format);

void mx_log_set_level(enum mx_log_level level);
enum mx_log_level mx_log_get_level(void);

/* Parse "error" | "warn" | "info" | "debug"; -EINVAL otherwise. */
int mx_log_level_parse(const char *s, enum mx_log_level *out);
/* level must be a valid enum mx_log_level. */
const char *mx_log_level_name(enum mx_log_level level);

/* Names the calling thread (only) for log lines and for ps(1)
 * (pthread_setname_np; at most 15 characters are kept). */
void mx_log_thread_name(const char *name);

void mx_log(enum mx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define mx_error(...) mx_log(MX_LOG_ERROR, __VA_ARGS__)
#define mx_warn(...)  mx_log(MX_LOG_WARN, __VA_ARGS__)
#define mx_info(...)  mx_log(MX_LOG_INFO, __VA_ARGS__)
#define mx_debug(...) \
    do { if (mx_log_get_level() >= MX_LOG_DEBUG) mx_log(MX_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
