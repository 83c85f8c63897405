#ifndef GLB_CYCLE_COUNTER_H
#define GLB_CYCLE_COUNTER_H

#include <stdint.h>

/// Reads the time-stamp counter at the start of a measured region: earlier instructions
/// complete before it is read. 0 where there is no time-stamp counter.
static inline __attribute__((always_inline)) uint64_t glb_cycles_begin(void) {
#if defined(__x86_64__)
    __builtin_ia32_lfence();
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
}

/// Reads the time-stamp counter at the end of a measured region: the region's instructions
/// complete before it is read, later ones do not start before it.
static inline __attribute__((always_inline)) uint64_t glb_cycles_end(void) {
#if defined(__x86_64__)
    unsigned int aux;
    uint64_t t = __builtin_ia32_rdtscp(&aux);
    __builtin_ia32_lfence();
    return t;
#else
    return 0;
#endif
}

/// 1 when the time-stamp counter runs at a constant rate whatever the core's frequency.
int glb_cycle_counter_is_invariant(void);

#endif
