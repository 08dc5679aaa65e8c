// Rows of bfloat16 weights against Float32 activations (the low-rank matrices of served
// adapters): widened to Float32 in registers and accumulated in Float32, with the widest vectors
// the build's target has. Swift's generic SIMD widening compiled to a call per 16 values.
#include "graft_kernels.h"
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#include <string.h>

static inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float graft_dot_bf16(const uint16_t *a, const float *x, int n) {
    int i = 0;
    float s = 0;
#if defined(__AVX512F__)
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        const __m512 a0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(a + i))), 16));
        const __m512 a1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(a + i + 16))), 16));
        acc0 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(x + i), acc0);
        acc1 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(x + i + 16), acc1);
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 a0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(a + i))), 16));
        acc0 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(x + i), acc0);
    }
    s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        const __m256 a0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(a + i))), 16));
        const __m256 a1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(a + i + 8))), 16));
        acc0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(x + i + 8), acc1);
    }
    const __m256 v = _mm256_add_ps(acc0, acc1);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    s = _mm_cvtss_f32(q);
#else
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lanes[j] += bf16_to_f32(a[i + j]) * x[i + j];
    for (int j = 0; j < 8; j++) s += lanes[j];
#endif
    for (; i < n; i++) s += bf16_to_f32(a[i]) * x[i];
    return s;
}

void graft_axpy_bf16(float alpha, const uint16_t *a, float *y, int n) {
    int i = 0;
#if defined(__AVX512F__)
    const __m512 av = _mm512_set1_ps(alpha);
    for (; i + 16 <= n; i += 16) {
        const __m512 a0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(a + i))), 16));
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, a0, _mm512_loadu_ps(y + i)));
    }
#elif defined(__AVX2__) && defined(__FMA__)
    const __m256 av = _mm256_set1_ps(alpha);
    for (; i + 8 <= n; i += 8) {
        const __m256 a0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(a + i))), 16));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, a0, _mm256_loadu_ps(y + i)));
    }
#endif
    for (; i < n; i++) y[i] += alpha * bf16_to_f32(a[i]);
}
