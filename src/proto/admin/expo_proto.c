/* expo_proto.c - the protocols' own metrics as Prometheus text
 * (expo_proto.h). What a protocol reports is checked here, not trusted:
 * one bad name or a family reported twice would make the whole scrape
 * unparsable, so such a metric is refused (and counted) instead. */
#include "proto/admin/expo_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static bool name_ok(const char *s)
{
    static const char head[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
    static const char tail[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:0123456789";
    return s && *s && strchr(head, *s) && strspn(s, tail) == strlen(s);
}

static struct mx_expo_family *find(struct mx_expo_protos *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    return NULL;
}

static struct mx_expo_family *add_family(struct mx_expo_protos *p, const struct mx_metric *m)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct mx_expo_family *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return NULL;
        p->v = v;
        p->cap = cap;
    }
    struct mx_expo_family *f = &p->v[p->n];
    *f = (struct mx_expo_family){ .name = strdup(m->name),
                                  .help = strdup(m->help ? m->help : ""), .type = m->type };
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        return NULL;
    }
    p->n++;
    return f;
}

static void samples(struct mx_expo_family *f, const char *listener, const struct mx_metric *m)
{
    unsigned n = m->workers ? m->workers : 1;
    for (unsigned i = 0; i < n; i++) {
        mx_text_add(&f->samples, "%s{listener=\"", f->name);
        mx_text_label_value(&f->samples, listener);
        if (m->workers)
            mx_text_add(&f->samples, "\",worker=\"%u", i);
        mx_text_add(&f->samples, "\"} %llu\n", (unsigned long long)m->values[i]);
    }
}

void mx_expo_protos_add(void *sink, const struct mx_metric *m)
{
    struct mx_expo_protos *p = sink;
    bool typed = m->type == MX_METRIC_COUNTER || m->type == MX_METRIC_GAUGE;
    if (!name_ok(m->name) || !typed || !m->values) {
        p->refused++;
        return;
    }
    struct mx_expo_family *f = find(p, m->name);
    if (f && (f->type != m->type || f->last == p->listener)) {
        p->refused++;
        return;
    }
    if (!f && !(f = add_family(p, m))) {
        p->failed = true;
        return;
    }
    f->last = p->listener;
    samples(f, p->listener ? p->listener : "", m);
    p->failed |= f->samples.failed;
}

/* HELP text: backslash and newline escaped, as the format asks. */
static void help_text(struct mx_text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            mx_text_add(t, "\\\\");
        else if (*s == '\n')
            mx_text_add(t, "\\n");
        else
            mx_text_add(t, "%c", *s);
    }
}

void mx_expo_protos_write(struct mx_text *t, const struct mx_expo_protos *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct mx_expo_family *f = &p->v[i];
        mx_text_add(t, "# HELP %s ", f->name);
        help_text(t, f->help);
        mx_text_add(t, "\n# TYPE %s %s\n", f->name,
                    f->type == MX_METRIC_COUNTER ? "counter" : "gauge");
        if (f->samples.len)
            mx_text_add(t, "%.*s", (int)f->samples.len, f->samples.p);
    }
}

void mx_expo_protos_free(struct mx_expo_protos *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].help);
        mx_text_free(&p->v[i].samples);
    }
    free(p->v);
    *p = (struct mx_expo_protos){ 0 };
}
