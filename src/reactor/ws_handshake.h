/* ws_handshake.h - a WebSocket listener's answer to an HTTP request head
 * (RFC 6455 section 4.2, the IRCv3 WebSocket subprotocols): upgrade,
 * serve the page, or refuse with a status and a reason. Pure: any thread. */
#ifndef MUXD_REACTOR_WS_HANDSHAKE_H
#define MUXD_REACTOR_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "muxd/http.h"

struct mx__ws_answer {
    int status;            /* 101: upgrade; 200: the page; else refused */
    bool head_only;        /* 200 for HEAD: the head without the page */
    const char *why;       /* a refusal's reason, for the log */
    bool binary;           /* 101: binary messages (binary.ircv3.net) */
    const char *subproto;  /* 101: the subprotocol chosen, or NULL */
    char accept[32];       /* 101: Sec-WebSocket-Accept */
};

/* The answer to the head p[0..len), whose mx_http_parse gave parsed (and
 * req). origins: the listener's allowed_origins ("" allows any);
 * have_page: whether GET / has a page to serve. */
void mx__ws_decide(const char *p, size_t len, int parsed, const struct mx_http_req *req,
                   const char *origins, bool have_page, struct mx__ws_answer *a);

/* The response head for a, into buf (cap bytes, 512 is enough): its
 * length. body_len: the page's length for 200, ignored otherwise (a
 * refusal carries its reason phrase as a text body of its own). */
size_t mx__ws_answer_head(const struct mx__ws_answer *a, size_t body_len, char *buf, size_t cap);

#endif
