// Integer dot-product kernels for decoding with quantized activations: the instruction-level
// work Swift cannot express (AVX-512 VNNI vpdpwssd). Swift's GraftQuant calls these behind
// `KernelMode.fast`; the Swift reference in QuantizedActivations.swift computes the same sums
// and is what the tests hold these to.
//
// Activations are quantized to 16 bits per block of 32 (scale max|x|/32767): 8-bit codes, as
// llama.cpp uses, were measured at a mean KL of 0.0085 from the exact distribution on SmolLM2,
// above the 0.005 budget; 16-bit codes are within float noise of the exact kernels and still
// halve the instruction count of the float path.
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

// Σ over blocks of one Q4_1 row (20-byte blocks: f16 d, f16 m, 16 bytes of nibbles):
// d_w·d_x·Σ q4·q16 + m_w·s_x. Q4 kernels take codes in nibble order.
float graft_dot_q4_1_q16(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks);

// Σ over blocks of one Q4_0 row (18-byte blocks: f16 d, 16 bytes of nibbles, value q−8).
float graft_dot_q4_0_q16(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks);

// Σ over blocks of one Q8_0 row (34-byte blocks: f16 d, 32 int8).
float graft_dot_q8_0_q16(const uint8_t *w, const int16_t *qs, const float *d, int blocks);

// y[r] for `rows` consecutive rows `row_bytes` apart: the sums of graft_dot_q4_1_q16 /
// graft_dot_q8_0_q16 (up to float rounding order), four rows at a time.
#include <stddef.h>
void graft_matvec_q4_1_q16(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                           const float *s, int blocks, float *y);
void graft_matvec_q8_0_q16(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                           int blocks, float *y);

// One Q4_1 row (`blocks` blocks, an even count) repacked for decoding: the f16
// scales, then the f16 mins, then the nibble bytes of all blocks (16 each, so a pair's are
// adjacent): the same 20 bytes a block, in an order the kernel below reads with fewer shuffles.
void graft_repack_q4_1(const uint8_t *src, int blocks, uint8_t *dst);
// graft_matvec_q4_1_q16 over rows in the repacked layout.
void graft_matvec_q4_1r_q16(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                            const float *s, int blocks, float *y);

// 1 when the vpdpwssd path was compiled in, 0 for the portable one.
int graft_kernels_have_vnni(void);

#ifdef __cplusplus
}
#endif
