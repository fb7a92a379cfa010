/* textfile.h - reading a small text file whole (the chat MOTD). */
#ifndef MUXD_APP_TEXTFILE_H
#define MUXD_APP_TEXTFILE_H

#include <stddef.h>

/* *out gets the file's bytes, NUL-terminated, CRs dropped (the caller
 * frees it). -1 with errno set: the open/read error, EFBIG past max bytes,
 * ENOMEM. */
int mx_read_text_file(const char *path, size_t max, char **out);

#endif
