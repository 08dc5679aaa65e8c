/// Row dequantization, the reference for every quantized kernel: the formulas of ggml's
/// `dequantize_row_*` (formats.md §1.7), checked bit-exact against gguf-py. Each function turns
/// `count` values' worth of blocks at `src` into Float32 at `dst`.
public enum Dequantize {
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .f32: dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16: for i in 0..<count { dst[i] = f16(src, i * 2) }
        case .bf16: for i in 0..<count { dst[i] = Float(bitPattern: UInt32(u16(src, i * 2)) << 16) }
        case .q4_0: blocks(src, dst, count, 32, 18, q4_0)
        case .q4_1: blocks(src, dst, count, 32, 20, q4_1)
        case .q8_0: blocks(src, dst, count, 32, 34, q8_0)
        case .q4_K: blocks(src, dst, count, 256, 144, q4_K)
        case .q6_K: blocks(src, dst, count, 256, 210, q6_K)
        }
    }

    @inline(__always)
    static func blocks(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _ size: Int,
                       _ bytes: Int, _ one: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
        for b in 0..<(count / size) { one(src + b * bytes, dst + b * size) }
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ o: Int) -> UInt16 {
        UInt16(p.load(fromByteOffset: o, as: UInt8.self)) | UInt16(p.load(fromByteOffset: o + 1, as: UInt8.self)) << 8
    }

    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        Float(Float16(bitPattern: u16(p, o)))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ o: Int) -> UInt8 { p.load(fromByteOffset: o, as: UInt8.self) }

    /// d (f16), 16 bytes: element j = low nibble of byte j, element j+16 = high nibble; (q − 8)·d.
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0)
        for j in 0..<16 {
            let q = byte(b, 2 + j)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    /// d, m (f16), 16 bytes of nibbles as in Q4_0; q·d + m.
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0), m = f16(b, 2)
        for j in 0..<16 {
            let q = byte(b, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// d (f16), 32 int8; q·d.
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: byte(b, 2 + j))) * d }
    }

    /// The 6-bit scale and min of sub-block j of a Q4_K block's 12 packed bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        if j < 4 { return (byte(q, j) & 63, byte(q, j + 4) & 63) }
        let sc = (byte(q, j + 4) & 0x0F) | ((byte(q, j - 4) >> 6) << 4)
        let m = (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4)
        return (sc, m)
    }

    /// d, dmin (f16), 12 bytes of scales/mins, 128 bytes of nibbles: 4 chunks of 64 values.
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 0), dmin = f16(b, 2)
        let scales = b + 4, qs = b + 16
        for c in 0..<4 {
            let (sc1, m1) = scaleMinK4(2 * c, scales), (sc2, m2) = scaleMinK4(2 * c + 1, scales)
            let d1 = d * Float(sc1), mm1 = dmin * Float(m1)
            let d2 = d * Float(sc2), mm2 = dmin * Float(m2)
            for l in 0..<32 {
                let q = byte(qs, 32 * c + l)
                y[64 * c + l] = d1 * Float(q & 0x0F) - mm1
                y[64 * c + 32 + l] = d2 * Float(q >> 4) - mm2
            }
        }
    }

    /// 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, d (f16): two halves of 128.
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(b, 208)
        for n in 0..<2 {
            let ql = b + 64 * n, qh = b + 128 + 32 * n, sc = b + 192 + 8 * n
            let out = y + 128 * n
            for l in 0..<32 {
                let s = l / 16
                let lo0 = byte(ql, l), lo1 = byte(ql, l + 32), h = byte(qh, l)
                let q1 = Int((lo0 & 0x0F) | ((h >> 0) & 3) << 4) - 32
                let q2 = Int((lo1 & 0x0F) | ((h >> 2) & 3) << 4) - 32
                let q3 = Int((lo0 >> 4) | ((h >> 4) & 3) << 4) - 32
                let q4 = Int((lo1 >> 4) | ((h >> 6) & 3) << 4) - 32
                func scale(_ k: Int) -> Float { d * Float(Int8(bitPattern: byte(sc, s + k))) }
                out[l] = scale(0) * Float(q1)
                out[l + 32] = scale(2) * Float(q2)
                out[l + 64] = scale(4) * Float(q3)
                out[l + 96] = scale(6) * Float(q4)
            }
        }
    }
}
