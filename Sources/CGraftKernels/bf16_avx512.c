// bfloat16 products with AVX512-BF16's VDPBF16PS, for CPUs that have it but no AMX (AMD Zen 4
// and Zen 5): the same contract as graft_amx_gemm (include/graft_amx.h), reading the same A rows
// and B panels. A panel's pair row (16 columns × a pair of k) is exactly one 512-bit register of
// bfloat16 pairs, the operand VDPBF16PS takes; a pair of A's values broadcast to all 16 lanes
// meets it, so each instruction adds 16 columns' two products of one row.
//
// The micro-kernel keeps a 12 × 32 block of C in 24 registers and streams k two values at a time:
// two panel loads and twelve broadcasts feed 24 VDPBF16PS.
#include "graft_amx.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define GRAFT_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR 12

int graft_avx512bf16_available(void) {
#if defined(__AVX512F__)
    static int avx512bf16_state = -1;
    if (avx512bf16_state < 0) {
        __builtin_cpu_init();
        avx512bf16_state = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    }
    return avx512bf16_state;
#else
    // A build for a target without AVX-512 (the portable build) keeps to float32.
    return 0;
#endif
}

// rows × 32 columns of C (cols of them real) from `rows` rows of A and two panels.
GRAFT_BF16_TARGET
static inline __attribute__((always_inline)) void block(const uint16_t *a, size_t lda, int rows, int ksteps,
                                                        const uint16_t *b0, const uint16_t *b1, float *c, size_t ldc,
                                                        int cols, int accumulate) {
    __m512 acc0[MR], acc1[MR];
    for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int s = 0; s < ksteps; s++) {
        const uint16_t *p0 = b0 + (size_t)s * 512, *p1 = b1 + (size_t)s * 512;
        const uint16_t *as = a + (size_t)s * 32;
        for (int p = 0; p < 16; p++) {
            const __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)(p0 + 32 * p));
            const __m512bh w1 = (__m512bh)_mm512_loadu_si512((const void *)(p1 + 32 * p));
            for (int i = 0; i < rows; i++) {
                int32_t pair;
                memcpy(&pair, as + (size_t)i * lda + 2 * p, 4);
                const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
                acc0[i] = _mm512_dpbf16_ps(acc0[i], x, w0);
                acc1[i] = _mm512_dpbf16_ps(acc1[i], x, w1);
            }
        }
    }
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : (cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1));
    for (int i = 0; i < rows; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 v0 = acc0[i], v1 = acc1[i];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, v0);
        _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
}

GRAFT_BF16_TARGET
void graft_avx512bf16_gemm(const uint16_t *a, size_t lda, int m, int ksteps, const uint16_t *b, size_t panel_stride,
                           int ncols, float *c, size_t ldc, int accumulate) {
    for (int n0 = 0; n0 < ncols; n0 += 32) {
        const uint16_t *b0 = b + (size_t)(n0 / 16) * panel_stride;
        const uint16_t *b1 = b0 + panel_stride;
        const int cols = ncols - n0 < 32 ? ncols - n0 : 32;
        int m0 = 0;
        for (; m0 + MR <= m; m0 += MR) {
            block(a + (size_t)m0 * lda, lda, MR, ksteps, b0, b1, c + (size_t)m0 * ldc + n0, ldc, cols, accumulate);
        }
        // The last rows, with the row count a constant in each case so the accumulators stay in registers.
        const uint16_t *ar = a + (size_t)m0 * lda;
        float *cr = c + (size_t)m0 * ldc + n0;
        switch (m - m0) {
#define TAIL(R) case R: block(ar, lda, R, ksteps, b0, b1, cr, ldc, cols, accumulate); break;
            TAIL(1) TAIL(2) TAIL(3) TAIL(4) TAIL(5) TAIL(6) TAIL(7) TAIL(8) TAIL(9) TAIL(10) TAIL(11)
#undef TAIL
        default: break;
        }
    }
}

#else

int graft_avx512bf16_available(void) { return 0; }
void graft_avx512bf16_gemm(const uint16_t *a, size_t lda, int m, int ksteps, const uint16_t *b, size_t panel_stride,
                           int ncols, float *c, size_t ldc, int accumulate) {
    (void)a; (void)lda; (void)m; (void)ksteps; (void)b; (void)panel_stride; (void)ncols; (void)c; (void)ldc;
    (void)accumulate;
}

#endif
