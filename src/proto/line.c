/* line.c - line splitting (see line.h). */
#include <string.h>

#include "proto/line.h"

ssize_t mx_line_next(const char *p, size_t n, size_t max)
{
    const char *nl = memchr(p, '\n', n);
    size_t body = nl ? (size_t)(nl - p) : n;
    /* A trailing "\r" belongs to the terminator, whether its "\n" has come
     * yet or not. */
    if (body > 0 && p[body - 1] == '\r')
        body--;
    if (body > max)
        return -1;
    return nl ? (ssize_t)(nl - p + 1) : 0;
}
