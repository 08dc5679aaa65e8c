// The AVX2 set of the integer decode kernels (no AVX-512: AMD Zen 3, Intel Haswell to Alder
// Lake): 256-bit vpmaddwd, one block of 32 at a time, four rows at a time. Compiled where the
// build's target has AVX2, FMA and F16C.
//
// A block's 16 nibble bytes widen to 16 words with one vpmovzxbw; masking gives elements 0…15
// and a shift elements 16…31, which meet their 16-bit activation codes in two vpmaddwd (pairs of
// products summed into int32: at most 2·15·32767, no overflow). The eight int32 lanes then take
// the block's scale d_w·d_x in one FMA into a float accumulator per row. Activation codes in
// nibble order put a block's elements 0…15 and 16…31 each in 16 consecutive words.
#include "graft_kernels.h"
#include "weight_tiles.h"
#include <stddef.h>
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

static inline float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Where block b's codes for elements 0…15 start in nibble order; elements 16…31 follow at
// + hi_gap(b).
static inline int lo_at(int b, int blocks) {
    return (b == blocks - 1 && blocks % 2 == 1) ? 32 * b : 64 * (b / 2) + 16 * (b % 2);
}
static inline int hi_gap(int b, int blocks) { return (b == blocks - 1 && blocks % 2 == 1) ? 16 : 32; }

// Σ q_w·q_x of one 4-bit block (16 nibble bytes at q) as eight int32 partial sums.
static inline __m256i nibble_block(const uint8_t *q, __m256i xlo, __m256i xhi) {
    const __m256i words = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)q));
    const __m256i lo = _mm256_and_si256(words, _mm256_set1_epi16(0x0F));
    const __m256i hi = _mm256_srli_epi16(words, 4);
    return _mm256_add_epi32(_mm256_madd_epi16(lo, xlo), _mm256_madd_epi16(hi, xhi));
}

// Σ q_w·q_x of one Q8_0 block (32 int8 at q, codes in plain order) as eight int32 partial sums.
static inline __m256i byte_block(const uint8_t *q, const int16_t *x) {
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + 16)));
    return _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)x)),
                            _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(x + 16))));
}

static inline float hsum(__m256 v) {
    const __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 y = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(y, _mm_movehdup_ps(y)));
}

// Horizontal sums of four accumulators, as one 128-bit vector [Σa, Σb, Σc, Σd].
static inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 ab = _mm256_hadd_ps(a, b);   // a01 a23 b01 b23 | a45 a67 b45 b67
    const __m256 cd = _mm256_hadd_ps(c, d);
    const __m256 abcd = _mm256_hadd_ps(ab, cd); // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

static inline void store_rows(float *y, __m128 sums, int nr) {
    if (nr == 4) {
        _mm_storeu_ps(y, sums);
    } else {
        float tmp[4];
        _mm_storeu_ps(tmp, sums);
        memcpy(y, tmp, (size_t)nr * sizeof(float));
    }
}

// The next four rows (of a matrix `rows` long, these starting at row r) on their way into the
// cache while these four are computed.
static inline void prefetch_next_rows(const uint8_t *w0, size_t row_bytes, int r, int rows) {
    if (r + 8 > rows) return;
    for (size_t off = 0; off < 4 * row_bytes; off += 64) _mm_prefetch((const char *)(w0 + 4 * row_bytes + off), _MM_HINT_T0);
}

// Lane masks: lanes_below(count) has its first `count` (0…8) 32-bit lanes set.
static const int32_t lane_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i lanes_below(int count) { return _mm256_loadu_si256((const __m256i *)(lane_mask_table + 8 - count)); }

// Eight f16 values, the lanes outside `mask` zero. The 16 bytes are read whole: in the repacked
// layout a row's scales are followed by its mins and the mins by the nibbles, so reading past
// the last block's scale or min stays inside the row; the extra lanes (any bit pattern, NaN
// included) are masked off after conversion.
static inline __m256 halfs8(const uint8_t *p, __m256i mask) {
    return _mm256_and_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)), _mm256_castsi256_ps(mask));
}

// nr (1…4) Q4_1 rows in the repacked layout. Inlined with nr constant for whole groups of four.
static inline __attribute__((always_inline)) void rows_q4_1r(const uint8_t *w0, size_t row_bytes, int nr,
                                                             const int16_t *qs, const float *d, const float *s,
                                                             int blocks, float *y) {
    __m256 acc[4], mins[4];
    for (int k = 0; k < 4; k++) acc[k] = mins[k] = _mm256_setzero_ps();
    for (int g = 0; g < blocks; g += 8) {
        const int count = blocks - g < 8 ? blocks - g : 8;
        // d_w·d_x of these (up to) eight blocks for each row, read back one at a time by broadcast.
        float scales[4][8] __attribute__((aligned(32)));
        const __m256i mask = lanes_below(count);
        const __m256 dx = _mm256_maskload_ps(d + g, mask), sx = _mm256_maskload_ps(s + g, mask);
        for (int k = 0; k < nr; k++) {
            const uint8_t *row = w0 + (size_t)k * row_bytes;
            _mm256_store_ps(scales[k], _mm256_mul_ps(halfs8(row + 2 * g, mask), dx));
            mins[k] = _mm256_fmadd_ps(halfs8(row + 2 * blocks + 2 * g, mask), sx, mins[k]);
        }
        for (int b = g; b < g + count; b++) {
            const int at = lo_at(b, blocks);
            const __m256i xlo = _mm256_loadu_si256((const __m256i *)(qs + at));
            const __m256i xhi = _mm256_loadu_si256((const __m256i *)(qs + at + hi_gap(b, blocks)));
            for (int k = 0; k < nr; k++) {
                const __m256i p = nibble_block(w0 + (size_t)k * row_bytes + 4 * blocks + 16 * b, xlo, xhi);
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&scales[k][b - g]), acc[k]);
            }
        }
    }
    store_rows(y, reduce4(_mm256_add_ps(acc[0], mins[0]), _mm256_add_ps(acc[1], mins[1]),
                          _mm256_add_ps(acc[2], mins[2]), _mm256_add_ps(acc[3], mins[3])), nr);
}

static void matvec_q4_1r(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                         const float *s, int blocks, float *y) {
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *w0 = w + (size_t)r * row_bytes;
        prefetch_next_rows(w0, row_bytes, r, rows);
        rows_q4_1r(w0, row_bytes, 4, qs, d, s, blocks, y + r);
    }
    if (r < rows) rows_q4_1r(w + (size_t)r * row_bytes, row_bytes, rows - r, qs, d, s, blocks, y + r);
}

// nr (1…4) rows of 4-bit blocks in ggml's layout: Q4_1 (20 bytes: d, m, nibbles; offset +m·s_x)
// or Q4_0 (18 bytes: d, nibbles; offset −8·d·s_x).
static inline __attribute__((always_inline)) void rows_q4(const uint8_t *w0, size_t row_bytes, int nr, int q4_1,
                                                          const int16_t *qs, const float *d, const float *s,
                                                          int blocks, float *y) {
    const int bytes = q4_1 ? 20 : 18, nibbles = q4_1 ? 4 : 2;
    __m256 acc[4];
    float offsets[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const int at = lo_at(b, blocks);
        const __m256i xlo = _mm256_loadu_si256((const __m256i *)(qs + at));
        const __m256i xhi = _mm256_loadu_si256((const __m256i *)(qs + at + hi_gap(b, blocks)));
        for (int k = 0; k < nr; k++) {
            const uint8_t *blk = w0 + (size_t)k * row_bytes + (size_t)bytes * b;
            const float dw = h2f(blk);
            const __m256i p = nibble_block(blk + nibbles, xlo, xhi);
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * d[b]), acc[k]);
            offsets[k] += q4_1 ? h2f(blk + 2) * s[b] : -8 * dw * s[b];
        }
    }
    store_rows(y, _mm_add_ps(reduce4(acc[0], acc[1], acc[2], acc[3]), _mm_loadu_ps(offsets)), nr);
}

static void matvec_q4_1(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                        const float *s, int blocks, float *y) {
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *w0 = w + (size_t)r * row_bytes;
        prefetch_next_rows(w0, row_bytes, r, rows);
        rows_q4(w0, row_bytes, 4, 1, qs, d, s, blocks, y + r);
    }
    if (r < rows) rows_q4(w + (size_t)r * row_bytes, row_bytes, rows - r, 1, qs, d, s, blocks, y + r);
}

static float dot_q4_1(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    float y;
    rows_q4(w, 0, 1, 1, qs, d, s, blocks, &y);
    return y;
}

static float dot_q4_0(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    float y;
    rows_q4(w, 0, 1, 0, qs, d, s, blocks, &y);
    return y;
}

static inline __attribute__((always_inline)) void rows_q8_0(const uint8_t *w0, size_t row_bytes, int nr,
                                                            const int16_t *qs, const float *d, int blocks, float *y) {
    __m256 acc[4];
    for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        for (int k = 0; k < nr; k++) {
            const uint8_t *blk = w0 + (size_t)k * row_bytes + 34 * b;
            const __m256i p = byte_block(blk + 2, qs + 32 * b);
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(blk) * d[b]), acc[k]);
        }
    }
    store_rows(y, reduce4(acc[0], acc[1], acc[2], acc[3]), nr);
}

static void matvec_q8_0(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d, int blocks,
                        float *y) {
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *w0 = w + (size_t)r * row_bytes;
        prefetch_next_rows(w0, row_bytes, r, rows);
        rows_q8_0(w0, row_bytes, 4, qs, d, blocks, y + r);
    }
    if (r < rows) rows_q8_0(w + (size_t)r * row_bytes, row_bytes, rows - r, qs, d, blocks, y + r);
}

static float dot_q8_0(const uint8_t *w, const int16_t *qs, const float *d, int blocks) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + 34 * b;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(byte_block(blk + 2, qs + 32 * b)), _mm256_set1_ps(h2f(blk) * d[b]), acc);
    }
    return hsum(acc);
}

// Two activation rows per pass: each weight block is widened once for both. Every (weight row,
// activation row) sum takes the instructions of rows_q4_1r / rows_q8_0 in their order, so its
// bits are those of the single-row kernels whatever the batch.
static inline __attribute__((always_inline)) void rows2_q4_1r(const uint8_t *w0, size_t row_bytes, int nr,
                                                              const int16_t *q0, const int16_t *q1, const float *d0,
                                                              const float *d1, const float *s0, const float *s1,
                                                              int blocks, float *y0, float *y1) {
    __m256 acc0[4], acc1[4], mins0[4], mins1[4];
    for (int k = 0; k < 4; k++) acc0[k] = acc1[k] = mins0[k] = mins1[k] = _mm256_setzero_ps();
    for (int g = 0; g < blocks; g += 8) {
        const int count = blocks - g < 8 ? blocks - g : 8;
        float sc0[4][8] __attribute__((aligned(32))), sc1[4][8] __attribute__((aligned(32)));
        const __m256i mask = lanes_below(count);
        const __m256 dx0 = _mm256_maskload_ps(d0 + g, mask), sx0 = _mm256_maskload_ps(s0 + g, mask);
        const __m256 dx1 = _mm256_maskload_ps(d1 + g, mask), sx1 = _mm256_maskload_ps(s1 + g, mask);
        for (int k = 0; k < nr; k++) {
            const uint8_t *row = w0 + (size_t)k * row_bytes;
            const __m256 dw = halfs8(row + 2 * g, mask), mw = halfs8(row + 2 * blocks + 2 * g, mask);
            _mm256_store_ps(sc0[k], _mm256_mul_ps(dw, dx0));
            _mm256_store_ps(sc1[k], _mm256_mul_ps(dw, dx1));
            mins0[k] = _mm256_fmadd_ps(mw, sx0, mins0[k]);
            mins1[k] = _mm256_fmadd_ps(mw, sx1, mins1[k]);
        }
        for (int b = g; b < g + count; b++) {
            const int at = lo_at(b, blocks), gap = hi_gap(b, blocks);
            const __m256i xlo0 = _mm256_loadu_si256((const __m256i *)(q0 + at)), xhi0 = _mm256_loadu_si256((const __m256i *)(q0 + at + gap));
            const __m256i xlo1 = _mm256_loadu_si256((const __m256i *)(q1 + at)), xhi1 = _mm256_loadu_si256((const __m256i *)(q1 + at + gap));
            for (int k = 0; k < nr; k++) {
                const __m256i words = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(w0 + (size_t)k * row_bytes + 4 * blocks + 16 * b)));
                const __m256i lo = _mm256_and_si256(words, _mm256_set1_epi16(0x0F)), hi = _mm256_srli_epi16(words, 4);
                const __m256i p0 = _mm256_add_epi32(_mm256_madd_epi16(lo, xlo0), _mm256_madd_epi16(hi, xhi0));
                const __m256i p1 = _mm256_add_epi32(_mm256_madd_epi16(lo, xlo1), _mm256_madd_epi16(hi, xhi1));
                acc0[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcast_ss(&sc0[k][b - g]), acc0[k]);
                acc1[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_broadcast_ss(&sc1[k][b - g]), acc1[k]);
            }
        }
    }
    store_rows(y0, reduce4(_mm256_add_ps(acc0[0], mins0[0]), _mm256_add_ps(acc0[1], mins0[1]),
                           _mm256_add_ps(acc0[2], mins0[2]), _mm256_add_ps(acc0[3], mins0[3])), nr);
    store_rows(y1, reduce4(_mm256_add_ps(acc1[0], mins1[0]), _mm256_add_ps(acc1[1], mins1[1]),
                           _mm256_add_ps(acc1[2], mins1[2]), _mm256_add_ps(acc1[3], mins1[3])), nr);
}

static void matmat_q4_1r_tile(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                         const float *d, const float *s, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    for (int t = 0; t < n; t += 2) {
        if (n - t == 1) {
            matvec_q4_1r(w, row_bytes, rows, qs + t * ld_qs, d + t * ld_d, s + t * ld_d, blocks, y + t * ld_y);
            continue;
        }
        const int16_t *q0 = qs + t * ld_qs, *q1 = q0 + ld_qs;
        const float *d0 = d + t * ld_d, *d1 = d0 + ld_d, *s0 = s + t * ld_d, *s1 = s0 + ld_d;
        float *y0 = y + t * ld_y, *y1 = y0 + ld_y;
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            const uint8_t *w0 = w + (size_t)r * row_bytes;
            prefetch_next_rows(w0, row_bytes, r, rows);
            rows2_q4_1r(w0, row_bytes, 4, q0, q1, d0, d1, s0, s1, blocks, y0 + r, y1 + r);
        }
        if (r < rows) rows2_q4_1r(w + (size_t)r * row_bytes, row_bytes, rows - r, q0, q1, d0, d1, s0, s1, blocks, y0 + r, y1 + r);
    }
}

static inline __attribute__((always_inline)) void rows2_q8_0(const uint8_t *w0, size_t row_bytes, int nr,
                                                             const int16_t *q0, const int16_t *q1, const float *d0,
                                                             const float *d1, int blocks, float *y0, float *y1) {
    __m256 acc0[4], acc1[4];
    for (int k = 0; k < 4; k++) acc0[k] = acc1[k] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const __m256i xa0 = _mm256_loadu_si256((const __m256i *)(q0 + 32 * b)), xb0 = _mm256_loadu_si256((const __m256i *)(q0 + 32 * b + 16));
        const __m256i xa1 = _mm256_loadu_si256((const __m256i *)(q1 + 32 * b)), xb1 = _mm256_loadu_si256((const __m256i *)(q1 + 32 * b + 16));
        for (int k = 0; k < nr; k++) {
            const uint8_t *blk = w0 + (size_t)k * row_bytes + 34 * b;
            const __m256i wa = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 2)));
            const __m256i wb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 18)));
            const float dw = h2f(blk);
            const __m256i p0 = _mm256_add_epi32(_mm256_madd_epi16(wa, xa0), _mm256_madd_epi16(wb, xb0));
            const __m256i p1 = _mm256_add_epi32(_mm256_madd_epi16(wa, xa1), _mm256_madd_epi16(wb, xb1));
            acc0[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(dw * d0[b]), acc0[k]);
            acc1[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(dw * d1[b]), acc1[k]);
        }
    }
    store_rows(y0, reduce4(acc0[0], acc0[1], acc0[2], acc0[3]), nr);
    store_rows(y1, reduce4(acc1[0], acc1[1], acc1[2], acc1[3]), nr);
}

static void matmat_q8_0_tile(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                        const float *d, size_t ld_d, int blocks, float *y, size_t ld_y, int n) {
    for (int t = 0; t < n; t += 2) {
        if (n - t == 1) {
            matvec_q8_0(w, row_bytes, rows, qs + t * ld_qs, d + t * ld_d, blocks, y + t * ld_y);
            continue;
        }
        const int16_t *q0 = qs + t * ld_qs, *q1 = q0 + ld_qs;
        const float *d0 = d + t * ld_d, *d1 = d0 + ld_d;
        float *y0 = y + t * ld_y, *y1 = y0 + ld_y;
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            const uint8_t *w0 = w + (size_t)r * row_bytes;
            prefetch_next_rows(w0, row_bytes, r, rows);
            rows2_q8_0(w0, row_bytes, 4, q0, q1, d0, d1, blocks, y0 + r, y1 + r);
        }
        if (r < rows) rows2_q8_0(w + (size_t)r * row_bytes, row_bytes, rows - r, q0, q1, d0, d1, blocks, y0 + r, y1 + r);
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

static const graft_q16_kernels avx2_set = {
    "avx2", dot_q4_1, dot_q4_0, dot_q8_0, matvec_q4_1, matvec_q8_0, matvec_q4_1r, matmat_q8_0, matmat_q4_1r,
};
const graft_q16_kernels *graft_q16_avx2_set(void) { return &avx2_set; }
#else
const graft_q16_kernels *graft_q16_avx2_set(void) { return NULL; }
#endif
