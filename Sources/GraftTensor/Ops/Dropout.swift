/// Which elements inverted dropout keeps: one byte each, drawn from `generator` one uniform per
/// element in row-major order (an element is dropped when its draw is below `p`), and the factor
/// 1/(1−p) the survivors are scaled by. A seed (and a checkpointed generator) reproduces it.
/// Kept as bytes rather than a float mask so an op can save it for backward at a quarter of the
/// size of its input, and rebuild the dropped input when it needs it.
public struct DropoutMask: Sendable {
    public let kept: [UInt8]
    public let scale: Float

    public init(count: Int, p: Float, generator: inout RandomGenerator) {
        require(p >= 0 && p < 1, .invalidArgument(op: "dropout", reason: "p = \(p) must be in [0, 1)"))
        scale = 1 / (1 - p)
        kept = (0..<count).map { _ in generator.nextUniform() < p ? 0 : 1 }
    }

    /// dst[i] = src[i]·scale where kept, 0 where dropped (dst may be src).
    public func apply(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        kept.withUnsafeBufferPointer { k in
            let s = scale
            parallelChunks(k.count) { r in
                for i in r { dst[i] = k[i] != 0 ? src[i] * s : 0 }
            }
        }
    }

    /// dst[i] += src[i]·scale where kept: the gradient of the dropped input, added to the input's.
    public func accumulate(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        kept.withUnsafeBufferPointer { k in
            let s = scale
            parallelChunks(k.count) { r in
                for i in r where k[i] != 0 { dst[i] += src[i] * s }
            }
        }
    }
}

/// Inverted dropout: each element is zeroed with probability `p` and the survivors scaled by
/// 1/(1−p), so the expectation is unchanged. The mask is `DropoutMask`'s draw.
public func dropout(_ x: Tensor, p: Float, generator: inout RandomGenerator) -> Tensor {
    require(p >= 0 && p < 1, .invalidArgument(op: "dropout", reason: "p = \(p) must be in [0, 1)"))
    if p == 0 { return x }
    let draw = DropoutMask(count: x.count, p: p, generator: &generator)
    let mask = Tensor(draw.kept.map { $0 != 0 ? draw.scale : 0 }, shape: x.shape)
    let out = broadcastBinary(x, mask, op: "dropout", { $0 * $1 }, { $0 * $1 })
    return Tensor.record(out, op: "dropout", inputs: [x]) { g in [g * mask] }
}
