/* uring_bufs.c - a worker's provided-buffer ring: the buffers the
 * kernel receives into, given back as soon as the core has seen their
 * bytes; incremental consumption (a receive packs into part of a buffer)
 * and bundles (one receive fills several, in ring order). Called only by
 * backend_uring.c, on the worker's own thread. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "io/fault.h"
#include "io/uring_ring.h"

void mx__ur_buf_return(struct ur *u, unsigned bid)
{
    if (u->used)
        u->used[bid] = 0;
    if (u->pos)
        u->pos[bid] = u->br->tail;
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * u->buf_size, u->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(u->nbufs), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

/* Back to the ring, unless the fault injector withholds it this turn. */
static void buf_give_back(struct ur *u, unsigned bid)
{
    if (u->withheld && MX_FAULT(MX_FAULT_ENOBUFS))
        u->withheld[u->nwithheld++] = (unsigned short)bid;
    else
        mx__ur_buf_return(u, bid);
}

/* The buffer after bid in a bundle: the ring entry after bid's. An
 * entry already put back in the ring would name a buffer whose pos is
 * not that entry's: -1 then, never bytes of another receive. */
static int bundle_next(const struct ur *u, unsigned bid)
{
    uint16_t at = (uint16_t)(u->pos[bid] + 1);
    unsigned next = u->br->bufs[at & io_uring_buf_ring_mask(u->nbufs)].bid;
    return next < u->nbufs && u->pos[next] == at ? (int)next : -1;
}

/* One completion's buffers in order, each handed to fn with its bytes:
 * from the start of the buffer, or incrementally where the previous
 * receive into it stopped, and on through a bundle's later buffers, which
 * only the last of may be partly filled. Each goes back to the ring
 * unless the kernel is still filling it. Returns the bytes not walked
 * (0 unless a bundle could not be followed). */
size_t mx__ur_buf_walk(struct ur *u, const struct io_uring_cqe *cqe,
                       bool (*fn)(void *arg, char *data, size_t n), void *arg)
{
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    size_t left = cqe->res > 0 ? (size_t)cqe->res : 0;
    for (;;) {
        uint32_t off = u->used ? u->used[bid] : 0;
        size_t n = left < u->buf_size - off ? left : u->buf_size - off;
        left -= n;
        if (fn && n > 0 && !fn(arg, u->bufs + (size_t)bid * u->buf_size + off, n))
            fn = NULL; /* closed: the rest only goes back */
        if (u->used)
            u->used[bid] += (uint32_t)n;
        /* Read before bid goes back: its entry may then be reused. */
        int next = left > 0 && u->pos ? bundle_next(u, bid) : -1;
        if (left > 0 || !(cqe->flags & IORING_CQE_F_BUF_MORE))
            buf_give_back(u, bid);
        if (next < 0)
            return left;
        bid = (unsigned)next;
    }
}

/* The kernel's io_uring_buf_reg: liburing 2.3 calls its flags "pad". */
struct buf_reg {
    uint64_t ring_addr;
    uint32_t ring_entries;
    uint16_t bgid, flags;
    uint64_t resv[3];
};
_Static_assert(sizeof(struct buf_reg) == sizeof(struct io_uring_buf_reg), "buf_reg layout");

static int register_bufs(struct ur *u, bool inc)
{
    struct buf_reg reg = { .ring_addr = (uintptr_t)u->br, .ring_entries = u->nbufs,
                           .bgid = BGID, .flags = inc ? IOU_PBUF_RING_INC : 0 };
    return io_uring_register_buf_ring(&u->ring, (struct io_uring_buf_reg *)&reg, 0);
}

/* uring_buffers = auto: a ring a worker's cache keeps. The kernel takes
 * buffers in ring order and they go back at the tail, so a busy worker
 * cycles through all of them: 256 KiB of 8 KiB buffers stay in L2 where
 * 2 MiB did not (100 connections echoing 4 KiB x 16: -25 % CPU, see
 * docs/benchmarks.md). Packed receives make 32 enough; whole buffers,
 * one per receive, need 256 or many connections find the ring empty. */
enum { AUTO_BUFS_PACKED = 32, AUTO_BUFS_WHOLE = 256 };

/* Incremental consumption when asked for and the kernel has it (6.12;
 * older ones refuse the flag with EINVAL): whole buffers otherwise.
 * Sets u->nbufs (nbufs, or by the mode when 0) and u->how. */
static int register_bufs_inc(struct ur *u, unsigned nbufs, bool want_inc)
{
    u->how = "whole (uring_incremental = off)";
    if (want_inc) {
        u->nbufs = nbufs ? nbufs : AUTO_BUFS_PACKED;
        int err = register_bufs(u, true);
        if (err == 0) {
            u->how = "incremental";
            u->used = calloc(u->nbufs, sizeof *u->used);
            return u->used ? 0 : -ENOMEM;
        }
        if (err != -EINVAL)
            return err;
        u->how = "whole (this kernel has no incremental consumption, 6.12)";
    }
    u->nbufs = nbufs ? nbufs : AUTO_BUFS_WHOLE;
    return register_bufs(u, false);
}

/* The ring registered and its buffers mapped; nbufs 0 = auto. */
int mx__ur_bufs_setup(struct ur *u, unsigned nbufs, unsigned size, bool inc)
{
    u->buf_size = size;
    u->br_bytes = (nbufs ? nbufs : AUTO_BUFS_WHOLE) * sizeof(struct io_uring_buf);
    /* liburing 2.3 has no io_uring_setup_buf_ring: map and register the
     * ring by hand. It must be page aligned, which mmap gives. */
    void *br = mmap(NULL, u->br_bytes, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED)
        return -errno;
    u->br = br;
    int err = register_bufs_inc(u, nbufs, inc);
    if (err < 0)
        return err;
    /* Mapped, not malloc'ed: page aligned, so ur_trim can drop its pages. */
    void *bufs = mmap(NULL, (size_t)u->nbufs * size, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (bufs == MAP_FAILED)
        return -errno;
    u->bufs = bufs;
#ifdef MX_FAULTS
    if (mx__faults_armed && !(u->withheld = calloc(u->nbufs, sizeof *u->withheld)))
        return -ENOMEM;
#endif
    return 0;
}

/* Bundles when asked for and the ring has them (kernel 6.10). */
int mx__ur_bundles_setup(struct ur *u, bool want)
{
    bool have = u->ring.features & IORING_FEAT_RECVSEND_BUNDLE;
    u->bundles = !want ? "off (uring_bundles = off)"
                 : !have ? "off (this kernel has none, 6.10)"
                         : "on";
    if (want && have && !(u->pos = calloc(u->nbufs, sizeof *u->pos)))
        return -ENOMEM;
    return 0;
}

/* Every buffer into the ring, in order. */
void mx__ur_bufs_fill(struct ur *u)
{
    io_uring_buf_ring_init(u->br);
    for (unsigned i = 0; i < u->nbufs; i++) {
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * u->buf_size, u->buf_size,
                              (unsigned short)i, io_uring_buf_ring_mask(u->nbufs), (int)i);
        if (u->pos)
            u->pos[i] = (uint16_t)i;
    }
    io_uring_buf_ring_advance(u->br, (int)u->nbufs);
}

/* More bytes than the first buffer had room for: a bundle. */
bool mx__ur_bundled(const struct ur *u, const struct io_uring_cqe *cqe)
{
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    uint32_t room = u->buf_size - (u->used ? u->used[bid] : 0);
    return u->pos && (cqe->flags & IORING_CQE_F_BUFFER) && cqe->res > 0 &&
           (uint32_t)cqe->res > room;
}

/* After the ring's exit, which unregisters the buffer ring. */
void mx__ur_bufs_free(struct ur *u)
{
    if (u->br)
        munmap(u->br, u->br_bytes);
    if (u->bufs)
        munmap(u->bufs, (size_t)u->nbufs * u->buf_size);
    free(u->withheld);
    free(u->used);
    free(u->pos);
}
