/* conn_id.h - the one place that lays out connection ids and backend tags
 * (private to src/).
 *
 *   id  (public, mx_conn_id):    generation:32 | worker:8 | slot:24
 *   tag (what a backend stores): generation:32 | spare:8  | slot:24
 *
 * A backend only ever sees its own worker's connections, so a tag leaves
 * the worker byte free for the backend's own use (io_uring puts its
 * operation code there). The generation makes a late event or completion
 * for a closed and reused slot miss.
 */
#ifndef MUXD_REACTOR_CONN_ID_H
#define MUXD_REACTOR_CONN_ID_H

#include <stdint.h>

#include "muxd/server.h"

#define MX_SLOT_BITS 24u
#define MX_SLOT_MAX ((1u << MX_SLOT_BITS) - 1u)
#define MX_SPARE_SHIFT MX_SLOT_BITS
#define MX_SPARE_MASK ((uint64_t)0xff << MX_SPARE_SHIFT)
/* A tag no connection can have: "the worker's inbox wake-up". */
#define MX_TAG_INBOX UINT64_MAX

_Static_assert(MX_MAX_WORKERS <= 256, "the worker index must fit the id's 8 bits");

static inline uint64_t mx__tag_make(uint32_t gen, uint32_t slot)
{
    return (uint64_t)gen << 32 | slot;
}

static inline uint32_t mx__tag_gen(uint64_t tag) { return (uint32_t)(tag >> 32); }
static inline uint32_t mx__tag_slot(uint64_t tag) { return (uint32_t)tag & MX_SLOT_MAX; }

/* The backend's 8 spare bits of a tag. */
static inline uint64_t mx__tag_with_spare(uint64_t tag, unsigned spare)
{
    return (tag & ~MX_SPARE_MASK) | (uint64_t)(spare & 0xff) << MX_SPARE_SHIFT;
}

static inline unsigned mx__tag_spare(uint64_t tag)
{
    return (unsigned)((tag & MX_SPARE_MASK) >> MX_SPARE_SHIFT);
}

static inline uint64_t mx__tag_strip(uint64_t tag) { return tag & ~MX_SPARE_MASK; }

static inline uint64_t mx__id_make(uint64_t tag, unsigned worker)
{
    return mx__tag_with_spare(tag, worker);
}

static inline unsigned mx__id_worker(uint64_t id) { return mx__tag_spare(id); }
static inline uint64_t mx__id_tag(uint64_t id) { return mx__tag_strip(id); }

#endif
