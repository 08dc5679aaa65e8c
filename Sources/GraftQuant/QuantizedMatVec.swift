import GraftTensor

/// Products of a quantized matrix with a few activation rows (decode): each weight block is read
/// once and multiplied in Float32 straight from its codes. For Q4_1 a block's contribution is
/// d·Σ qⱼxⱼ + m·Σ xⱼ, so the per-block sums of x are computed once per row of x, not per weight row.
extension QuantizedMatrix {
    /// y[t, r] = Σ_c W[r, c]·x[t, c] for t < n (n small); rows split over the cores.
    public func multiplyFew(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        let blocks = cols / 32
        var sums = [Float](repeating: 0, count: type == .q4_1 ? n * blocks : 1)
        if type == .q4_1 {
            for t in 0..<n {
                for b in 0..<blocks { sums[t * blocks + b] = Kernels.sum(x + t * cols + b * 32, 32) }
            }
        }
        let me = self
        sums.withUnsafeBufferPointer { sb in
            let xs = sb.baseAddress!
            parallelChunks(rows, grain: 64) { range in
                // Rows of types without a block kernel are dequantized into this first.
                var scratch = [Float](repeating: 0, count: [.q4_1, .q8_0, .q4_0].contains(me.type) ? 0 : me.cols)
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
    // Two blocks per iteration into independent accumulators: one chain of FMAs per block
    // would leave the loop waiting on FMA latency instead of loads.
    var acc0 = V16(repeating: 0), acc1 = V16(repeating: 0)
    var mins0: Float = 0, mins1: Float = 0
    var b = 0
    while b + 1 < blocks {
        let b0 = w + b * 20, b1 = b0 + 20
        let (lo0, hi0) = DequantizeFast.nibbles(b0 + 4), (lo1, hi1) = DequantizeFast.nibbles(b1 + 4)
        let x0 = x + b * 32, x1 = x0 + 32
        var s0 = lo0 * loadV(x0), s1 = lo1 * loadV(x1)
        s0.addProduct(hi0, loadV(x0 + 16))
        s1.addProduct(hi1, loadV(x1 + 16))
        acc0.addProduct(s0, V16(repeating: DequantizeFast.half(b0)))
        acc1.addProduct(s1, V16(repeating: DequantizeFast.half(b1)))
        mins0 += DequantizeFast.half(b0 + 2) * xsum[b]
        mins1 += DequantizeFast.half(b1 + 2) * xsum[b + 1]
        b += 2
    }
    if b < blocks {
        let b0 = w + b * 20
        let (lo, hi) = DequantizeFast.nibbles(b0 + 4)
        var s0 = lo * loadV(x + b * 32)
        s0.addProduct(hi, loadV(x + b * 32 + 16))
        acc0.addProduct(s0, V16(repeating: DequantizeFast.half(b0)))
        mins0 += DequantizeFast.half(b0 + 2) * xsum[b]
    }
    return Kernels.horizontalSum(acc0 + acc1) + (mins0 + mins1)
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
    return Kernels.horizontalSum(acc)
}

@inline(__always)
func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blocks: Int) -> Float {
    var acc0 = V16(repeating: 0), acc1 = V16(repeating: 0)
    var b = 0
    @inline(__always) func block(_ b: Int) -> V16 {
        let p = w + b * 34
        let xb = x + b * 32
        var s = DequantizeFast.int8s(p + 2) * loadV(xb)
        s.addProduct(DequantizeFast.int8s(p + 18), loadV(xb + 16))
        return s * V16(repeating: DequantizeFast.half(p))
    }
    while b + 1 < blocks {
        acc0 += block(b)
        acc1 += block(b + 1)
        b += 2
    }
    if b < blocks { acc0 += block(b) }
    return Kernels.horizontalSum(acc0 + acc1)
}
