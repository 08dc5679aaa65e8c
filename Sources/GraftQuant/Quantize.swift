/// Reference quantizers for the simple block types, following ggml's `quantize_row_*_ref`
/// (formats.md §1.7). Used to build quantized test models and, later, to export adapters.
public enum Quantize {
    /// Encodes `values` (a multiple of the block size) as `type`'s blocks.
    public static func row(_ type: GGMLType, _ values: [Float]) -> [UInt8] {
        precondition(values.count % type.blockSize == 0, "\(type) needs a multiple of \(type.blockSize) values")
        var out: [UInt8] = []
        out.reserveCapacity(values.count / type.blockSize * type.blockBytes)
        func half(_ x: Float) { withUnsafeBytes(of: Float16(x).bitPattern.littleEndian) { out += $0 } }
        switch type {
        case .f32:
            values.withUnsafeBytes { out += $0 }
        case .f16:
            for v in values { half(v) }
        case .bf16:
            for v in values {
                let bits = v.bitPattern
                let bf: UInt16 = (bits & 0x7fff_ffff) > 0x7f80_0000 ? UInt16(bits >> 16) | 64
                    : UInt16(truncatingIfNeeded: (bits &+ (0x7fff &+ ((bits >> 16) & 1))) >> 16)
                withUnsafeBytes(of: bf.littleEndian) { out += $0 }
            }
        case .q8_0:
            for b in stride(from: 0, to: values.count, by: 32) {
                let x = values[b..<(b + 32)]
                let amax = x.map(abs).max()!
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                half(d)
                for v in x { out.append(UInt8(bitPattern: Int8((v * id).rounded(.toNearestOrAwayFromZero)))) }
            }
        case .q4_0:
            for b in stride(from: 0, to: values.count, by: 32) {
                let x = Array(values[b..<(b + 32)])
                let maxv = x.max { abs($0) < abs($1) }!
                let d = maxv / -8
                let id: Float = d != 0 ? 1 / d : 0
                half(d)
                let q = x.map { min(15, Int(Int8(truncatingIfNeeded: Int(($0 * id + 8.5).rounded(.towardZero))))) }
                for j in 0..<16 { out.append(UInt8(q[j] | q[j + 16] << 4)) }
            }
        case .q4_1:
            for b in stride(from: 0, to: values.count, by: 32) {
                let x = Array(values[b..<(b + 32)])
                let lo = x.min()!, hi = x.max()!
                let d = (hi - lo) / 15
                let id: Float = d != 0 ? 1 / d : 0
                half(d)
                half(lo)
                let q = x.map { min(15, Int(Int8(truncatingIfNeeded: Int((($0 - lo) * id + 0.5).rounded(.towardZero))))) }
                for j in 0..<16 { out.append(UInt8(q[j] | q[j + 16] << 4)) }
            }
        case .q4_K, .q6_K:
            preconditionFailure("\(type) quantization (ggml's iterative scale search) is not implemented; only dequantization is")
        }
        return out
    }
}
