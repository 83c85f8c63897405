#include "CCacheEvict.h"

#include <stdint.h>

void glb_evict(const void *p, size_t n) {
#if defined(__x86_64__)
    const uintptr_t line = 64;
    uintptr_t a = (uintptr_t)p & ~(line - 1);
    const uintptr_t end = (uintptr_t)p + n;
    for (; a < end; a += line) {
        __builtin_ia32_clflush((const void *)a);
    }
    __builtin_ia32_mfence();
#else
    (void)p;
    (void)n;
#endif
}
