/* fake_backend.h - a backend the unit tests play by hand: it counts what
 * the core asks of it and does nothing else (no threads, no loop). */
#ifndef MUXD_TESTS_FAKE_BACKEND_H
#define MUXD_TESTS_FAKE_BACKEND_H

#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/outq.h"
#include "reactor/conn.h"
#include "reactor/worker.h"

static struct {
    int set_recv_calls;
    bool recv_on;
    int flushes;
    struct mx_conn *flushed;   /* the last connection flushed */
    int closes;
} fake;

static int fb_init(struct mx_worker *w, const struct mx_backend_conf *conf) { (void)w; (void)conf; return 0; }
static void fb_fini(struct mx_worker *w) { (void)w; }
static int fb_attach(struct mx_worker *w, struct mx_conn *c) { (void)w; (void)c; fake.recv_on = true; return 0; }
static void fb_set_recv(struct mx_worker *w, struct mx_conn *c, bool on)
{
    (void)w; (void)c;
    fake.set_recv_calls++;
    fake.recv_on = on;
}
static void fb_flush(struct mx_worker *w, struct mx_conn *c) { (void)w; fake.flushes++; fake.flushed = c; }
static bool fb_suspend(struct mx_worker *w, struct mx_conn *c) { (void)w; (void)c; return false; }
static bool fb_detach(struct mx_worker *w, struct mx_conn *c) { (void)w; (void)c; return false; }
static int fb_wait(struct mx_worker *w, int t) { (void)w; (void)t; return 0; }
static void fb_dispatch(struct mx_worker *w) { (void)w; }

static const struct mx_backend_ops fake_be = {
    .name = "fake", .init = fb_init, .fini = fb_fini, .attach = fb_attach,
    .set_recv = fb_set_recv, .flush = fb_flush, .detach = fb_detach, .wait = fb_wait,
    .dispatch = fb_dispatch, .suspend = fb_suspend,
};

/* Every connection of w aborted and freed, w torn down, the test's end
 * of the socket pair closed. */
static inline void fake_teardown(struct mx_worker *w, int peer_fd)
{
    mx__worker_end_turn(w);
    for (uint32_t i = 0; i < w->nslots; i++)
        if (w->slots[i])
            mx__conn_abort(w->slots[i], NULL);
    mx__worker_end_turn(w);
    mx__worker_fini(w);
    mx__outq_thread_cleanup();
    close(peer_fd);
}

/* What c's output queue holds, as one string (a static buffer, 64 KiB). */
static inline char *fake_queued_text(struct mx_conn *c)
{
    static char text[64 * 1024];
    struct iovec iov[256];
    int n = mx__outq_iov(&c->out, iov, 256);
    size_t off = 0;
    for (int i = 0; i < n && off + iov[i].iov_len < sizeof text; i++) {
        memcpy(text + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    text[off] = '\0';
    return text;
}

#endif
