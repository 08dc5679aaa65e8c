// The AVX-512 VNNI set of the integer decode kernels: 512-bit vpdpwssd over pairs of blocks, four
// rows at a time. Compiled where the build's target has AVX-512 F/BW/VNNI.
#include "graft_kernels.h"
#include "weight_tiles.h"
#include <stddef.h>
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

static inline float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Σ q_w·q_x for two Q4 blocks whose 16 nibble bytes start at q0 and q1, against codes in nibble
// order (xlo: both blocks' elements 0…15, xhi: 16…31): 16 int32 partial sums, lanes 0…7 for the
// first block and 8…15 for the second.
static inline __m512i pair_dot(const uint8_t *q0, const uint8_t *q1, __m512i xlo, __m512i xhi) {
    const __m256i bytes = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)q1), _mm_loadu_si128((const __m128i *)q0));
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const __m512i lo = _mm512_cvtepu8_epi16(_mm256_and_si256(bytes, mask));
    const __m512i hi = _mm512_cvtepu8_epi16(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask));
    return _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), lo, xlo), hi, xhi);
}

static inline __m512 pair_scales(float a, float b) {
    return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

// Σ q_w·q_x of one Q8_0 block, left as 16 int32 partial sums.
static inline __m512i block_dot(const uint8_t *q, const int16_t *x) {
    const __m512i w = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)q));
    return _mm512_dpwssd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512((const void *)x));
}

// The next four rows (of a matrix `rows` long, these starting at row r) on their way into the
// cache while these four are computed.
static inline void prefetch_next_rows(const uint8_t *w0, size_t row_bytes, int r, int rows) {
    if (r + 8 > rows) return;
    for (size_t off = 0; off < 4 * row_bytes; off += 64) _mm_prefetch((const char *)(w0 + 4 * row_bytes + off), _MM_HINT_T0);
}

// Horizontal sums of four accumulators, as one 128-bit vector [Σa, Σb, Σc, Σd].
static inline __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
    __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
    __m256 ab = _mm256_hadd_ps(a8, b8);   // a01 a23 b01 b23 | a45 a67 b45 b67
    __m256 cd = _mm256_hadd_ps(c8, d8);
    __m256 abcd = _mm256_hadd_ps(ab, cd); // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// The unpaired last block of a 4-bit row (codes in plain order), in scalar code.
static inline int last_block_sum(const uint8_t *q, const int16_t *x) {
    int sum = 0;
    for (int j = 0; j < 16; j++) sum += (q[j] & 0x0F) * x[j] + (q[j] >> 4) * x[j + 16];
    return sum;
}

static float dot_q4_1(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    float mins = 0;
    int b = 0;
    __m512 acc = _mm512_setzero_ps();
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *b0 = w + 20 * b, *b1 = b0 + 20;
        const __m512i p = pair_dot(b0 + 4, b1 + 4, _mm512_loadu_si512((const void *)(qs + 32 * b)),
                                   _mm512_loadu_si512((const void *)(qs + 32 * b + 32)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), pair_scales(h2f(b0) * d[b], h2f(b1) * d[b + 1]), acc);
        mins += h2f(b0 + 2) * s[b] + h2f(b1 + 2) * s[b + 1];
    }
    float total = _mm512_reduce_add_ps(acc);
    if (b < blocks) {
        const uint8_t *blk = w + 20 * b;
        total += h2f(blk) * d[b] * (float)last_block_sum(blk + 4, qs + 32 * b);
        mins += h2f(blk + 2) * s[b];
    }
    return total + mins;
}

static float dot_q4_0(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    // Σ (q−8)·x = Σ q·x − 8·Σ x; with scales: d_w·(d_x·Σ q·q_x − 8·s_x).
    float offsets = 0;
    int b = 0;
    __m512 acc = _mm512_setzero_ps();
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *b0 = w + 18 * b, *b1 = b0 + 18;
        const float dw0 = h2f(b0), dw1 = h2f(b1);
        const __m512i p = pair_dot(b0 + 2, b1 + 2, _mm512_loadu_si512((const void *)(qs + 32 * b)),
                                   _mm512_loadu_si512((const void *)(qs + 32 * b + 32)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), pair_scales(dw0 * d[b], dw1 * d[b + 1]), acc);
        offsets += dw0 * s[b] + dw1 * s[b + 1];
    }
    float total = _mm512_reduce_add_ps(acc);
    if (b < blocks) {
        const uint8_t *blk = w + 18 * b;
        const float dw = h2f(blk);
        total += dw * d[b] * (float)last_block_sum(blk + 2, qs + 32 * b);
        offsets += dw * s[b];
    }
    return total - 8 * offsets;
}

static float dot_q8_0(const uint8_t *w, const int16_t *qs, const float *d, int blocks) {
    int b = 0;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *b0 = w + 34 * b, *b1 = b0 + 34;
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_dot(b0 + 2, qs + 32 * b)), _mm512_set1_ps(h2f(b0) * d[b]), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_dot(b1 + 2, qs + 32 * b + 32)), _mm512_set1_ps(h2f(b1) * d[b + 1]), acc1);
    }
    if (b < blocks) {
        const uint8_t *blk = w + 34 * b;
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_dot(blk + 2, qs + 32 * b)), _mm512_set1_ps(h2f(blk) * d[b]), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

static void matvec_q4_1(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                        const float *s, int blocks, float *y) {
    int r = 0;
    if (blocks % 2 == 0) {
        for (; r + 4 <= rows; r += 4) {
            const uint8_t *w0 = w + (size_t)r * row_bytes;
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            float mins[4] = {0, 0, 0, 0};
            for (int b = 0; b < blocks; b += 2) {
                const __m512i xlo = _mm512_loadu_si512((const void *)(qs + 32 * b));
                const __m512i xhi = _mm512_loadu_si512((const void *)(qs + 32 * b + 32));
                const float d0 = d[b], d1 = d[b + 1], s0 = s[b], s1 = s[b + 1];
                for (int k = 0; k < 4; k++) {
                    const uint8_t *b0 = w0 + (size_t)k * row_bytes + 20 * b, *b1 = b0 + 20;
                    const __m512i p = pair_dot(b0 + 4, b1 + 4, xlo, xhi);
                    acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), pair_scales(h2f(b0) * d0, h2f(b1) * d1), acc[k]);
                    mins[k] += h2f(b0 + 2) * s0 + h2f(b1 + 2) * s1;
                }
            }
            const __m128 sums = _mm_add_ps(reduce4(acc[0], acc[1], acc[2], acc[3]), _mm_loadu_ps(mins));
            _mm_storeu_ps(y + r, sums);
        }
    }
    for (; r < rows; r++) y[r] = dot_q4_1(w + (size_t)r * row_bytes, qs, d, s, blocks);
}

static void matvec_q8_0(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d, int blocks,
                        float *y) {
    // Four rows at a time; a last group of one to three rows takes the same path.
    for (int r = 0; r < rows; r += 4) {
        const int nr = rows - r < 4 ? rows - r : 4;
        const uint8_t *w0 = w + (size_t)r * row_bytes;
        prefetch_next_rows(w0, row_bytes, r, rows);
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int b = 0; b < blocks; b++) {
            const __m512i x = _mm512_loadu_si512((const void *)(qs + 32 * b));
            const float db = d[b];
            for (int k = 0; k < nr; k++) {
                const uint8_t *blk = w0 + (size_t)k * row_bytes + 34 * b;
                const __m512i wv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 2)));
                const __m512i p = _mm512_dpwssd_epi32(_mm512_setzero_si512(), wv, x);
                acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(h2f(blk) * db), acc[k]);
            }
        }
        _mm_mask_storeu_ps(y + r, (__mmask8)((1u << nr) - 1), reduce4(acc[0], acc[1], acc[2], acc[3]));
    }
}

// 16 floats: the products of `count` (≤ 16) f16 weight scales with the activations' scales.
static inline __m512 scale_products(const uint8_t *halfs, const float *x, int count) {
    const __mmask16 m = (__mmask16)((1u << count) - 1);
    return _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, halfs)), _mm512_maskz_loadu_ps(m, x));
}

// Rows in the repacked layout: the scales of 16 blocks convert in one instruction, a pair's
// nibbles widen in one, and a row is read front to back.
static void matvec_q4_1r(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                         const float *s, int blocks, float *y) {
    const __m512i low4 = _mm512_set1_epi16(0x0F);
    // Four rows at a time; a last group of one to three rows takes the same path.
    for (int r = 0; r < rows; r += 4) {
        const int nr = rows - r < 4 ? rows - r : 4;
        const uint8_t *w0 = w + (size_t)r * row_bytes;
        prefetch_next_rows(w0, row_bytes, r, rows);
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        // Σ m_w·s_x in accumulators of their own, off the dependency chain of the products.
        __m512 mins[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int g = 0; g < blocks; g += 16) {
            const int count = blocks - g < 16 ? blocks - g : 16;
            __m512 scales[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int k = 0; k < nr; k++) {
                const uint8_t *row = w0 + (size_t)k * row_bytes;
                scales[k] = scale_products(row + 2 * g, d + g, count);
                mins[k] = _mm512_add_ps(mins[k], scale_products(row + 2 * blocks + 2 * g, s + g, count));
            }
            __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
            const __m512i two = _mm512_set1_epi32(2);
            for (int b = g; b < g + count; b += 2) {
                const __m512i xlo = _mm512_loadu_si512((const void *)(qs + 32 * b));
                const __m512i xhi = _mm512_loadu_si512((const void *)(qs + 32 * b + 32));
                for (int k = 0; k < nr; k++) {
                    const __m512i words = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(w0 + (size_t)k * row_bytes + 4 * blocks + 16 * b)));
                    const __m512i lo = _mm512_and_si512(words, low4), hi = _mm512_srli_epi16(words, 4);
                    const __m512i p = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), lo, xlo), hi, xhi);
                    acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_permutexvar_ps(index, scales[k]), acc[k]);
                }
                index = _mm512_add_epi32(index, two);
            }
        }
        _mm_mask_storeu_ps(y + r, (__mmask8)((1u << nr) - 1),
                           reduce4(_mm512_add_ps(acc[0], mins[0]), _mm512_add_ps(acc[1], mins[1]),
                                   _mm512_add_ps(acc[2], mins[2]), _mm512_add_ps(acc[3], mins[3])));
    }
}

// Activation rows per pass of the multi-row kernels: each weight block is unpacked once for
// this many rows. Every (weight row, activation row) sum is built by the same instructions in
// the same order as in the single-row kernels above, so the bits do not depend on the batch.
#define XR 4

static void matmat_q8_0_tile(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                        const float *d, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    for (int t0 = 0; t0 < n; t0 += XR) {
        const int nt = n - t0 < XR ? n - t0 : XR;
        if (nt == 1) {
            matvec_q8_0(w, row_bytes, rows, qs + t0 * ld_qs, d + t0 * ld_d, blocks, y + t0 * ld_y);
            continue;
        }
        for (int r = 0; r < rows; r += 4) {
            const int nr = rows - r < 4 ? rows - r : 4;
            const uint8_t *w0 = w + (size_t)r * row_bytes;
            prefetch_next_rows(w0, row_bytes, r, rows);
            __m512 acc[4][XR];
            for (int k = 0; k < 4; k++)
                for (int t = 0; t < XR; t++) acc[k][t] = _mm512_setzero_ps();
            for (int b = 0; b < blocks; b++) {
                __m512i x[XR];
                for (int t = 0; t < nt; t++) x[t] = _mm512_loadu_si512((const void *)(qs + (t0 + t) * ld_qs + 32 * b));
                for (int k = 0; k < nr; k++) {
                    const uint8_t *blk = w0 + (size_t)k * row_bytes + 34 * b;
                    const __m512i wv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 2)));
                    const float dw = h2f(blk);
                    for (int t = 0; t < nt; t++) {
                        const __m512i p = _mm512_dpwssd_epi32(_mm512_setzero_si512(), wv, x[t]);
                        acc[k][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(dw * d[(t0 + t) * ld_d + b]), acc[k][t]);
                    }
                }
            }
            for (int t = 0; t < nt; t++)
                _mm_mask_storeu_ps(y + (t0 + t) * ld_y + r, (__mmask8)((1u << nr) - 1),
                                   reduce4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
        }
    }
}

// Two activation rows at a time, for the last two or three rows of a batch.
static void matmat_q4_1r_pairs(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                         const float *d, const float *s, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    const __m512i low4 = _mm512_set1_epi16(0x0F);
    for (int t0 = 0; t0 < n; t0 += 2) {
        if (n - t0 == 1) {
            matvec_q4_1r(w, row_bytes, rows, qs + t0 * ld_qs, d + t0 * ld_d, s + t0 * ld_d, blocks, y + t0 * ld_y);
            continue;
        }
        const int16_t *q0 = qs + t0 * ld_qs, *q1 = q0 + ld_qs;
        const float *d0 = d + t0 * ld_d, *d1 = d0 + ld_d, *s0 = s + t0 * ld_d, *s1 = s0 + ld_d;
        for (int r = 0; r < rows; r += 4) {
            const int nr = rows - r < 4 ? rows - r : 4;
            const uint8_t *w0 = w + (size_t)r * row_bytes;
            prefetch_next_rows(w0, row_bytes, r, rows);
            __m512 acc0[4], acc1[4], mins0[4], mins1[4];
            for (int k = 0; k < 4; k++) acc0[k] = acc1[k] = mins0[k] = mins1[k] = _mm512_setzero_ps();
            for (int g = 0; g < blocks; g += 16) {
                const int count = blocks - g < 16 ? blocks - g : 16;
                __m512 sc0[4], sc1[4];
                for (int k = 0; k < 4; k++) sc0[k] = sc1[k] = _mm512_setzero_ps();
                for (int k = 0; k < nr; k++) {
                    const uint8_t *row = w0 + (size_t)k * row_bytes;
                    sc0[k] = scale_products(row + 2 * g, d0 + g, count);
                    sc1[k] = scale_products(row + 2 * g, d1 + g, count);
                    mins0[k] = _mm512_add_ps(mins0[k], scale_products(row + 2 * blocks + 2 * g, s0 + g, count));
                    mins1[k] = _mm512_add_ps(mins1[k], scale_products(row + 2 * blocks + 2 * g, s1 + g, count));
                }
                __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
                const __m512i two = _mm512_set1_epi32(2);
                for (int b = g; b < g + count; b += 2) {
                    const __m512i xlo0 = _mm512_loadu_si512((const void *)(q0 + 32 * b));
                    const __m512i xhi0 = _mm512_loadu_si512((const void *)(q0 + 32 * b + 32));
                    const __m512i xlo1 = _mm512_loadu_si512((const void *)(q1 + 32 * b));
                    const __m512i xhi1 = _mm512_loadu_si512((const void *)(q1 + 32 * b + 32));
                    for (int k = 0; k < nr; k++) {
                        const __m512i words = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(w0 + (size_t)k * row_bytes + 4 * blocks + 16 * b)));
                        const __m512i lo = _mm512_and_si512(words, low4), hi = _mm512_srli_epi16(words, 4);
                        const __m512i p0 = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), lo, xlo0), hi, xhi0);
                        const __m512i p1 = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), lo, xlo1), hi, xhi1);
                        acc0[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0), _mm512_permutexvar_ps(index, sc0[k]), acc0[k]);
                        acc1[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1), _mm512_permutexvar_ps(index, sc1[k]), acc1[k]);
                    }
                    index = _mm512_add_epi32(index, two);
                }
            }
            const __mmask8 mask = (__mmask8)((1u << nr) - 1);
            _mm_mask_storeu_ps(y + t0 * ld_y + r, mask,
                               reduce4(_mm512_add_ps(acc0[0], mins0[0]), _mm512_add_ps(acc0[1], mins0[1]),
                                       _mm512_add_ps(acc0[2], mins0[2]), _mm512_add_ps(acc0[3], mins0[3])));
            _mm_mask_storeu_ps(y + (t0 + 1) * ld_y + r, mask,
                               reduce4(_mm512_add_ps(acc1[0], mins1[0]), _mm512_add_ps(acc1[1], mins1[1]),
                                       _mm512_add_ps(acc1[2], mins1[2]), _mm512_add_ps(acc1[3], mins1[3])));
        }
    }
}

// Activation rows per pass of matmat_q4_1r: one weight row at a time against four activation
// rows, so each weight pair is unpacked once for four rows while the accumulators of the pass
// (four products, four mins, four scale vectors) stay in registers. Four weight rows × four
// activation rows held 32 accumulators and spilled (measured slower than two rows). On Zen 5
// this runs 1.18–1.33× the pairs below for 4–16 rows and is bound by vpdpwssd's throughput:
// eight rows a pass measured the same as four.
#define XR4 4

static void matmat_q4_1r_tile(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                         const float *d, const float *s, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    const __m512i low4 = _mm512_set1_epi16(0x0F);
    for (int t0 = 0; t0 < n; t0 += XR4) {
        const int nt = n - t0 < XR4 ? n - t0 : XR4;
        if (nt < XR4) {
            matmat_q4_1r_pairs(w, row_bytes, rows, qs + t0 * ld_qs, ld_qs, d + t0 * ld_d, s + t0 * ld_d, ld_d, blocks,
                               y + t0 * ld_y, ld_y, nt);
            continue;
        }
        const int16_t *q[XR4];
        const float *dt[XR4], *st[XR4];
        for (int t = 0; t < XR4; t++) {
            q[t] = qs + (t0 + t) * ld_qs;
            dt[t] = d + (t0 + t) * ld_d;
            st[t] = s + (t0 + t) * ld_d;
        }
        for (int r = 0; r < rows; r++) {
            const uint8_t *row = w + (size_t)r * row_bytes;
            if ((r & 3) == 0) prefetch_next_rows(row, row_bytes, r, rows);
            __m512 acc[XR4], mins[XR4];
            for (int t = 0; t < XR4; t++) acc[t] = mins[t] = _mm512_setzero_ps();
            for (int g = 0; g < blocks; g += 16) {
                const int count = blocks - g < 16 ? blocks - g : 16;
                __m512 sc[XR4];
                for (int t = 0; t < XR4; t++) {
                    sc[t] = scale_products(row + 2 * g, dt[t] + g, count);
                    mins[t] = _mm512_add_ps(mins[t], scale_products(row + 2 * blocks + 2 * g, st[t] + g, count));
                }
                __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
                const __m512i two = _mm512_set1_epi32(2);
                for (int b = g; b < g + count; b += 2) {
                    const __m512i words = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(row + 4 * blocks + 16 * b)));
                    const __m512i lo = _mm512_and_si512(words, low4), hi = _mm512_srli_epi16(words, 4);
                    for (int t = 0; t < XR4; t++) {
                        const __m512i xlo = _mm512_loadu_si512((const void *)(q[t] + 32 * b));
                        const __m512i xhi = _mm512_loadu_si512((const void *)(q[t] + 32 * b + 32));
                        const __m512i p = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), lo, xlo), hi, xhi);
                        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_permutexvar_ps(index, sc[t]), acc[t]);
                    }
                    index = _mm512_add_epi32(index, two);
                }
            }
            // reduce4 sums each argument alone, in the order matvec_q4_1r uses for its rows.
            float out[4];
            _mm_storeu_ps(out, reduce4(_mm512_add_ps(acc[0], mins[0]), _mm512_add_ps(acc[1], mins[1]),
                                       _mm512_add_ps(acc[2], mins[2]), _mm512_add_ps(acc[3], mins[3])));
            for (int t = 0; t < XR4; t++) y[(t0 + t) * ld_y + r] = out[t];
        }
    }
}

static void matmat_q8_0(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                        const float *d, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    graft_tiled_q8_0(matmat_q8_0_tile, w, row_bytes, rows, qs, ld_qs, d, ld_d, blocks, y, ld_y, n);
}

static void matmat_q4_1r(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                         const float *d, const float *s, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    graft_tiled_q4_1r(matmat_q4_1r_tile, w, row_bytes, rows, qs, ld_qs, d, s, ld_d, blocks, y, ld_y, n);
}

static const graft_q16_kernels vnni_set = {
    "avx512-vnni", dot_q4_1, dot_q4_0, dot_q8_0, matvec_q4_1, matvec_q8_0, matvec_q4_1r, matmat_q8_0, matmat_q4_1r,
};
const graft_q16_kernels *graft_q16_vnni_set(void) { return &vnni_set; }
#else
const graft_q16_kernels *graft_q16_vnni_set(void) { return NULL; }
#endif
