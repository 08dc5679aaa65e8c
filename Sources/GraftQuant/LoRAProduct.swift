import GraftTensor

/// y = x·Wᵀ + s·(x̃·Aᵀ)·Bᵀ for a frozen W and a rank-r update (A `[r, in]`, B `[out, r]`), as one
/// differentiable op: the base product writes y and the low-rank term is added into it, so no
/// `[n, out]` temporaries are made for the update, its scaling or the sum. x̃ is x with `dropout`
/// applied (x itself without): only the byte mask is saved, and x̃ is rebuilt from x when the
/// backward needs it, so LoRA dropout costs no activation memory of its own. Gradients: x (through
/// the base and the update), A and B. Same arithmetic as the composed ops up to summation order.
public func loraLinear(_ x: Tensor, dropout: DropoutMask? = nil, base w: some FrozenMatrix, a: Tensor, b: Tensor,
                       scaling s: Float, kernels: KernelMode = .exact) -> Tensor {
    let cols = x.shape.last ?? 0
    let r = a.shape[0]
    precondition(cols == w.cols && a.shape == [r, w.cols] && b.shape == [w.rows, r] && (dropout?.kept.count ?? x.count) == x.count,
                 "loraLinear: x \(x.shape), A \(a.shape), B \(b.shape) do not fit a [\(w.rows), \(w.cols)] weight")
    let input = x.contiguous()
    let (aw, bw) = (a.contiguous(), b.contiguous())
    let n = input.count / max(cols, 1)
    /// x̃: x itself, or a dropped copy made for the moment it is needed.
    func branch() -> Tensor {
        guard let dropout else { return input }
        let dropped = Tensor(uninitializedShape: input.shape)
        dropout.apply(input.basePointer, into: dropped.basePointer)
        return dropped
    }
    // The base product is kept through a selective recomputation (the expensive part of a
    // block); the low-rank update is computed again.
    let out = RecomputeTape.reusable(shape: Array(x.shape.dropLast()) + [w.rows]) {
        w.multiply(input.basePointer, n: n, into: $0, kernels: kernels)
    }
    // h = x̃·Aᵀ [n, r]; y += s·h·Bᵀ.
    let h = Tensor(uninitializedShape: [n, r])
    let dropped = branch()
    Kernels.rowDots(dropped.basePointer, n: n, len: cols, aw.basePointer, r: r, into: h.basePointer)
    withExtendedLifetime(dropped) {}
    var transposedB: Tensor?
    if n <= QuantizedMatrix.fewRowsLimit {
        // Decoding: y += s·h·Bᵀ straight from B (transposing B for every token cost more than
        // the products; sgemm reads it in place).
        BLAS.sgemm(transA: false, transB: true, m: n, n: w.rows, k: r, alpha: s, a: h.basePointer, lda: r,
                   b: bw.basePointer, ldb: r, beta: 1, c: out.basePointer, ldc: w.rows)
    } else {
        // Bᵀ [r, out], so the update adds whole rows.
        let bt = bw.transposed().contiguous()
        Kernels.rowCombine(h.basePointer, n: n, r: r, bt.basePointer, len: w.rows, scale: s, into: out.basePointer,
                           accumulate: true)
        transposedB = bt
    }
    return Tensor.record(out, op: "loraLinear", inputs: [x, a, b]) { g in
        let bt = transposedB ?? bw.transposed().contiguous()
        // u = g·B [n, r]: the gradient reaching h, before the scale.
        let u = Tensor(uninitializedShape: [n, r])
        Kernels.rowDots(g.basePointer, n: n, len: w.rows, bt.basePointer, r: r, into: u.basePointer)
        var gx: Tensor? = nil
        if x.requiresGrad {
            let dx = Tensor(uninitializedShape: input.shape)
            w.multiplyTransposed(g.basePointer, n: n, into: dx.basePointer, accumulate: false, kernels: kernels)
            // dx += s·u·A, through the dropout mask when there is one.
            if let dropout {
                let dDropped = Tensor(uninitializedShape: input.shape)
                Kernels.rowCombine(u.basePointer, n: n, r: r, aw.basePointer, len: cols, scale: s, into: dDropped.basePointer,
                                   accumulate: false)
                dropout.accumulate(dDropped.basePointer, into: dx.basePointer)
            } else {
                Kernels.rowCombine(u.basePointer, n: n, r: r, aw.basePointer, len: cols, scale: s, into: dx.basePointer,
                                   accumulate: true)
            }
            gx = dx
        }
        var ga: Tensor? = nil, gb: Tensor? = nil
        if a.requiresGrad {
            // dA = s·uᵀ·x̃ [r, in]
            let da = Tensor.zeros([r, cols])
            let dropped = branch()
            Kernels.outerAccumulate(u.basePointer, n: n, r: r, dropped.basePointer, len: cols, scale: s, into: da.basePointer)
            withExtendedLifetime(dropped) {}
            ga = da
        }
        if b.requiresGrad {
            // dBᵀ = s·hᵀ·g [r, out]
            let dbt = Tensor.zeros([r, w.rows])
            Kernels.outerAccumulate(h.basePointer, n: n, r: r, g.basePointer, len: w.rows, scale: s, into: dbt.basePointer)
            gb = dbt.transposed().contiguous()
        }
        return [gx, ga, gb]
    }
}
