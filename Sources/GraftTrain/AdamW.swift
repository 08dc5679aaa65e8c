import GraftTensor

/// AdamW with decoupled weight decay, step for step the arithmetic of `torch.optim.AdamW`
/// (single-tensor path, amsgrad off):
///
///     p ← p · (1 − lr·λ)
///     m ← m + (1 − β₁)(g − m)                 (torch's lerp)
///     v ← β₂·v + (1 − β₂)·g²
///     p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The moments and the step count are plain arrays, so a checkpoint can save and restore them.
public struct AdamW {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Steps taken so far (t in the bias corrections).
    public var step: Int = 0
    /// First and second moments, one pair per parameter, in the order of `parameters`.
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]
    public let parameters: [Tensor]

    public init(parameters: [Tensor], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0.01) {
        self.parameters = parameters
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        firstMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
        secondMoments = firstMoments
    }

    /// Applies one update with learning rate `lr` from each parameter's `grad` (a parameter
    /// without a gradient is left alone, as in torch), then clears the gradients.
    public mutating func update(lr: Float) {
        step += 1
        let bc1 = 1 - powf(beta1, Float(step))
        let bc2Sqrt = (1 - powf(beta2, Float(step))).squareRoot()
        let stepSize = lr / bc1
        let decay = 1 - lr * weightDecay
        let (b1, b2, eps) = (beta1, beta2, eps)
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            g.withUnsafeBufferPointer { gb in
                p.withUnsafeMutableBufferPointer { pb in
                    firstMoments[i].withUnsafeMutableBufferPointer { mb in
                        secondMoments[i].withUnsafeMutableBufferPointer { vb in
                            for j in 0..<pb.count {
                                let gj = gb[j]
                                pb[j] *= decay
                                mb[j] += (1 - b1) * (gj - mb[j])
                                vb[j] = vb[j] * b2 + (1 - b2) * gj * gj
                                let denom = vb[j].squareRoot() / bc2Sqrt + eps
                                pb[j] += -stepSize * (mb[j] / denom)
                            }
                        }
                    }
                }
            }
            p.zeroGrad()
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
