// Integer dot-product kernels for decoding with quantized activations: the instruction-level
// work Swift cannot express (vpdpwssd, vpmaddwd). Swift's GraftQuant calls these behind
// `KernelMode.fast`; the Swift reference in QuantizedActivations.swift computes the same sums
// and is what the tests hold every compiled set to.
//
// Activations are quantized to 16 bits per block of 32 (scale max|x|/32767): 8-bit codes, as
// llama.cpp uses, were measured at a mean KL of 0.0085 from the exact distribution on SmolLM2,
// above the 0.005 budget; 16-bit codes are within float noise of the exact kernels and still
// halve the instruction count of the float path.
//
// The kernels come in sets, one per instruction level (portable C, AVX2 with vpmaddwd, AVX-512
// with VNNI's vpdpwssd). A set is compiled in when the build's target has its instructions and is
// offered when the CPU running it has them too; every set computes the same integer sums per
// block, so they differ only in float rounding order.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "graft_amx.h"

#ifdef __cplusplus
extern "C" {
#endif

// Per block of 32 values: d = max|x|/32767, q = round(x/d) (half away from zero), s = d·Σq.
// With `nibble_order` set, the codes of each pair of blocks (b, b+1) are stored as
// [b 0…15, b+1 0…15, b 16…31, b+1 16…31], the order in which the Q4 kernels unpack two blocks'
// low and high nibbles with one 256-bit operation each; a last unpaired block stays in order.
void graft_quantize_q16(const float *x, int n, int16_t *qs, float *d, float *s, int nibble_order);

// One Q4_1 row (`blocks` blocks, an even count) repacked for decoding: the f16
// scales, then the f16 mins, then the nibble bytes of all blocks (16 each, so a pair's are
// adjacent): the same 20 bytes a block, in an order the kernels read with fewer shuffles.
void graft_repack_q4_1(const uint8_t *src, int blocks, uint8_t *dst);

// One set of kernels. Q4 kernels take codes in nibble order, Q8_0 in plain order.
typedef struct graft_q16_kernels {
    // "portable", "avx2" or "avx512-vnni".
    const char *name;
    // Σ over blocks of one Q4_1 row (20-byte blocks: f16 d, f16 m, 16 bytes of nibbles):
    // d_w·d_x·Σ q4·q16 + m_w·s_x.
    float (*dot_q4_1)(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks);
    // Σ over blocks of one Q4_0 row (18-byte blocks: f16 d, 16 bytes of nibbles, value q−8).
    float (*dot_q4_0)(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks);
    // Σ over blocks of one Q8_0 row (34-byte blocks: f16 d, 32 int8).
    float (*dot_q8_0)(const uint8_t *w, const int16_t *qs, const float *d, int blocks);
    // y[r] for `rows` consecutive rows `row_bytes` apart: the sums of dot_q4_1 / dot_q8_0, four
    // rows at a time so each activation load and scale serves four rows.
    void (*matvec_q4_1)(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                        const float *s, int blocks, float *y);
    void (*matvec_q8_0)(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                        int blocks, float *y);
    // matvec_q4_1 over rows in the repacked layout of graft_repack_q4_1 (an even block count).
    void (*matvec_q4_1r)(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                         const float *s, int blocks, float *y);
    // The same sums for `n` activation rows at once (row t's codes at qs + t·ld_qs, scales at
    // d + t·ld_d and s + t·ld_d, results at y + t·ld_y): each weight block is unpacked once for
    // several activation rows. Every (weight row, activation row) result has the bits matvec
    // gives, so a row's result does not depend on n. NULL in sets without them.
    void (*matmat_q8_0)(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                        const float *d, size_t ld_d, int blocks, float *y, size_t ld_y, int n);
    void (*matmat_q4_1r)(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, size_t ld_qs,
                         const float *d, const float *s, size_t ld_d, int blocks, float *y, size_t ld_y, int n);
} graft_q16_kernels;

enum { GRAFT_Q16_PORTABLE = 0, GRAFT_Q16_AVX2 = 1, GRAFT_Q16_AVX512_VNNI = 2, GRAFT_Q16_LEVELS = 3 };

// Σ a[i]·x[i] and y[i] += alpha·a[i] for a row of bfloat16 values (the top half of a Float32),
// computed in Float32 with the widest vectors of the build's target (a fixed order per build).
float graft_dot_bf16(const uint16_t *a, const float *x, int n);
void graft_axpy_bf16(float alpha, const uint16_t *a, float *y, int n);

// The set of one level, or NULL when this build did not compile it or this CPU cannot run it.
const graft_q16_kernels *graft_q16_kernels_for(int level);

// The `-march` the kernels were compiled with ("-march=native", "-march=x86-64-v3", ...).
const char *graft_build_target(void);

// The sets of each level, for the files that define them (NULL when not compiled in).
extern const graft_q16_kernels graft_q16_portable;
const graft_q16_kernels *graft_q16_avx2_set(void);
const graft_q16_kernels *graft_q16_vnni_set(void);

#ifdef __cplusplus
}
#endif
