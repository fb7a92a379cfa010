/* fuzz_ws_handshake.c - a WebSocket listener's answer to any request
 * head (src/reactor/ws_handshake.c, after src/io/http.c). Properties: the
 * answer is a status muxd sends; an upgrade carries a 28-character
 * accept key and a subprotocol of its own; a refusal has a reason; the
 * response head fits its buffer and starts with its status line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/ws_handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *origins = (data[0] & 1) ? "https://a.example,http://localhost:8080" : "";
    const char *p = (const char *)data + 1;
    size--;
    struct mx_http_req req;
    int st = mx_http_parse(p, size, 8192, &req);
    if (st == 0)
        return 0;
    struct mx__ws_answer a;
    mx__ws_decide(p, st == 200 ? req.head_len : size, st, &req, origins, data[0] & 2, &a);
    if (a.status == 101) {
        if (strlen(a.accept) != 28 || (a.subproto && strcmp(a.subproto, "text.ircv3.net") != 0 &&
                                       strcmp(a.subproto, "binary.ircv3.net") != 0))
            abort();
    } else if (a.status != 200 && !a.why) {
        abort();
    }
    char head[768], want[16];
    size_t n = mx__ws_answer_head(&a, 123, head, sizeof head);
    snprintf(want, sizeof want, "HTTP/1.1 %d ", a.status);
    if (n == 0 || n >= sizeof head || strncmp(head, want, strlen(want)) != 0)
        abort();
    return 0;
}
