import GraftTensor

/// A frozen base weight `[rows, cols]` (PyTorch's `[out, in]`) kept in some compressed form:
/// GGUF blocks (`QuantizedMatrix`) or bitsandbytes 4-bit codes (`FourBitMatrix`). The model and
/// the LoRA layers see only this: products with activations, and rows dequantized on demand.
public protocol FrozenMatrix: Sendable {
    var rows: Int { get }
    var cols: Int { get }
    /// Dequantizes rows `range` into `dst` (`range.count · cols` floats).
    func dequantize(rows range: Range<Int>, into dst: UnsafeMutablePointer<Float>)
    /// y[n, rows] = x[n, cols] · Wᵀ
    func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>, kernels: KernelMode)
    /// dx[n, cols] = dy[n, rows] · W (+ dx when `accumulate`): the input gradient of a frozen layer,
    /// in the arithmetic of the forward's `kernels` (bfloat16 tiles or float32).
    func multiplyTransposed(_ dy: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                            kernels: KernelMode)
}

extension FrozenMatrix {
    /// The whole matrix as a Float32 tensor, for tests, DoRA's weight norms and merging adapters.
    public func dequantized() -> Tensor {
        let t = Tensor(uninitializedShape: [rows, cols])
        dequantize(rows: 0..<rows, into: t.basePointer)
        return t
    }

    /// Rows of W per tile: about 2 MiB of Float32 (L2-sized; smaller tiles made OpenBLAS repack
    /// the activations once per tile, measured 8% slower in training).
    var tileRows: Int { max(16, min(rows, (512 * 1024) / max(cols, 1) / 16 * 16)) }

    /// y = x·Wᵀ with tiles of W dequantized into a cache-sized scratch and multiplied
    /// by sgemm. The dequantization is O(rows·cols) against the product's O(n·rows·cols), so at
    /// hundreds of rows of x this runs at sgemm speed, and the Float32 matrix never exists whole.
    func multiplyTiled(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        forEachTile { start, count, tile in
            BLAS.sgemm(transA: false, transB: true, m: n, n: count, k: cols, a: x, lda: cols,
                       b: tile, ldb: cols, c: y + start, ldc: rows)
        }
    }

    /// dx = dy·W (+ dx when `accumulate`), tile by tile.
    func multiplyTransposedTiled(_ dy: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>,
                                 accumulate: Bool) {
        forEachTile { start, count, tile in
            BLAS.sgemm(transA: false, transB: false, m: n, n: cols, k: count, a: dy + start, lda: rows,
                       b: tile, ldb: cols, beta: (accumulate || start > 0) ? 1 : 0, c: dx, ldc: cols)
        }
    }

    /// Calls `body(firstRow, rowCount, floats)` for consecutive tiles of rows, each dequantized
    /// into one reused scratch buffer. Dequantizes on the calling thread on purpose: OpenBLAS's
    /// threads are still spinning from the previous tile's sgemm, and a second set of workers
    /// fighting them for the two cores was measured to cut prompt processing from ~400 to ~150
    /// tokens/s.
    func forEachTile(_ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let tile = tileRows
        let scratch = Tensor(uninitializedShape: [tile, cols])
        var start = 0
        while start < rows {
            let count = min(tile, rows - start)
            dequantize(rows: start..<(start + count), into: scratch.basePointer)
            body(start, count, scratch.basePointer)
            start += count
        }
    }
}
