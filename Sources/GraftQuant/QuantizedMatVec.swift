import GraftTensor

/// Products of a quantized matrix with a few activation rows (decode): each weight block is read
/// once and multiplied in Float32 straight from its codes. For Q4_1 a block's contribution is
/// d·Σ qⱼxⱼ + m·Σ xⱼ, so the per-block sums of x are computed once per row of x, not per weight row.
extension QuantizedMatrix {
    /// y[t, r] = Σ_c W[r, c]·x[t, c] for t < n (n small); rows split over the cores.
    public func multiplyFew(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        let blocks = cols / 32
        var sums = [Float](repeating: 0, count: n * max(blocks, 1))
        if type == .q4_1 {
            for t in 0..<n {
                for b in 0..<blocks { sums[t * blocks + b] = Kernels.sum(x + t * cols + b * 32, 32) }
            }
        }
        let me = self
        sums.withUnsafeBufferPointer { sb in
            let xs = sb.baseAddress!
            parallelChunks(rows, grain: max(1, 8192 / max(cols / 32, 1))) { range in
                var scratch = [Float](repeating: 0, count: me.cols)
                scratch.withUnsafeMutableBufferPointer { sp in
                    for r in range {
                        let w = me.row(r)
                        for t in 0..<n {
                            let xt = x + t * me.cols
                            let value: Float
                            switch me.type {
                            case .q4_1: value = dotQ4_1(w, xt, xs + t * blocks, blocks)
                            case .q8_0: value = dotQ8_0(w, xt, blocks)
                            case .q4_0: value = dotQ4_0(w, xt, blocks)
                            default:
                                if t == 0 { Dequantize.row(me.type, w, sp.baseAddress!, count: me.cols) }
                                value = Kernels.dot(sp.baseAddress!, xt, me.cols)
                            }
                            y[t * me.rows + r] = value
                        }
                    }
                }
            }
        }
    }
}

typealias V16 = SIMD16<Float>

@inline(__always)
private func loadV(_ p: UnsafePointer<Float>) -> V16 { UnsafeRawPointer(p).loadUnaligned(as: V16.self) }

@inline(__always)
func dotQ4_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>, _ blocks: Int) -> Float {
    var acc = V16(repeating: 0)
    var mins: Float = 0
    for b in 0..<blocks {
        let block = w + b * 20
        let d = DequantizeFast.half(block), m = DequantizeFast.half(block + 2)
        let (lo, hi) = DequantizeFast.nibbles(block + 4)
        let xb = x + b * 32
        var s = lo * loadV(xb)
        s.addProduct(hi, loadV(xb + 16))
        acc.addProduct(s, V16(repeating: d))
        mins += m * xsum[b]
    }
    return acc.sum() + mins
}

@inline(__always)
func dotQ4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blocks: Int) -> Float {
    var acc = V16(repeating: 0)
    let eight = V16(repeating: 8)
    for b in 0..<blocks {
        let block = w + b * 18
        let d = DequantizeFast.half(block)
        let (lo, hi) = DequantizeFast.nibbles(block + 2)
        let xb = x + b * 32
        var s = (lo - eight) * loadV(xb)
        s.addProduct(hi - eight, loadV(xb + 16))
        acc.addProduct(s, V16(repeating: d))
    }
    return acc.sum()
}

@inline(__always)
func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blocks: Int) -> Float {
    var acc = V16(repeating: 0)
    for b in 0..<blocks {
        let block = w + b * 34
        let d = DequantizeFast.half(block)
        let q0 = V16(SIMD16<Int32>(truncatingIfNeeded: (block + 2).loadUnaligned(as: SIMD16<Int8>.self)))
        let q1 = V16(SIMD16<Int32>(truncatingIfNeeded: (block + 18).loadUnaligned(as: SIMD16<Int8>.self)))
        let xb = x + b * 32
        var s = q0 * loadV(xb)
        s.addProduct(q1, loadV(xb + 16))
        acc.addProduct(s, V16(repeating: d))
    }
    return acc.sum()
}
