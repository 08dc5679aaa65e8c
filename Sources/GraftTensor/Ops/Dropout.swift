/// Inverted dropout: each element is zeroed with probability `p` and the survivors scaled by
/// 1/(1−p), so the expectation is unchanged. The mask comes from `generator`, one uniform draw
/// per element in row-major order, so a seed (and a checkpointed generator) reproduces it.
public func dropout(_ x: Tensor, p: Float, generator: inout RandomGenerator) -> Tensor {
    require(p >= 0 && p < 1, .invalidArgument(op: "dropout", reason: "p = \(p) must be in [0, 1)"))
    if p == 0 { return x }
    let keep = 1 / (1 - p)
    let mask = Tensor(uninitializedShape: x.shape)
    let pm = mask.basePointer
    for i in 0..<mask.count { pm[i] = generator.nextUniform() < p ? 0 : keep }
    let out = broadcastBinary(x, mask, op: "dropout", { $0 * $1 }, { $0 * $1 })
    return Tensor.record(out, op: "dropout", inputs: [x]) { g in [g * mask] }
}
