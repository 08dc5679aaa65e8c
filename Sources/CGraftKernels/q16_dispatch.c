// Which sets of the integer decode kernels this process may use: those the build compiled in
// and the CPU it runs on supports (a binary built elsewhere may meet an older CPU).
#include "graft_kernels.h"
#include <stddef.h>

static int cpu_runs(int level) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    switch (level) {
    case GRAFT_Q16_PORTABLE: return 1;
    case GRAFT_Q16_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case GRAFT_Q16_AVX512_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c");
    default: return 0;
    }
#else
    return level == GRAFT_Q16_PORTABLE;
#endif
}

const graft_q16_kernels *graft_q16_kernels_for(int level) {
    const graft_q16_kernels *set = NULL;
    switch (level) {
    case GRAFT_Q16_PORTABLE: set = &graft_q16_portable; break;
    case GRAFT_Q16_AVX2: set = graft_q16_avx2_set(); break;
    case GRAFT_Q16_AVX512_VNNI: set = graft_q16_vnni_set(); break;
    default: return NULL;
    }
    return set && cpu_runs(level) ? set : NULL;
}

const char *graft_build_target(void) {
#ifdef GRAFT_MARCH
    return GRAFT_MARCH;
#else
    return "unknown";
#endif
}
