// Counting wrappers around glibc's allocator. glibc exports its implementation under
// __libc_* names; the definitions here take precedence over libc's for the whole process
// because the executable comes first in the dynamic linker's search order.
#include "CAllocationCounter.h"

#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static uint64_t allocations;
static uint64_t frees;

static inline void counted(void) { __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED); }

uint64_t glb_allocation_count(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }

uint64_t glb_free_count(void) { return __atomic_load_n(&frees, __ATOMIC_RELAXED); }

void *malloc(size_t size) {
    counted();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    counted();
    return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size) {
    counted();
    return __libc_realloc(ptr, size);
}

void *reallocarray(void *ptr, size_t count, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

void free(void *ptr) {
    if (ptr != NULL) __atomic_fetch_add(&frees, 1, __ATOMIC_RELAXED);
    __libc_free(ptr);
}

static int power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

int posix_memalign(void **out, size_t alignment, size_t size) {
    counted();
    if (!power_of_two(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    counted();
    if (!power_of_two(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
    counted();
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    counted();
    return __libc_pvalloc(size);
}
