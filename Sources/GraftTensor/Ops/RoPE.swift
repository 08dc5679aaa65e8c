#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which elements of a head RoPE rotates together (formats.md §7.3).
public enum RoPELayout: Sendable {
    /// HF's `rotate_half`: pairs (i, i + D/2).
    case rotateHalf
    /// GGUF/Meta (ggml `ROPE_TYPE_NORM`): adjacent pairs (2i, 2i+1).
    case interleaved
}

/// Rotary position embedding on `[B, T, H, D]` with `positions` per token (`T` of them, shared by
/// the batch, or `B·T`). Pair i turns by pos·base^(−2i/D), computed in Float32 the way HF does
/// (inv_freq = 1/base^(2i/D), then one rounding of pos·inv_freq), so logits match it closely at
/// long positions. The backward is the rotation by the opposite angle.
public func rope(_ x: Tensor, positions: [Int32], base: Float, layout: RoPELayout) -> Tensor {
    require(x.rank == 4, .invalidShape(op: "rope", shape: x.shape, reason: "expects [B, T, H, D]"))
    let (bs, t, h, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    require(d % 2 == 0, .invalidShape(op: "rope", shape: x.shape, reason: "head size \(d) is odd"))
    require(positions.count == t || positions.count == bs * t,
            .invalidArgument(op: "rope", reason: "\(positions.count) positions for \(bs)×\(t) tokens of \(x.shape)"))
    let table = RoPETable(positions: positions, half: d / 2, base: base)
    let xc = x.contiguousData()
    let out = Tensor(uninitializedShape: x.shape)
    rotate(xc.basePointer, out.basePointer, table: table, bs: bs, t: t, h: h, d: d, layout: layout, sign: 1,
           sharedPositions: positions.count == t)
    return Tensor.record(out, op: "rope", inputs: [x]) { g in
        let gx = Tensor(uninitializedShape: g.shape)
        rotate(g.basePointer, gx.basePointer, table: table, bs: bs, t: t, h: h, d: d, layout: layout, sign: -1,
               sharedPositions: positions.count == t)
        return [gx]
    }
}

/// cos and sin of every (position, pair) angle.
struct RoPETable {
    let cos: [Float]
    let sin: [Float]
    let half: Int

    init(positions: [Int32], half: Int, base: Float) {
        self.half = half
        var invFreq = [Float](repeating: 0, count: half)
        for i in 0..<half { invFreq[i] = 1 / powf(base, Float(2 * i) / Float(2 * half)) }
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = c
        for (p, pos) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(pos) * invFreq[i]
                c[p * half + i] = cosf(angle)
                s[p * half + i] = sinf(angle)
            }
        }
        cos = c
        sin = s
    }
}

private func rotate(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, table: RoPETable,
                    bs: Int, t: Int, h: Int, d: Int, layout: RoPELayout, sign: Float, sharedPositions: Bool) {
    let half = d / 2
    table.cos.withUnsafeBufferPointer { cb in
        table.sin.withUnsafeBufferPointer { sb in
            for b in 0..<bs {
                for ti in 0..<t {
                    let p = sharedPositions ? ti : b * t + ti
                    let cp = cb.baseAddress! + p * half, sp = sb.baseAddress! + p * half
                    for hi in 0..<h {
                        let o = ((b * t + ti) * h + hi) * d
                        let xs = src + o, ys = dst + o
                        switch layout {
                        case .rotateHalf:
                            for i in 0..<half {
                                let c = cp[i], s = sign * sp[i]
                                let x0 = xs[i], x1 = xs[i + half]
                                ys[i] = x0 * c - x1 * s
                                ys[i + half] = x1 * c + x0 * s
                            }
                        case .interleaved:
                            for i in 0..<half {
                                let c = cp[i], s = sign * sp[i]
                                let x0 = xs[2 * i], x1 = xs[2 * i + 1]
                                ys[2 * i] = x0 * c - x1 * s
                                ys[2 * i + 1] = x0 * s + x1 * c
                            }
                        }
                    }
                }
            }
        }
    }
}
