#ifndef GLB_CACHE_EVICT_H
#define GLB_CACHE_EVICT_H

#include <stddef.h>

/// Writes back and evicts every cache line of [p, p + n) from all cache levels (clflush), then
/// waits for that to finish (mfence): the next read of those bytes comes from memory, as the
/// first read of a frame a NIC wrote by DMA without cache injection does. Swift has no cache
/// control of its own. Does nothing where there is no clflush.
void glb_evict(const void *p, size_t n);

#endif
