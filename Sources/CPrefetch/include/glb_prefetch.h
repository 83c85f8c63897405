/* Cache hints for the packet path (GLBPacket), which knows no DPDK: Swift has no prefetch of
 * its own, and DPDK's rte_prefetch0 lives behind CDPDKShim. static inline, so each call is
 * one instruction in the caller. */
#ifndef GLB_PREFETCH_H
#define GLB_PREFETCH_H

/* Brings the cache line holding p towards every cache level, for a read soon. Never faults:
 * an address that is not mapped is ignored by the CPU. */
static inline __attribute__((always_inline)) void glb_prefetch_read(const void *p)
{
	__builtin_prefetch(p, 0, 3);
}

#endif
