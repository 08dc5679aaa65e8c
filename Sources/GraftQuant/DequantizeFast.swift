/// SIMD dequantization for the block types of real models' big matrices (Q4_0, Q4_1, Q8_0);
/// other types use the scalar reference. Results are bit-identical to `Dequantize` (the same
/// float operations per element, in the same order), which the tests check.
public enum DequantizeFast {
    typealias V = SIMD16<Float>

    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .q4_0:
            for b in 0..<(count / 32) { q4_0(src + b * 18, dst + b * 32) }
        case .q4_1:
            for b in 0..<(count / 32) { q4_1(src + b * 20, dst + b * 32) }
        case .q8_0:
            for b in 0..<(count / 32) { q8_0(src + b * 34, dst + b * 32) }
        default:
            Dequantize.row(type, src, dst, count: count)
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self)))
    }

    /// The 32 nibbles of 16 bytes as floats: elements 0…15 from low nibbles, 16…31 from high.
    /// Written lane by lane on purpose: LLVM turns this loop into vpmovzxbd + vcvtdq2ps, while the
    /// standard library's generic SIMD conversions stay out-of-line scalar calls (measured 3x slower).
    @inline(__always) static func nibbles(_ p: UnsafeRawPointer) -> (V, V) {
        let bytes = p.loadUnaligned(as: SIMD16<UInt8>.self)
        var lo = V(), hi = V()
        for i in 0..<16 {
            lo[i] = Float(bytes[i] & 0x0F)
            hi[i] = Float(bytes[i] >> 4)
        }
        return (lo, hi)
    }

    /// 16 signed bytes as floats (lane by lane, for the reason given at `nibbles`).
    @inline(__always) static func int8s(_ p: UnsafeRawPointer) -> V {
        let bytes = p.loadUnaligned(as: SIMD16<Int8>.self)
        var v = V()
        for i in 0..<16 { v[i] = Float(bytes[i]) }
        return v
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    @inline(__always) static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = V(repeating: half(b))
        let (lo, hi) = nibbles(b + 2)
        let eight = V(repeating: 8)
        store((lo - eight) * d, y)
        store((hi - eight) * d, y + 16)
    }

    @inline(__always) static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = V(repeating: half(b)), m = V(repeating: half(b + 2))
        let (lo, hi) = nibbles(b + 4)
        store(lo * d + m, y)
        store(hi * d + m, y + 16)
    }

    @inline(__always) static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = V(repeating: half(b))
        store(int8s(b + 2) * d, y)
        store(int8s(b + 18) * d, y + 16)
    }
}
