/// Matrix products on `cblas_sgemm`.
///
/// `a` is `[..., M, K]` (or `[..., K, M]` with `transposeA`), `b` is `[..., K, N]` (or
/// `[..., N, K]` with `transposeB`); the result is `[..., M, N]`. Batch axes must be equal, or
/// one side may be a plain matrix shared by the whole batch (a weight). Transposed views are
/// handed to BLAS as transposed operands instead of being copied.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    require(a.rank >= 2 && b.rank >= 2, .shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape,
                                                       reason: "both operands need at least 2 dimensions"))
    let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
    let ka = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
    let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
    let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
    require(ka == kb, .shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape,
                                     reason: "inner dimensions \(ka) and \(kb) differ (transposeA: \(transposeA), transposeB: \(transposeB))"))
    let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
    require(batchA == batchB || batchA.isEmpty || batchB.isEmpty,
            .shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape, reason: "batch dimensions differ"))
    let batch = batchA.isEmpty ? batchB : batchA
    let out = Tensor(uninitializedShape: batch + [m, n])
    let k = ka

    if batchB.isEmpty && !transposeA && !batchA.isEmpty, let fa = MatrixOperand(a, rowsCollapsed: true) {
        // A batch of rows against one matrix: a single large GEMM.
        let ob = MatrixOperand.of(b)
        let rows = Shape.count(batchA) * m
        BLAS.sgemm(transA: fa.transposed, transB: ob.transposed != transposeB, m: rows, n: n, k: k,
                   a: fa.pointer, lda: fa.ld, b: ob.pointer, ldb: ob.ld, c: out.basePointer, ldc: n)
    } else {
        let count = Shape.count(batch)
        let oa = batchA.isEmpty ? [MatrixOperand.of(a)] : MatrixOperand.batch(a)
        let ob = batchB.isEmpty ? [MatrixOperand.of(b)] : MatrixOperand.batch(b)
        for i in 0..<count {
            let x = oa[batchA.isEmpty ? 0 : i], y = ob[batchB.isEmpty ? 0 : i]
            BLAS.sgemm(transA: x.transposed != transposeA, transB: y.transposed != transposeB, m: m, n: n, k: k,
                       a: x.pointer, lda: x.ld, b: y.pointer, ldb: y.ld, c: out.basePointer + i * m * n, ldc: n)
        }
    }

    return Tensor.record(out, op: "matmul", inputs: [a, b]) { g in
        var ga: Tensor? = nil, gb: Tensor? = nil
        if a.requiresGrad {
            // d op(A) = dC · op(B)ᵀ; for transposeA, dA is its transpose: op(B) · dCᵀ.
            ga = transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true)
                            : matmul(g, b, transposeA: false, transposeB: !transposeB)
            if batchA.isEmpty && !batchB.isEmpty { ga = ga!.sum(axes: Array(0..<batchB.count)) }
        }
        if b.requiresGrad {
            if batchB.isEmpty && !batchA.isEmpty {
                // Shared weight: fold the batch into rows and contract over it in one GEMM.
                let a2 = transposeA ? a.permutedBatchToRowsTransposed() : a.reshaped([-1, ka])
                let g2 = g.reshaped([-1, n])
                gb = transposeB ? matmul(g2, a2, transposeA: true, transposeB: false)
                                : matmul(a2, g2, transposeA: true, transposeB: false)
            } else {
                gb = transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA)
                                : matmul(a, g, transposeA: !transposeA, transposeB: false)
            }
        }
        return [ga, gb]
    }
}

extension Tensor {
    /// [..., K, M] → [(...)·M, K]: the rows of each transposed matrix stacked.
    fileprivate func permutedBatchToRowsTransposed() -> Tensor {
        transposed(-2, -1).contiguous().reshaped([-1, shape[rank - 2]])
    }
}

/// A matrix as BLAS sees it: a pointer, a leading dimension and whether the memory holds its
/// transpose. Built from any view whose innermost two axes have one unit stride.
struct MatrixOperand {
    /// Keeps the memory alive while BLAS reads it (it may be a temporary copy).
    let owner: Tensor
    let pointer: UnsafeMutablePointer<Float>
    let ld: Int
    let transposed: Bool

    /// The last two axes of `t` at `offset`, or nil if neither has unit stride.
    init?(_ t: Tensor, offset: Int) {
        let r = t.rank
        let rows = t.shape[r - 2], cols = t.shape[r - 1]
        let sr = t.strides[r - 2], sc = t.strides[r - 1]
        owner = t
        pointer = t.storage.pointer + offset
        if (sc == 1 || cols == 1) && sr >= max(cols, 1) { ld = max(sr, 1); transposed = false }
        else if (sr == 1 || rows == 1) && sc >= max(rows, 1) { ld = max(sc, 1); transposed = true }
        else if rows == 1 && cols == 1 { ld = 1; transposed = false }
        else { return nil }
    }

    /// All batch axes folded into the row axis: possible when the rows of consecutive matrices
    /// follow each other with the row stride.
    init?(_ t: Tensor, rowsCollapsed: Bool) {
        guard t.strides[t.rank - 1] == 1 else { return nil }
        var expected = t.strides[t.rank - 2] * t.shape[t.rank - 2]
        let rowStride = t.strides[t.rank - 2]
        guard rowStride >= t.shape[t.rank - 1] else { return nil }
        for i in stride(from: t.rank - 3, through: 0, by: -1) where t.shape[i] != 1 {
            guard t.strides[i] == expected else { return nil }
            expected *= t.shape[i]
        }
        owner = t
        pointer = t.storage.pointer + t.offset
        ld = rowStride
        transposed = false
    }

    static func of(_ t: Tensor) -> MatrixOperand {
        if let op = MatrixOperand(t, offset: t.offset) { return op }
        let dense = t.contiguousData()
        return MatrixOperand(dense, offset: dense.offset)!
    }

    /// One operand per matrix of the batch, in row-major batch order.
    static func batch(_ t: Tensor) -> [MatrixOperand] {
        let src = MatrixOperand(t, offset: t.offset) != nil ? t : t.contiguousData()
        let batchShape = Array(src.shape.dropLast(2))
        let count = Shape.count(batchShape)
        var result: [MatrixOperand] = []
        result.reserveCapacity(count)
        var index = [Int](repeating: 0, count: batchShape.count)
        for _ in 0..<count {
            var o = src.offset
            for (i, ix) in index.enumerated() { o += ix * src.strides[i] }
            result.append(MatrixOperand(src, offset: o)!)
            var axis = batchShape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < batchShape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }
}
