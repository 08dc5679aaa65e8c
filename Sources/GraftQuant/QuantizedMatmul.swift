import GraftTensor

/// Products of a GGUF-block matrix with activation rows: block-by-block kernels for a few rows
/// (decode), the tiled sgemm path of `FrozenMatrix` for many (prefill, training).
extension QuantizedMatrix: FrozenMatrix {
    /// Activation rows below which the block-by-block kernel beats tiling.
    public static let fewRowsLimit = 4

    /// y[n, rows] = x[n, cols] · Wᵀ
    public func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>,
                         kernels: KernelMode = .exact) {
        if n <= Self.fewRowsLimit {
            if kernels.usesIntegerKernels, hasIntegerKernel, let set = IntegerKernels.preferred {
                multiplyFewQuantized(x, n: n, into: y, kernels: set)
            }
            else { multiplyFew(x, n: n, into: y) }
            return
        }
        if kernels == .bfloat16, let engine = BFloat16Compute.engine { multiplyBFloat16(x, n: n, into: y, engine: engine) }
        else { multiplyTiled(x, n: n, into: y) }
    }

    /// dx[n, cols] = dy[n, rows] · W (+ dx when `accumulate`): the gradient with respect to the
    /// input of a frozen linear layer.
    public func multiplyTransposed(_ dy: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>,
                                   accumulate: Bool = false, kernels: KernelMode = .exact) {
        if kernels == .bfloat16, let engine = BFloat16Compute.engine {
            multiplyTransposedBFloat16(dy, n: n, into: dx, accumulate: accumulate, engine: engine)
        }
        else { multiplyTransposedTiled(dy, n: n, into: dx, accumulate: accumulate) }
    }
}
