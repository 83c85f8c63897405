#include "CCycleCounter.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

int glb_cycle_counter_is_invariant(void) {
#if defined(__x86_64__)
    unsigned int a, b, c, d;
    // CPUID leaf 0x80000007, EDX bit 8: invariant TSC.
    if (__get_cpuid_max(0x80000000, 0) < 0x80000007) return 0;
    __cpuid(0x80000007, a, b, c, d);
    return (d >> 8) & 1;
#else
    return 0;
#endif
}
