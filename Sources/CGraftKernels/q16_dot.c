#include "graft_kernels.h"
#include <math.h>
#include <string.h>
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#define GRAFT_VNNI 1
#else
#define GRAFT_VNNI 0
#endif

static inline float half_to_float(const uint8_t *p) {
    _Float16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

int graft_kernels_have_vnni(void) { return GRAFT_VNNI; }

/// Where element j of block b goes in nibble order.
static inline int code_index(int b, int j, int blocks, int nibble_order) {
    if (!nibble_order || (b == blocks - 1 && blocks % 2 == 1)) return 32 * b + j;
    const int pair = b / 2, second = b % 2;
    return 64 * pair + (j < 16 ? 0 : 32) + 16 * second + (j % 16);
}

void graft_quantize_q16(const float *x, int n, int16_t *qs, float *d, float *s, int nibble_order) {
    const int blocks = n / 32;
    for (int b = 0; b < blocks; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
        const float db = amax / 32767.0f;
        const float id = db != 0 ? 1.0f / db : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)roundf(xb[j] * id);
            qs[code_index(b, j, blocks, nibble_order)] = (int16_t)q;
            sum += q;
        }
        d[b] = db;
        s[b] = db * (float)sum;
    }
}

#if GRAFT_VNNI
// Σ q_w·q_x for two Q4 blocks whose 16 nibble bytes start at q0 and q1, against codes in nibble
// order: 16 int32 partial sums, lanes 0…7 for the first block and 8…15 for the second.
static inline __m512i pair_dot(const uint8_t *q0, const uint8_t *q1, const int16_t *x) {
    const __m256i bytes = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)q1), _mm_loadu_si128((const __m128i *)q0));
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const __m512i lo = _mm512_cvtepu8_epi16(_mm256_and_si256(bytes, mask));
    const __m512i hi = _mm512_cvtepu8_epi16(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask));
    const __m512i acc = _mm512_dpwssd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512((const void *)x));
    return _mm512_dpwssd_epi32(acc, hi, _mm512_loadu_si512((const void *)(x + 32)));
}

static inline __m512 two_scales(float a, float b) {
    return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

// Σ q_w·q_x of one block, left as 16 int32 partial sums.
static inline __m512i block_dot(__m512i w, const int16_t *x) {
    return _mm512_dpwssd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512((const void *)x));
}
#endif

float graft_dot_q4_1_q16(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    float total = 0, mins = 0;
    int b = 0;
#if GRAFT_VNNI
    __m512 acc = _mm512_setzero_ps();
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *b0 = w + 20 * b, *b1 = b0 + 20;
        const __m512i p = pair_dot(b0 + 4, b1 + 4, qs + 32 * b);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), two_scales(half_to_float(b0) * d[b], half_to_float(b1) * d[b + 1]), acc);
        mins += half_to_float(b0 + 2) * s[b] + half_to_float(b1 + 2) * s[b + 1];
    }
    total = _mm512_reduce_add_ps(acc);
#endif
    for (; b < blocks; b++) {
        const uint8_t *blk = w + 20 * b;
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += (blk[4 + j] & 0x0F) * qs[code_index(b, j, blocks, 1)] + (blk[4 + j] >> 4) * qs[code_index(b, j + 16, blocks, 1)];
        }
        total += half_to_float(blk) * d[b] * (float)sum;
        mins += half_to_float(blk + 2) * s[b];
    }
    return total + mins;
}

float graft_dot_q4_0_q16(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    // Σ (q−8)·x = Σ q·x − 8·Σ x; with scales: d_w·(d_x·Σ q·q_x − 8·s_x).
    float total = 0, offsets = 0;
    int b = 0;
#if GRAFT_VNNI
    __m512 acc = _mm512_setzero_ps();
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *b0 = w + 18 * b, *b1 = b0 + 18;
        const float dw0 = half_to_float(b0), dw1 = half_to_float(b1);
        const __m512i p = pair_dot(b0 + 2, b1 + 2, qs + 32 * b);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), two_scales(dw0 * d[b], dw1 * d[b + 1]), acc);
        offsets += dw0 * s[b] + dw1 * s[b + 1];
    }
    total = _mm512_reduce_add_ps(acc);
#endif
    for (; b < blocks; b++) {
        const uint8_t *blk = w + 18 * b;
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += (blk[2 + j] & 0x0F) * qs[code_index(b, j, blocks, 1)] + (blk[2 + j] >> 4) * qs[code_index(b, j + 16, blocks, 1)];
        }
        const float dw = half_to_float(blk);
        total += dw * d[b] * (float)sum;
        offsets += dw * s[b];
    }
    return total - 8 * offsets;
}

float graft_dot_q8_0_q16(const uint8_t *w, const int16_t *qs, const float *d, int blocks) {
    float total = 0;
    int b = 0;
#if GRAFT_VNNI
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *b0 = w + 34 * b, *b1 = b0 + 34;
        const __m512i w0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b0 + 2)));
        const __m512i w1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b1 + 2)));
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_dot(w0, qs + 32 * b)), _mm512_set1_ps(half_to_float(b0) * d[b]), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_dot(w1, qs + 32 * b + 32)), _mm512_set1_ps(half_to_float(b1) * d[b + 1]), acc1);
    }
    total = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
#endif
    for (; b < blocks; b++) {
        const uint8_t *blk = w + 34 * b;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)blk[2 + j] * qs[32 * b + j];
        total += half_to_float(blk) * d[b] * (float)sum;
    }
    return total;
}
