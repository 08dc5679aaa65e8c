import GraftTensor
import Testing

/// Checks the backward of `f` against central finite differences.
///
/// The scalar under test is L = Σ f(x) ⊙ R for a fixed random R, so every output element's
/// gradient path is exercised. Each input element is moved by ±h and L recomputed (in Double)
/// without history; the analytic gradient must agree to `tolerance` relative to the largest
/// numeric gradient. A wrong backward is off by O(1) of that, so the check cannot pass by luck.
func checkGradients(_ inputs: [Tensor], h: Float = 1e-2, tolerance: Float = 5e-3,
                    sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    var rng = RandomGenerator(seed: 99)
    for x in inputs { x.requiresGrad = true; x.zeroGrad() }
    let probe = withNoGrad { f(inputs) }
    let weights = Tensor.randn(probe.shape, generator: &rng)
    let w = weights.toArray()

    func loss() -> Double {
        let out = withNoGrad { f(inputs) }.toArray()
        var s = 0.0
        for (o, r) in zip(out, w) { s += Double(o) * Double(r) }
        return s
    }

    (f(inputs) * weights).sum().backward()

    for (index, x) in inputs.enumerated() {
        let analytic = x.grad?.toArray() ?? [Float](repeating: 0, count: x.count)
        var numeric = [Float](repeating: 0, count: x.count)
        x.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count {
                let saved = p[i]
                p[i] = saved + h
                let up = loss()
                p[i] = saved - h
                let down = loss()
                p[i] = saved
                numeric[i] = Float((up - down) / Double(2 * h))
            }
        }
        let scale = max(numeric.map(abs).max() ?? 0, 1e-3)
        let worst = zip(analytic, numeric).map { abs($0 - $1) }.max() ?? 0
        #expect(worst / scale <= tolerance,
                "input \(index) \(x.shape): max |analytic − numeric| = \(worst), relative \(worst / scale)",
                sourceLocation: sourceLocation)
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.randn(shape, std: std, generator: &rng)
}

@discardableResult
func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Float {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    let scale = max(b.map(abs).max() ?? 0, 1e-6)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    #expect(worst / scale <= tolerance, "max difference \(worst), relative \(worst / scale)",
            sourceLocation: sourceLocation)
    return worst / scale
}
