/* json.h - writing one JSON object to a stream, with nested objects and
 * commas placed for the caller. Keys and string values are escaped. */
#ifndef MUXD_LOAD_JSON_H
#define MUXD_LOAD_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LD_JSON_DEPTH 8

struct ld_json {
    FILE *f;
    int depth;
    bool first[LD_JSON_DEPTH];
};

void ld_json_begin(struct ld_json *j, FILE *f);   /* "{" */
void ld_json_end(struct ld_json *j);              /* "}\n" */
void ld_json_obj(struct ld_json *j, const char *key);  /* "key":{ */
void ld_json_close(struct ld_json *j);            /* } */
void ld_json_str(struct ld_json *j, const char *key, const char *v);
void ld_json_u64(struct ld_json *j, const char *key, uint64_t v);
/* A number printed with that many decimals; or null when not present. */
void ld_json_num(struct ld_json *j, const char *key, double v, int decimals);
void ld_json_num_or_null(struct ld_json *j, const char *key, double v, int decimals,
                         bool present);
void ld_json_bool(struct ld_json *j, const char *key, bool v);
void ld_json_null(struct ld_json *j, const char *key);

#endif
