import GraftTensor

/// y = x·Wᵀ + s·(x̃·Aᵀ)·Bᵀ for a frozen W and a rank-r update (A `[r, in]`, B `[out, r]`), as one
/// differentiable op: the base product writes y and the low-rank term is added into it, so no
/// `[n, out]` temporaries are made for the update, its scaling or the sum. `dropped` is the LoRA
/// branch's input x̃ (dropout(x), or x itself). Gradients: x through the base (and through the
/// update when x̃ is x), x̃, A and B. Same arithmetic as the composed ops up to summation order.
public func loraLinear(_ x: Tensor, dropped: Tensor, base w: some FrozenMatrix, a: Tensor, b: Tensor, scaling s: Float,
                       kernels: KernelMode = .exact) -> Tensor {
    let cols = x.shape.last ?? 0
    let r = a.shape[0]
    precondition(cols == w.cols && dropped.shape == x.shape && a.shape == [r, w.cols] && b.shape == [w.rows, r],
                 "loraLinear: x \(x.shape), x̃ \(dropped.shape), A \(a.shape), B \(b.shape) do not fit a [\(w.rows), \(w.cols)] weight")
    let input = x.contiguous(), branch = dropped === x ? input : dropped.contiguous()
    let (aw, bw) = (a.contiguous(), b.contiguous())
    let n = input.count / max(cols, 1)
    let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [w.rows])
    w.multiply(input.basePointer, n: n, into: out.basePointer, kernels: kernels)
    // h = x̃·Aᵀ [n, r]; y += s·h·Bᵀ, with Bᵀ [r, out] so the update adds whole rows.
    let h = Tensor(uninitializedShape: [n, r])
    Kernels.rowDots(branch.basePointer, n: n, len: cols, aw.basePointer, r: r, into: h.basePointer)
    var transposedB: Tensor?
    if n <= QuantizedMatrix.fewRowsLimit {
        // Decoding: y += s·h·Bᵀ straight from B (transposing B for every token cost more than
        // the products; sgemm reads it in place).
        BLAS.sgemm(transA: false, transB: true, m: n, n: w.rows, k: r, alpha: s, a: h.basePointer, lda: r,
                   b: bw.basePointer, ldb: r, beta: 1, c: out.basePointer, ldc: w.rows)
    } else {
        let bt = bw.transposed().contiguous()
        Kernels.rowCombine(h.basePointer, n: n, r: r, bt.basePointer, len: w.rows, scale: s, into: out.basePointer,
                           accumulate: true)
        transposedB = bt
    }
    let shared = dropped === x
    return Tensor.record(out, op: "loraLinear", inputs: [x, dropped, a, b]) { g in
        let bt = transposedB ?? bw.transposed().contiguous()
        // u = g·B [n, r]: the gradient reaching h, before the scale.
        let u = Tensor(uninitializedShape: [n, r])
        Kernels.rowDots(g.basePointer, n: n, len: w.rows, bt.basePointer, r: r, into: u.basePointer)
        var gx: Tensor? = nil, gDropped: Tensor? = nil
        if x.requiresGrad {
            let base = Tensor(uninitializedShape: input.shape)
            w.multiplyTransposed(g.basePointer, n: n, into: base.basePointer, accumulate: false, kernels: kernels)
            gx = base
        }
        if dropped.requiresGrad {
            // dx̃ = s·u·A: added to the base's dx when x̃ is x (then both require gradients alike).
            let target = shared ? gx! : Tensor(uninitializedShape: input.shape)
            Kernels.rowCombine(u.basePointer, n: n, r: r, aw.basePointer, len: cols, scale: s, into: target.basePointer,
                               accumulate: shared)
            if !shared { gDropped = target }
        }
        var ga: Tensor? = nil, gb: Tensor? = nil
        if a.requiresGrad {
            // dA = s·uᵀ·x̃ [r, in]
            let da = Tensor.zeros([r, cols])
            Kernels.outerAccumulate(u.basePointer, n: n, r: r, branch.basePointer, len: cols, scale: s, into: da.basePointer)
            ga = da
        }
        if b.requiresGrad {
            // dBᵀ = s·hᵀ·g [r, out]
            let dbt = Tensor.zeros([r, w.rows])
            Kernels.outerAccumulate(h.basePointer, n: n, r: r, g.basePointer, len: w.rows, scale: s, into: dbt.basePointer)
            gb = dbt.transposed().contiguous()
        }
        return [gx, gDropped, ga, gb]
    }
}
