import Foundation
import GraftQuant

/// Builds a GGUF v3 file the way llama.cpp's reader insists (formats.md §1.4, §1.10): metadata in
/// the order added, tensor infos, data in tensor-info order, every tensor zero-padded to the
/// alignment with offsets the running padded sum. Used for tiny test models and for adapter export.
///
/// ```swift
/// var w = GGUFWriter()
/// w.add("general.architecture", .string("llama"))
/// w.addTensor("output_norm.weight", type: .f32, dims: [64], bytes: raw)
/// try w.write(to: "tiny.gguf")
/// ```
public struct GGUFWriter {
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [(name: String, type: GGMLType, dims: [Int], bytes: [UInt8])] = []
    public var alignment = GGUFFile.defaultAlignment

    public init() {}

    public mutating func add(_ key: String, _ value: GGUFValue) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    /// Adds a tensor; `dims` in ggml order (dims[0] contiguous), `bytes` its encoded blocks.
    public mutating func addTensor(_ name: String, type: GGMLType, dims: [Int], bytes: [UInt8]) {
        precondition(dims[0] % type.blockSize == 0 && bytes.count == dims.reduce(1, *) / type.blockSize * type.blockBytes,
                     "GGUFWriter: \(name) \(type) \(dims) needs \(dims.reduce(1, *) / type.blockSize * type.blockBytes) bytes, got \(bytes.count)")
        tensors.append((name, type, dims, bytes))
    }

    /// Adds an F32 tensor given in PyTorch shape order.
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float]) {
        addTensor(name, type: .f32, dims: shape.reversed(), bytes: values.withUnsafeBytes { Array($0) })
    }

    /// The whole file.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): string(s)
            case .array(let items):
                u32(items.first?.typeID ?? GGUFValue.uint8(0).typeID)
                u64(UInt64(items.count))
                for item in items { value(item) }
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float64(let x): u64(x.bitPattern)
            }
        }
        u32(0x4655_4747)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, v) in metadata {
            string(key)
            u32(v.typeID)
            value(v)
        }
        func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
        var offset = 0
        for t in tensors {
            string(t.name)
            u32(UInt32(t.dims.count))
            for d in t.dims { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offset += padded(t.bytes.count)
        }
        out += [UInt8](repeating: 0, count: padded(out.count) - out.count)
        for t in tensors {
            out += t.bytes
            out += [UInt8](repeating: 0, count: padded(t.bytes.count) - t.bytes.count)
        }
        return out
    }

    /// Writes atomically (temporary file, fsync, rename).
    public func write(to path: String) throws(FormatError) {
        try AtomicFile.write(Data(encoded()), to: path)
    }
}
