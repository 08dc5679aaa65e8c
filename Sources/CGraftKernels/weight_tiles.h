// The multi-row products over tiles of weight rows small enough to stay in the core's L2 while
// every activation row passes over them: a weight matrix is read from memory once a call, not
// once per group of activation rows (the 30 MB output head at 16 rows read it four times and
// ran at 46 GMAC/s). Each (weight row, activation row) sum is computed as before, so the bits
// do not change. Shared by the sets that have multi-row kernels.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define GRAFT_WEIGHT_TILE_BYTES (96 * 1024)

static inline int graft_tile_rows(size_t row_bytes) {
    const size_t t = GRAFT_WEIGHT_TILE_BYTES / row_bytes;
    return t < 4 ? 4 : (int)(t & ~(size_t)3);
}

typedef void (*graft_matmat_q8_0_fn)(const uint8_t *, size_t, int, const int16_t *, size_t, const float *, size_t, int,
                                     float *, size_t, int);
typedef void (*graft_matmat_q4_1r_fn)(const uint8_t *, size_t, int, const int16_t *, size_t, const float *, const float *,
                                      size_t, int, float *, size_t, int);

static inline void graft_tiled_q8_0(graft_matmat_q8_0_fn tile_fn, const uint8_t *w, size_t row_bytes, int rows,
                                    const int16_t *qs, size_t ld_qs, const float *d, size_t ld_d, int blocks, float *y,
                                    size_t ld_y, int n) {
    const int tile = graft_tile_rows(row_bytes);
    for (int r = 0; r < rows; r += tile)
        tile_fn(w + (size_t)r * row_bytes, row_bytes, rows - r < tile ? rows - r : tile, qs, ld_qs, d, ld_d, blocks, y + r, ld_y, n);
}

static inline void graft_tiled_q4_1r(graft_matmat_q4_1r_fn tile_fn, const uint8_t *w, size_t row_bytes, int rows,
                                     const int16_t *qs, size_t ld_qs, const float *d, const float *s, size_t ld_d,
                                     int blocks, float *y, size_t ld_y, int n) {
    const int tile = graft_tile_rows(row_bytes);
    for (int r = 0; r < rows; r += tile)
        tile_fn(w + (size_t)r * row_bytes, row_bytes, rows - r < tile ? rows - r : tile, qs, ld_qs, d, s, ld_d, blocks, y + r,
                ld_y, n);
}
