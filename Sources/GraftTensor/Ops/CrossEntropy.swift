#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How per-token losses are combined.
public enum LossReduction: Sendable {
    /// Mean over the tokens that are not ignored (PyTorch's default).
    case mean
    /// Sum over the tokens that are not ignored.
    case sum
}

/// Cross-entropy of `logits` `[N, V]` against `targets` (N class ids). Targets equal to
/// `ignoreIndex` (−100, as in PyTorch) contribute nothing: that is how prompt tokens and padding
/// are masked. Log-softmax is fused in; the backward is (softmax − onehot) scaled by the
/// reduction, recomputed from the saved row log-sum-exps instead of keeping an [N, V] buffer.
public func crossEntropy(logits: Tensor, targets: [Int32], ignoreIndex: Int32 = -100,
                         reduction: LossReduction = .mean) -> Tensor {
    require(logits.rank == 2 && logits.shape[0] == targets.count,
            .shapeMismatch(op: "crossEntropy", lhs: logits.shape, rhs: [targets.count],
                           reason: "logits must be [N, V] with one target per row"))
    let (n, v) = (logits.shape[0], logits.shape[1])
    for (i, t) in targets.enumerated() where t != ignoreIndex && (t < 0 || Int(t) >= v) {
        fail(.invalidArgument(op: "crossEntropy", reason: "target \(t) at row \(i) is outside \(v) classes"))
    }
    let x = logits.contiguousData()
    let px = x.basePointer
    var lse = [Float](repeating: 0, count: n)
    var total: Double = 0
    var valid = 0
    for i in 0..<n where targets[i] != ignoreIndex {
        let row = px + i * v
        let m = Kernels.max(row, v)
        var acc = Kernels.V(repeating: 0)
        var j = 0
        while j + Kernels.width <= v {
            acc += Kernels.exp(Kernels.load(row + j) - Kernels.V(repeating: m))
            j += Kernels.width
        }
        var s = Kernels.horizontalSum(acc)
        while j < v { s += expf(row[j] - m); j += 1 }
        lse[i] = m + logf(s)
        total += Double(lse[i] - row[Int(targets[i])])
        valid += 1
    }
    let divisor: Float = reduction == .mean ? Float(max(valid, 1)) : 1
    let out = Tensor([valid == 0 && reduction == .mean ? Float.nan : Float(total) / divisor], shape: [])
    return Tensor.record(out, op: "crossEntropy", inputs: [logits]) { g in
        // The logits' buffer is read through `px`: keep it alive until backward has run.
        withExtendedLifetime(x) {}
        let scale = g.item() / divisor
        let gx = Tensor(uninitializedShape: [n, v])
        let pg = gx.basePointer
        lse.withUnsafeBufferPointer { lb in
            parallelChunks(n, grain: max(1, 8192 / max(v, 1))) { r in
                for i in r {
                    let dst = pg + i * v
                    guard targets[i] != ignoreIndex else { dst.update(repeating: 0, count: v); continue }
                    let row = px + i * v
                    _ = Kernels.expShifted(row, lb[i], dst, v)
                    Kernels.scale(dst, scale, v)
                    dst[Int(targets[i])] -= scale
                }
            }
        }
        return [gx]
    }
}
