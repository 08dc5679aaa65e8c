import GraftTensor

/// `x · Wᵀ` for a frozen quantized W, as a differentiable op: the gradient flows to `x` only
/// (the base model's weights are frozen and get none). `x` is `[..., cols]`, the result
/// `[..., rows]`. The backward runs float32 arithmetic, or bfloat16 tiles when the forward did.
public func linear(_ x: Tensor, _ w: some FrozenMatrix, kernels: KernelMode = .exact) -> Tensor {
    let cols = x.shape.last ?? 0
    precondition(cols == w.cols, "linear: input \(x.shape) does not fit a [\(w.rows), \(w.cols)] weight")
    let input = x.contiguous()
    let n = input.count / max(cols, 1)
    // Kept through a selective recomputation: the product is the expensive part of a block.
    let out = RecomputeTape.reusable(shape: Array(x.shape.dropLast()) + [w.rows]) {
        w.multiply(input.basePointer, n: n, into: $0, kernels: kernels)
    }
    return Tensor.record(out, op: "quantizedLinear", inputs: [x]) { g in
        let gx = Tensor(uninitializedShape: input.shape)
        w.multiplyTransposed(g.basePointer, n: n, into: gx.basePointer, accumulate: false, kernels: kernels)
        return [gx]
    }
}
