import GraftTensor

/// Products of a quantized matrix with many activation rows (prefill, training): tiles of
/// weight rows are dequantized into a small scratch buffer (a few hundred KiB, cache-resident)
/// and multiplied with OpenBLAS sgemm. The dequantization is O(rows·cols) against the product's
/// O(n·rows·cols), so at hundreds of tokens the kernel runs at sgemm speed, and the Float32
/// matrix never exists as a whole.
extension QuantizedMatrix {
    /// Rows of W per tile: about 256 KiB of Float32.
    var tileRows: Int { max(16, min(rows, (64 * 1024) / max(cols, 1) / 16 * 16)) }

    /// Activation rows below which the block-by-block kernel beats tiling.
    public static let fewRowsLimit = 4

    /// y[n, rows] = x[n, cols] · Wᵀ
    public func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>,
                         kernels: KernelMode = .exact) {
        if n <= Self.fewRowsLimit {
            if kernels == .fast && hasIntegerKernel { multiplyFewQuantized(x, n: n, into: y) }
            else { multiplyFew(x, n: n, into: y) }
            return
        }
        forEachTile { start, count, tile in
            BLAS.sgemm(transA: false, transB: true, m: n, n: count, k: cols, a: x, lda: cols,
                       b: tile, ldb: cols, c: y + start, ldc: rows)
        }
    }

    /// dx[n, cols] = dy[n, rows] · W (+ dx when `accumulate`): the gradient with respect to the
    /// input of a frozen linear layer.
    public func multiplyTransposed(_ dy: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>,
                                   accumulate: Bool = false) {
        forEachTile { start, count, tile in
            BLAS.sgemm(transA: false, transB: false, m: n, n: cols, k: count, a: dy + start, lda: rows,
                       b: tile, ldb: cols, beta: (accumulate || start > 0) ? 1 : 0, c: dx, ldc: cols)
        }
    }

    /// Calls `body(firstRow, rowCount, floats)` for consecutive tiles of rows, each dequantized
    /// into one reused scratch buffer.
    private func forEachTile(_ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let tile = tileRows
        let scratch = Tensor(uninitializedShape: [tile, cols])
        var start = 0
        while start < rows {
            let count = min(tile, rows - start)
            dequantizeTile(rows: start..<(start + count), into: scratch.basePointer)
            body(start, count, scratch.basePointer)
            start += count
        }
    }

    /// Dequantizes on the calling thread on purpose: OpenBLAS's threads are still spinning from
    /// the previous tile's sgemm, and a second set of workers fighting them for the two cores
    /// was measured to cut prompt processing from ~400 to ~150 tokens/s.
    private func dequantizeTile(rows range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        dequantize(rows: range, into: dst)
    }
}
