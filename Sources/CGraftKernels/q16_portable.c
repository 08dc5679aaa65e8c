// The portable set of the integer decode kernels (plain C, any CPU), activation quantization and
// the Q4_1 decode row layout: what every other set must equal, block for block.
#include "graft_kernels.h"
#include <math.h>
#include <string.h>

static inline float half_to_float(const uint8_t *p) {
    _Float16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

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

void graft_repack_q4_1(const uint8_t *src, int blocks, uint8_t *dst) {
    for (int b = 0; b < blocks; b++) {
        memcpy(dst + 2 * b, src + 20 * b, 2);
        memcpy(dst + 2 * blocks + 2 * b, src + 20 * b + 2, 2);
        memcpy(dst + 4 * blocks + 16 * b, src + 20 * b + 4, 16);
    }
}

// Σ q4·q16 of one block's 16 nibble bytes against its codes in nibble order.
static inline int nibble_sum(const uint8_t *q, const int16_t *qs, int b, int blocks) {
    int sum = 0;
    for (int j = 0; j < 16; j++) {
        sum += (q[j] & 0x0F) * qs[code_index(b, j, blocks, 1)] + (q[j] >> 4) * qs[code_index(b, j + 16, blocks, 1)];
    }
    return sum;
}

static float dot_q4_1(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    float total = 0, mins = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + 20 * b;
        total += half_to_float(blk) * d[b] * (float)nibble_sum(blk + 4, qs, b, blocks);
        mins += half_to_float(blk + 2) * s[b];
    }
    return total + mins;
}

static float dot_q4_0(const uint8_t *w, const int16_t *qs, const float *d, const float *s, int blocks) {
    // Σ (q−8)·x = Σ q·x − 8·Σ x; with scales: d_w·(d_x·Σ q·q_x − 8·s_x).
    float total = 0, offsets = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + 18 * b;
        const float dw = half_to_float(blk);
        total += dw * d[b] * (float)nibble_sum(blk + 2, qs, b, blocks);
        offsets += dw * s[b];
    }
    return total - 8 * offsets;
}

static float dot_q8_0(const uint8_t *w, const int16_t *qs, const float *d, int blocks) {
    float total = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + 34 * b;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)blk[2 + j] * qs[32 * b + j];
        total += half_to_float(blk) * d[b] * (float)sum;
    }
    return total;
}

static void matvec_q4_1(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                        const float *s, int blocks, float *y) {
    for (int r = 0; r < rows; r++) y[r] = dot_q4_1(w + (size_t)r * row_bytes, qs, d, s, blocks);
}

static void matvec_q8_0(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d, int blocks,
                        float *y) {
    for (int r = 0; r < rows; r++) y[r] = dot_q8_0(w + (size_t)r * row_bytes, qs, d, blocks);
}

static void matvec_q4_1r(const uint8_t *w, size_t row_bytes, int rows, const int16_t *qs, const float *d,
                         const float *s, int blocks, float *y) {
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        float total = 0;
        for (int b = 0; b < blocks; b++) {
            total += half_to_float(row + 2 * b) * d[b] * (float)nibble_sum(row + 4 * blocks + 16 * b, qs, b, blocks) +
                     half_to_float(row + 2 * blocks + 2 * b) * s[b];
        }
        y[r] = total;
    }
}

const graft_q16_kernels graft_q16_portable = {
    "portable", dot_q4_1, dot_q4_0, dot_q8_0, matvec_q4_1, matvec_q8_0, matvec_q4_1r, NULL, NULL,
};
