/* units.h - sizes ("8k", "4m", "1g", "512") and durations ("300s", "5m",
 * "250ms", "0"); a bare number is bytes or seconds. -EINVAL on bad input,
 * -ERANGE on overflow. */
#ifndef MUXD_APP_UNITS_H
#define MUXD_APP_UNITS_H

#include <stddef.h>

int mx_parse_size(const char *s, size_t *out);
int mx_parse_duration_ms(const char *s, unsigned *out);
int mx_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* The shortest text the parsers above read back as the same value: "8k",
 * "1000", "300s", "250ms", "0". */
void mx_format_size(size_t bytes, char *buf, size_t len);
void mx_format_duration_ms(unsigned ms, char *buf, size_t len);

#endif
