/* loadrun.h - what muxd-load's integration tests share: running a program
 * with its stdout and stderr captured (and a deadline), starting a helper
 * server that prints its port, and reading keys out of muxd-load's JSON. */
#ifndef MUXD_LOAD_TEST_LOADRUN_H
#define MUXD_LOAD_TEST_LOADRUN_H

#include <stdbool.h>
#include <sys/types.h>

struct lr_out {
    int status;          /* exit status, or 128 + signal, or -1 on timeout */
    char *out, *err;     /* everything written, NUL-terminated (free with lr_free) */
};

/* Runs argv (argv[0] a path) to completion, at most timeout_ms; with
 * nofile > 0 the child's descriptor limit is set to it first. 0, or -1
 * when it could not be started. */
int lr_run(char *const argv[], int timeout_ms, long nofile, struct lr_out *r);
void lr_free(struct lr_out *r);
/* Logs a run's command line and output (for failing tests). */
void lr_log(char *const argv[], const struct lr_out *r);

/* The path of a helper program from an environment variable set by CTest;
 * fails the test when it is missing. */
const char *lr_bin(const char *env);

/* Starts a helper server (argv) that prints "port N" on its first line;
 * returns the port, the pid in *pid, or -1. */
int lr_server_start(char *const argv[], pid_t *pid);
void lr_server_stop(pid_t pid);

/* A number at path ("latency_us.p99", "heavy.requests": each part looked
 * for after the one before) in a JSON text; false when missing or null. */
bool lr_json_num(const char *json, const char *path, double *v);
/* A boolean; false when missing (then *v is untouched). */
bool lr_json_bool(const char *json, const char *path, bool *v);

#endif
