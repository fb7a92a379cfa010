/* expo.h - the Prometheus text exposition format (version 0.0.4) of
 * muxd's counters, written into a growing buffer. Pure: the caller
 * gathers the numbers (admin.c), this only formats them, so the unit
 * tests can feed it any numbers. */
#ifndef MUXD_PROTO_ADMIN_EXPO_H
#define MUXD_PROTO_ADMIN_EXPO_H

#include <stdbool.h>
#include <stddef.h>

#include "muxd/stats.h"

/* A growing text buffer; failed once an allocation failed (the text is
 * then incomplete and must not be served). */
struct mx_text {
    char *p;
    size_t len, cap;
    bool failed;
};

void mx_text_add(struct mx_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a label value: backslash, double quote and newline escaped. */
void mx_text_label_value(struct mx_text *t, const char *s);
void mx_text_free(struct mx_text *t);

/* Everything a scrape shows. Process figures are -1 when unknown (and
 * then left out). */
struct mx_expo_input {
    const char *version;
    const char *backend;
    struct mx_server_stats srv;
    const struct mx_worker_stats *workers;  /* srv.workers of them */
    long long open_fds;
    long long max_fds;
    long long rss_bytes;
    long long heap_bytes;        /* malloc's, in use (mallinfo2) */
    /* Injected faults by site (mx_fault_counts); nfaults 0: none were. */
    const char *fault_names[16];
    uint64_t fault_counts[16];
    size_t nfaults;
};

/* Appends every metric family to t. */
void mx_expo_write(struct mx_text *t, const struct mx_expo_input *in);

#endif
