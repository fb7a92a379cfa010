/* web_page.h - the web client (web/index.html) as the daemon serves it at
 * / on a chat listener with transport = websocket: compiled in by
 * cmake/embed.cmake, so the binary needs no files beside it. */
#ifndef MUXD_APP_WEB_PAGE_H
#define MUXD_APP_WEB_PAGE_H

#include <stddef.h>

extern const unsigned char mx_app_web_page[];
extern const size_t mx_app_web_page_len;

#endif
