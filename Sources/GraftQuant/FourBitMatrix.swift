/// A frozen weight in bitsandbytes' 4-bit layout (formats.md §6): the row-major flattened
/// tensor cut into blocks of `blockSize` values, each stored as 4-bit indices into the NF4 or
/// FP4 code (two per byte, the first in the high nibble) times the block's absmax; with double
/// quantization the absmax values themselves are 8-bit codes of the dynamic map, per group of
/// 256, around their mean. Quantization and dequantization reproduce bitsandbytes' CPU
/// arithmetic bit for bit (tested against its output).
public struct FourBitMatrix: FrozenMatrix, @unchecked Sendable {
    public let type: FourBitType
    public let rows: Int
    public let cols: Int
    public let blockSize: Int
    /// `(rows·cols + 1) / 2` bytes.
    public let packed: [UInt8]
    public let absmax: Absmax
    /// The absmax of every block as dequantization uses it.
    public let blockScales: [Float]
    private let code: [Float]
    /// The two values of every byte (high nibble first), for dequantizing two at a time.
    private let pairs: [SIMD2<Float>]

    public enum Absmax: Sendable, Equatable {
        /// One Float32 per block.
        case plain([Float])
        /// Double quantization: one byte per block (dynamic-map index), one Float32 per group
        /// of 256 blocks, and the mean that was subtracted.
        case nested(codes: [UInt8], groupAbsmax: [Float], offset: Float)
    }

    public static let nestedBlockSize = 256

    public init(type: FourBitType, rows: Int, cols: Int, blockSize: Int, packed: [UInt8], absmax: Absmax) {
        let n = rows * cols
        let blocks = (n + blockSize - 1) / blockSize
        precondition(packed.count == (n + 1) / 2, "\(packed.count) packed bytes for \(n) values")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.blockSize = blockSize
        self.packed = packed
        self.absmax = absmax
        self.code = type.code
        let code = type.code
        pairs = (0..<256).map { SIMD2(code[$0 >> 4], code[$0 & 0x0F]) }
        switch absmax {
        case .plain(let values):
            precondition(values.count == blocks, "\(values.count) absmax values for \(blocks) blocks")
            blockScales = values
        case .nested(let codes, let groupAbsmax, let offset):
            precondition(codes.count == blocks, "\(codes.count) absmax codes for \(blocks) blocks")
            let map = DynamicMap.values
            blockScales = codes.enumerated().map { i, q in map[Int(q)] * groupAbsmax[i / Self.nestedBlockSize] + offset }
        }
    }

    /// Quantizes a row-major `[rows, cols]` matrix as `bitsandbytes.functional.quantize_4bit`
    /// does on a CPU (`compress_statistics` = `doubleQuant`).
    public static func quantize(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, type: FourBitType,
                                blockSize: Int = 64, doubleQuant: Bool = true) -> FourBitMatrix {
        let n = rows * cols
        precondition(x.count == n)
        let matcher = type.matcher
        let full = n - n % blockSize
        var absmax: [Float] = []
        var indices = [UInt8](repeating: 0, count: n + n % 2)
        let tiny: Float = 1e-38
        var start = 0
        while start < full {
            var m: Float = 0
            for i in start..<(start + blockSize) { m = max(m, abs(x[i])) }
            absmax.append(m)
            let inverse = 1 / max(m, tiny)   // full blocks: a reciprocal, then products
            for i in start..<(start + blockSize) { indices[i] = matcher.index(min(max(x[i] * inverse, -1), 1)) }
            start += blockSize
        }
        if full < n {
            var m: Float = 0
            for i in full..<n { m = max(m, abs(x[i])) }
            let clamped = max(m, tiny)        // the partial block: true division, clamped absmax stored
            absmax.append(clamped)
            for i in full..<n { indices[i] = matcher.index(min(max(x[i] / clamped, -1), 1)) }
        }
        if n % 2 == 1 { indices[n] = matcher.index(0) }
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        for i in packed.indices { packed[i] = indices[2 * i] << 4 | indices[2 * i + 1] }
        let state: Absmax = doubleQuant ? nestedAbsmax(absmax) : .plain(absmax)
        return FourBitMatrix(type: type, rows: rows, cols: cols, blockSize: blockSize, packed: packed, absmax: state)
    }

    /// bitsandbytes' double quantization of the absmax values: subtract their mean (torch's
    /// float32 sum order), then 8-bit blockwise quantization with the dynamic map through its
    /// CPU kernel's 65,536-entry lookup table (csrc/cpu_ops.cpp), which is not always the exact
    /// nearest code, so it is reproduced as is.
    static func nestedAbsmax(_ absmax: [Float]) -> Absmax {
        let offset = TorchFloatSum.sum(absmax) / Float(absmax.count)
        let centred = absmax.map { $0 - offset }
        let table = NestedLookup.table
        var codes = [UInt8](repeating: 0, count: absmax.count)
        var groupAbsmax: [Float] = []
        var start = 0
        while start < centred.count {
            let end = min(start + nestedBlockSize, centred.count)
            var m: Float = 0
            for i in start..<end { m = max(m, abs(centred[i])) }
            groupAbsmax.append(m)
            if m != 0 {
                let inverse = 1 / m
                for i in start..<end {
                    let v = min(max(centred[i] * inverse, -1), 1)
                    let t = (v + 1) * 0.5
                    let slot = Int(Float(0.5).addingProduct(t, 65535))   // fused, then truncated, as compiled
                    codes[i] = table[min(max(slot, 0), 65535)]
                }
            }
            start = end
        }
        return .nested(codes: codes, groupAbsmax: groupAbsmax, offset: offset)
    }

    public func dequantize(rows range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        // Block by block (one scale each), two values per byte from a table of code pairs; the
        // products are the same float32 multiplications, element for element.
        let first = range.lowerBound * cols
        let end = first + range.count * cols
        packed.withUnsafeBufferPointer { bytes in
            blockScales.withUnsafeBufferPointer { scales in
                code.withUnsafeBufferPointer { c in
                    pairs.withUnsafeBufferPointer { table in
                        var e = first
                        var out = dst
                        while e < end {
                            let block = e / blockSize
                            let blockEnd = min((block + 1) * blockSize, end)
                            let scale = scales[block]
                            if e & 1 == 1 {
                                out.pointee = c[Int(bytes[e >> 1] & 0x0F)] * scale
                                out += 1
                                e += 1
                            }
                            let scale2 = SIMD2<Float>(repeating: scale)
                            while e + 1 < blockEnd {
                                UnsafeMutableRawPointer(out).storeBytes(of: table[Int(bytes[e >> 1])] * scale2, as: SIMD2<Float>.self)
                                out += 2
                                e += 2
                            }
                            if e < blockEnd {
                                out.pointee = c[Int(bytes[e >> 1] >> 4)] * scale
                                out += 1
                                e += 1
                            }
                        }
                    }
                }
            }
        }
    }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>, kernels: KernelMode) {
        if kernels == .bfloat16, let engine = BFloat16Compute.engine { multiplyBFloat16(x, n: n, into: y, engine: engine) }
        else { multiplyTiled(x, n: n, into: y) }
    }

    public func multiplyTransposed(_ dy: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                                   kernels: KernelMode) {
        if kernels == .bfloat16, let engine = BFloat16Compute.engine {
            multiplyTransposedBFloat16(dy, n: n, into: dx, accumulate: accumulate, engine: engine)
        }
        else { multiplyTransposedTiled(dy, n: n, into: dx, accumulate: accumulate) }
    }

    /// Bytes of the stored format (packed codes plus the absmax state), as bitsandbytes holds it.
    /// In memory Graft also keeps each block's decoded absmax as Float32 (`blockScales`, 4 bytes
    /// per block) so tiles dequantize without decoding the nested state again.
    public var byteCount: Int {
        switch absmax {
        case .plain(let a): packed.count + 4 * a.count
        case .nested(let c, let g, _): packed.count + c.count + 4 * g.count + 4
        }
    }
}

/// csrc/cpu_ops.cpp's lookup table for 8-bit blockwise quantization: slot i covers the value
/// fl32(2i/65535) − 1 and holds the number of dynamic-map midpoints below it.
enum NestedLookup {
    static let table: [UInt8] = {
        let map = DynamicMap.values
        let mids = (0..<(map.count - 1)).map { Float(0.5) * (map[$0] + map[$0 + 1]) }
        return (0..<65536).map { i in
            let fi = Float(i)
            let v = (fi + fi) / 65535 - 1
            var k = 0
            while k < mids.count && mids[k] < v { k += 1 }
            return UInt8(k)
        }
    }()
}
