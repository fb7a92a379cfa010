/* json.c - a small JSON object writer (see json.h). */
#include "json.h"

#include <math.h>

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void key(struct ld_json *j, const char *k)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    put_string(j->f, k);
    fputc(':', j->f);
}

void ld_json_begin(struct ld_json *j, FILE *f)
{
    *j = (struct ld_json){ .f = f };
    j->first[0] = true;
    fputc('{', f);
}

void ld_json_end(struct ld_json *j)
{
    fputs("}\n", j->f);
}

void ld_json_obj(struct ld_json *j, const char *k)
{
    key(j, k);
    fputc('{', j->f);
    if (j->depth + 1 < LD_JSON_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
}

void ld_json_close(struct ld_json *j)
{
    fputc('}', j->f);
    if (j->depth > 0)
        j->depth--;
}

void ld_json_str(struct ld_json *j, const char *k, const char *v)
{
    key(j, k);
    put_string(j->f, v);
}

void ld_json_u64(struct ld_json *j, const char *k, uint64_t v)
{
    key(j, k);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void ld_json_num(struct ld_json *j, const char *k, double v, int decimals)
{
    key(j, k);
    if (isfinite(v))
        fprintf(j->f, "%.*f", decimals, v);
    else
        fputs("null", j->f); /* JSON has no inf or nan */
}

void ld_json_num_or_null(struct ld_json *j, const char *k, double v, int decimals, bool present)
{
    if (present)
        ld_json_num(j, k, v, decimals);
    else
        ld_json_null(j, k);
}

void ld_json_bool(struct ld_json *j, const char *k, bool v)
{
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

void ld_json_null(struct ld_json *j, const char *k)
{
    key(j, k);
    fputs("null", j->f);
}
