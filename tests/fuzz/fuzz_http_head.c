/* fuzz_http_head.c - the admin listener's request head parser
 * (src/io/http.c) on any bytes, under the listener's head cap.
 * Properties: it answers "incomplete" only within the cap; a head it
 * takes (200) ends inside the input with a blank line, and its method
 * and path are NUL-terminated strings; any other answer is a status the
 * listener can send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "muxd/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 4096

static void check_taken(const uint8_t *data, size_t size, const struct mx_http_req *req)
{
    size_t h = req->head_len;
    if (h > size || h < 2 || data[h - 1] != '\n')
        abort();
    if (!memchr(req->method, '\0', sizeof req->method) ||
        !memchr(req->path, '\0', sizeof req->path))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mx_http_req req;
    int rc = mx_http_parse((const char *)data, size, CAP, &req);
    if (rc == 0 && size > CAP)
        abort();
    if (rc == 200)
        check_taken(data, size, &req);
    else if (rc != 0 && strcmp(mx_http_reason(rc), "Unknown") == 0)
        abort();
    return 0;
}
