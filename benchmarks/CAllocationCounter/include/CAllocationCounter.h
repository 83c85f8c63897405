#ifndef GLB_ALLOCATION_COUNTER_H
#define GLB_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Linking this target into an executable replaces the C allocator's entry points (malloc,
/// calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc, memalign, valloc,
/// pvalloc) with wrappers that count calls and forward to glibc's own implementation. The
/// Swift runtime allocates through them, so every heap allocation of the process is counted.

/// Allocation calls so far (every call of an allocating function, whatever its size).
uint64_t glb_allocation_count(void);

/// Calls of free with a non-null pointer so far.
uint64_t glb_free_count(void);

#endif
