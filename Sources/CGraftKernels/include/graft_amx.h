// bfloat16 matrix products on Intel AMX tiles (TDPBF16PS): the frozen base's products when a
// recipe asks for bfloat16 compute, as QLoRA's `bnb_4bit_compute_dtype = bfloat16` does. Swift's
// GraftQuant drives these (BFloat16Products.swift); the tests hold them to a float reference over
// the same bfloat16-rounded operands.
//
// Layouts (all bfloat16 as uint16_t, rounded to nearest even from float32):
// - A: row-major [m × k], `lda` elements a row; rows readable up to m rounded up to 32 and
//   columns up to k rounded up to 32, the padding zero.
// - B: "panels" of 16 output columns. A panel holds every step of 32 along k as a 16 × 16 block of
//   bfloat16 pairs: element (k, n) of the step sits at pair row k/2, column n, half k%2 — the
//   layout TDPBF16PS reads (1 KiB a step). Panels come in pairs; a missing one is zero.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// 1 when this CPU has AMX-TILE, AMX-BF16 and AVX512-BF16 and the kernel granted this process the
// tile state (arch_prctl ARCH_REQ_XCOMP_PERM); 0 otherwise. Cached after the first call.
int graft_amx_bf16_available(void);

// dst[r][c] = bf16(src[r][c]) for r < rows, c < cols; zero for cols ≤ c < padded_cols.
void graft_bf16_rows(const float *src, size_t ld_src, int rows, int cols, uint16_t *dst, size_t ld_dst,
                     int padded_cols);

// One panel of B for y = x·Wᵀ: W's rows j < nrows (≤ 16; zero beyond) become the panel's columns,
// W's columns its k (ksteps·32, zero beyond `cols`). `dst` holds ksteps KiB.
void graft_amx_pack_transposed(const float *w, size_t ldw, int nrows, int cols, int ksteps, uint16_t *dst);

// Step `step` of every panel of B for dx = dy·W: W's rows w[0 ..< krows] (krows ≤ 32; zero
// beyond) are this step's k, W's columns [0, cols) the panels' columns. Panel p starts at
// dst + p·ksteps·512; there are ceil(cols/16) panels rounded up to even, the padding zero.
void graft_amx_pack_plain(const float *w, size_t ldw, int krows, int cols, int ksteps, int step, uint16_t *dst);

// c[m × ncols] (ldc floats a row) = (accumulate ? c : 0) + A·B, A and B as above with k = ksteps·32.
// `b` points at the first of ceil(ncols/16) panels (rounded up to even), each `panel_stride`
// elements apart.
void graft_amx_gemm(const uint16_t *a, size_t lda, int m, int ksteps, const uint16_t *b, size_t panel_stride,
                    int ncols, float *c, size_t ldc, int accumulate);

// 1 when this build's target has AVX-512 and this CPU has AVX512-BF16 (VDPBF16PS); 0 otherwise.
int graft_avx512bf16_available(void);

// The contract of graft_amx_gemm, on AVX512-BF16 registers instead of tiles (CPUs without AMX).
void graft_avx512bf16_gemm(const uint16_t *a, size_t lda, int m, int ksteps, const uint16_t *b, size_t panel_stride,
                           int ncols, float *c, size_t ldc, int accumulate);

#ifdef __cplusplus
}
#endif
