import GraftTensor

/// Global-norm clipping as `torch.nn.utils.clip_grad_norm_` does it: the L2 norm over all
/// gradients together; when it exceeds `maxNorm`, every gradient is scaled by
/// maxNorm / (norm + 1e-6). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        total += g.withUnsafeBufferPointer { b in b.reduce(0.0) { $0 + Double($1) * Double($1) } }
    }
    let norm = Float(total.squareRoot())
    guard maxNorm > 0, norm.isFinite else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    guard coefficient < 1 else { return norm }
    for p in parameters {
        guard let g = p.grad else { continue }
        g.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= coefficient } }
    }
    return norm
}
