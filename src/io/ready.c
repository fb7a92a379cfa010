/* ready.c - recv/send(msg) for the readiness backends (see ready.h). */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "io/fault.h"
#include "io/ready.h"
#include "reactor/conn.h"

#define MAX_IOV 64

/* Writes until the queue is empty or the socket is full. Returns bytes
 * written, or -errno on a hard error. */
static ssize_t write_queue(struct mx_conn *c)
{
    ssize_t total = 0;
    while (c->out.bytes > 0) {
        struct iovec iov[MAX_IOV];
        struct msghdr msg = { .msg_iov = iov };
        msg.msg_iovlen = (size_t)mx__outq_iov(&c->out, iov, MAX_IOV);
        if (MX_FAULT(MX_FAULT_RESET))
            return total & 1 ? -EPIPE : -ECONNRESET;
        if (MX_FAULT(MX_FAULT_SHORT_IO)) {
            msg.msg_iovlen = 1;
            iov[0].iov_len = iov[0].iov_len < 7 ? iov[0].iov_len : 7;
        }
        size_t want = 0;
        for (size_t i = 0; i < msg.msg_iovlen; i++)
            want += iov[i].iov_len;
        /* One segment (a fan-out's line, most replies) skips the
         * msghdr and iovec import of sendmsg. */
        ssize_t r = msg.msg_iovlen == 1
            ? send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT)
            : sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? total : -errno;
        }
        mx__outq_consume(&c->out, (size_t)r);
        total += r;
        if ((size_t)r < want)
            break; /* socket full: wait for writability, skip the EAGAIN call */
    }
    return total;
}

void mx__ready_flush(const struct mx_ready *rd, struct mx_conn *c)
{
    ssize_t r = write_queue(c);
    if (r < 0) {
        mx__conn_fail(c, (int)r);
        return;
    }
    if (r == 0 || mx__conn_sent(c, (size_t)r))
        rd->want_write(rd->w, c, c->out.bytes > 0);
}

/* One recv per readable connection per turn: fair to the others.
 * Returns whether c is still open. */
static bool read_once(struct mx_conn *c, char *scratch, size_t size)
{
    if (MX_FAULT(MX_FAULT_SHORT_IO))
        size = size < 5 ? size : 5;
    ssize_t r = recv(c->fd, scratch, size, 0);
    if (r > 0)
        return mx__conn_recv(c, scratch, (size_t)r);
    if (r == 0)
        return mx__conn_eof(c);
    if (errno == EAGAIN || errno == EINTR)
        return true;
    mx__conn_fail(c, -errno);
    return false;
}

void mx__ready_event(const struct mx_ready *rd, struct mx_conn *c, bool in, bool out, bool hup,
                    bool reading)
{
    if ((in || hup) && reading && !read_once(c, rd->scratch, rd->scratch_size))
        return;
    if (out)
        mx__ready_flush(rd, c);
    else if (hup && !reading)
        mx__conn_hangup(c);
}
