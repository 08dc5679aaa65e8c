// bfloat16 products on AMX tiles; layouts and contracts in include/graft_amx.h.
//
// The micro-kernel keeps a 32 × 32 block of C in four tile registers (tmm4–7) and streams k in
// steps of 32: two 16-row tiles of A (tmm0–1) and two panels of B (tmm2–3) feed four TDPBF16PS,
// each 16·16·32 multiply-adds. Blocks at the edges of C go through a 16 × 16 scratch.
#include "graft_amx.h"
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GRAFT_AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_state = -1;

int graft_amx_bf16_available(void) {
#if !defined(__AVX512F__)
    // A build for a target without AVX-512 (the portable build) keeps to float32.
    (void)amx_state;
    return 0;
#else
    if (amx_state >= 0) return amx_state;
    unsigned a, b, c, d;
    int ok = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        // EDX bit 22 AMX-BF16, bit 24 AMX-TILE; EBX bits 16/30 AVX512F/BW.
        ok = (d & (1u << 22)) && (d & (1u << 24)) && (b & (1u << 16)) && (b & (1u << 30));
        if (ok && __get_cpuid_count(7, 1, &a, &b, &c, &d)) ok = (a & (1u << 5)) != 0; // AVX512-BF16
        else ok = 0;
    }
    if (ok) ok = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
    amx_state = ok;
    return ok;
#endif
}

GRAFT_AMX_TARGET
static inline __m512i bf16_32(const float *p, int count) {
    // 32 floats (count of them real, the rest zero) → 32 bfloat16 in order.
    __mmask16 lo = count >= 16 ? 0xFFFF : (count <= 0 ? 0 : (__mmask16)((1u << count) - 1));
    int rest = count - 16;
    __mmask16 hi = rest >= 16 ? 0xFFFF : (rest <= 0 ? 0 : (__mmask16)((1u << rest) - 1));
    __m512 x0 = _mm512_maskz_loadu_ps(lo, p);
    __m512 x1 = _mm512_maskz_loadu_ps(hi, p + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
}

GRAFT_AMX_TARGET
void graft_bf16_rows(const float *src, size_t ld_src, int rows, int cols, uint16_t *dst, size_t ld_dst,
                     int padded_cols) {
    for (int r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * ld_src;
        uint16_t *o = dst + (size_t)r * ld_dst;
        for (int c = 0; c < padded_cols; c += 32) {
            __m512i v = bf16_32(s + c, cols - c);
            if (c + 32 <= padded_cols) _mm512_storeu_si512(o + c, v);
            else _mm512_mask_storeu_epi16(o + c, (__mmask32)((1ull << (padded_cols - c)) - 1), v);
        }
    }
}

GRAFT_AMX_TARGET
void graft_amx_pack_transposed(const float *w, size_t ldw, int nrows, int cols, int ksteps, uint16_t *dst) {
    // Step s: row j's 32 values are 16 pairs (dwords); pair r of row j goes to dword (r, j).
    uint32_t rowsbuf[16][16] __attribute__((aligned(64)));
    const __m512i lanes = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(16));
    for (int s = 0; s < ksteps; s++) {
        int k0 = s * 32;
        for (int j = 0; j < 16; j++) {
            __m512i v = j < nrows ? bf16_32(w + (size_t)j * ldw + k0, cols - k0) : _mm512_setzero_si512();
            _mm512_store_si512(rowsbuf[j], v);
        }
        uint32_t *o = (uint32_t *)(dst + (size_t)s * 512);
        for (int r = 0; r < 16; r++) {
            __m512i col = _mm512_i32gather_epi32(_mm512_add_epi32(lanes, _mm512_set1_epi32(r)), rowsbuf, 4);
            _mm512_storeu_si512(o + r * 16, col);
        }
    }
}

GRAFT_AMX_TARGET
void graft_amx_pack_plain(const float *w, size_t ldw, int krows, int cols, int ksteps, int step, uint16_t *dst) {
    // Pair row r holds rows 2r and 2r + 1, interleaved column by column.
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int panels = (cols + 15) / 16;
    int padded = (panels + 1) & ~1;
    for (int r = 0; r < 16; r++) {
        const float *a = 2 * r < krows ? w + (size_t)(2 * r) * ldw : NULL;
        const float *b = 2 * r + 1 < krows ? w + (size_t)(2 * r + 1) * ldw : NULL;
        for (int p = 0; p < padded; p++) {
            int c0 = p * 16, count = cols - c0;
            __mmask16 m = count >= 16 ? 0xFFFF : (count <= 0 ? 0 : (__mmask16)((1u << count) - 1));
            __m512 va = a ? _mm512_maskz_loadu_ps(m, a + c0) : _mm512_setzero_ps();
            __m512 vb = b ? _mm512_maskz_loadu_ps(m, b + c0) : _mm512_setzero_ps();
            __m512i ab = (__m512i)_mm512_cvtne2ps_pbh(vb, va); // a0..a15 | b0..b15
            __m512i pairs = _mm512_permutexvar_epi16(interleave, ab);
            _mm512_storeu_si512(dst + (size_t)p * ksteps * 512 + (size_t)step * 512 + r * 32, pairs);
        }
    }
}

typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

GRAFT_AMX_TARGET
static void configure_tiles(void) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

// Loads (or zeroes) tile T with C's 16 × 16 block at (row, col), through `scratch` when the block
// crosses C's edge.
#define LOAD_C(T, row, col)                                                                        \
    do {                                                                                           \
        int rr = m - (row), cc = ncols - (col);                                                    \
        if (!accumulate || rr <= 0 || cc <= 0) {                                                   \
            _tile_zero(T);                                                                         \
        } else if (rr >= 16 && cc >= 16) {                                                         \
            _tile_loadd(T, c + (size_t)(row) * ldc + (col), (long)(ldc * 4));                     \
        } else {                                                                                   \
            memset(scratch, 0, sizeof scratch);                                                    \
            for (int i = 0; i < (rr < 16 ? rr : 16); i++)                                          \
                memcpy(scratch[i], c + (size_t)((row) + i) * ldc + (col), sizeof(float) * (cc < 16 ? cc : 16)); \
            _tile_loadd(T, scratch, 64);                                                           \
        }                                                                                          \
    } while (0)

#define STORE_C(T, row, col)                                                                       \
    do {                                                                                           \
        int rr = m - (row), cc = ncols - (col);                                                    \
        if (rr >= 16 && cc >= 16) {                                                                \
            _tile_stored(T, c + (size_t)(row) * ldc + (col), (long)(ldc * 4));                    \
        } else if (rr > 0 && cc > 0) {                                                             \
            _tile_stored(T, scratch, 64);                                                          \
            for (int i = 0; i < (rr < 16 ? rr : 16); i++)                                          \
                memcpy(c + (size_t)((row) + i) * ldc + (col), scratch[i], sizeof(float) * (cc < 16 ? cc : 16)); \
        }                                                                                          \
    } while (0)

#ifndef PREFETCH_STEPS
#define PREFETCH_STEPS 4
#endif

GRAFT_AMX_TARGET
void graft_amx_gemm(const uint16_t *a, size_t lda, int m, int ksteps, const uint16_t *b, size_t panel_stride,
                    int ncols, float *c, size_t ldc, int accumulate) {
    float scratch[16][16] __attribute__((aligned(64)));
    configure_tiles();
    const long astride = (long)(lda * 2);
    for (int n0 = 0; n0 < ncols; n0 += 32) {
        const uint16_t *b0 = b + (size_t)(n0 / 16) * panel_stride;
        const uint16_t *b1 = b0 + panel_stride;
        for (int m0 = 0; m0 < m; m0 += 32) {
            LOAD_C(4, m0, n0);
            LOAD_C(5, m0, n0 + 16);
            LOAD_C(6, m0 + 16, n0);
            LOAD_C(7, m0 + 16, n0 + 16);
            const uint16_t *a0 = a + (size_t)m0 * lda;
            const uint16_t *a1 = a0 + 16 * lda;
            for (int s = 0; s < ksteps; s++) {
                // Tiles stream from L2: fetch the rows of A and B a few steps ahead into L1.
                if (s + PREFETCH_STEPS < ksteps) {
                    const char *pa0 = (const char *)(a0 + (s + PREFETCH_STEPS) * 32);
                    const char *pa1 = (const char *)(a1 + (s + PREFETCH_STEPS) * 32);
                    const char *pb0 = (const char *)(b0 + (size_t)(s + PREFETCH_STEPS) * 512);
                    const char *pb1 = (const char *)(b1 + (size_t)(s + PREFETCH_STEPS) * 512);
                    for (int r = 0; r < 16; r++) {
                        _mm_prefetch(pa0 + r * astride, _MM_HINT_T0);
                        _mm_prefetch(pa1 + r * astride, _MM_HINT_T0);
                        _mm_prefetch(pb0 + r * 64, _MM_HINT_T0);
                        _mm_prefetch(pb1 + r * 64, _MM_HINT_T0);
                    }
                }
                _tile_loadd(0, a0 + s * 32, astride);
                _tile_loadd(1, a1 + s * 32, astride);
                _tile_loadd(2, b0 + (size_t)s * 512, 64);
                _tile_loadd(3, b1 + (size_t)s * 512, 64);
                _tile_dpbf16ps(4, 0, 2);
                _tile_dpbf16ps(5, 0, 3);
                _tile_dpbf16ps(6, 1, 2);
                _tile_dpbf16ps(7, 1, 3);
            }
            STORE_C(4, m0, n0);
            STORE_C(5, m0, n0 + 16);
            STORE_C(6, m0 + 16, n0);
            STORE_C(7, m0 + 16, n0 + 16);
        }
    }
    _tile_release();
}

#else

int graft_amx_bf16_available(void) { return 0; }
void graft_bf16_rows(const float *src, size_t ld_src, int rows, int cols, uint16_t *dst, size_t ld_dst,
                     int padded_cols) {
    (void)src; (void)ld_src; (void)rows; (void)cols; (void)dst; (void)ld_dst; (void)padded_cols;
}
void graft_amx_pack_transposed(const float *w, size_t ldw, int nrows, int cols, int ksteps, uint16_t *dst) {
    (void)w; (void)ldw; (void)nrows; (void)cols; (void)ksteps; (void)dst;
}
void graft_amx_pack_plain(const float *w, size_t ldw, int krows, int cols, int ksteps, int step, uint16_t *dst) {
    (void)w; (void)ldw; (void)krows; (void)cols; (void)ksteps; (void)step; (void)dst;
}
void graft_amx_gemm(const uint16_t *a, size_t lda, int m, int ksteps, const uint16_t *b, size_t panel_stride,
                    int ncols, float *c, size_t ldc, int accumulate) {
    (void)a; (void)lda; (void)m; (void)ksteps; (void)b; (void)panel_stride; (void)ncols; (void)c; (void)ldc;
    (void)accumulate;
}

#endif
