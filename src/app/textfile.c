/* textfile.c - see textfile.h. */
#include "app/textfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int mx_read_text_file(const char *path, size_t max, char **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *buf = malloc(max + 1);
    size_t n = 0;
    int c;
    while (buf && (c = fgetc(f)) != EOF) {
        if (n == max) {
            free(buf);
            fclose(f);
            errno = EFBIG;
            return -1;
        }
        if (c != '\r')
            buf[n++] = (char)c;
    }
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    if (!buf || err) {
        free(buf);
        errno = buf ? err : ENOMEM;
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}
