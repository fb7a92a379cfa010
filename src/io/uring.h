/* uring.h - io_uring helpers shared by the backend and the backend choice. */
#ifndef MUXD_IO_URING_H
#define MUXD_IO_URING_H

struct io_uring;

/* A ring with the best flags this kernel takes (SINGLE_ISSUER,
 * DEFER_TASKRUN, SUBMIT_ALL, a larger CQ), falling back on -EINVAL. */
int mx__uring_queue_init(struct io_uring *ring, unsigned sq, unsigned cq);

/* 0 if a worker ring with a provided-buffer ring can be set up here, else
 * -errno (ENOSYS on old kernels, EPERM under seccomp or
 * kernel.io_uring_disabled). */
int mx__uring_probe(void);

#endif
