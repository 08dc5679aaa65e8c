import GraftQuant

/// A GGUF v3 file, memory-mapped and validated (formats.md §1): magic, version, counts, every
/// string length and array size against the file, value types, `general.alignment`, tensor
/// names, ranks, types, block-size divisibility, offsets (aligned, in bounds, not overlapping).
/// A truncated, corrupted or hostile file gives a `FormatError` naming the file and the key or
/// tensor at fault; nothing is read outside the mapping.
///
/// ```swift
/// let file = try GGUFFile(path: "models/SmolLM2-135M-Instruct.Q4_1.gguf")
/// let layers = try file.int("llama.block_count")
/// let q = try file.tensorData("blk.0.attn_q.weight")   // raw quantized bytes, in place
/// ```
public struct GGUFFile: Sendable {
    public static let defaultAlignment = 32
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Keys in file order.
    public let keys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let dataOffset: Int
    let file: MappedFile
    private let index: [String: Int]

    public init(path: String) throws(FormatError) {
        try self.init(mapping: MappedFile(path: path))
    }

    public init(mapping: MappedFile) throws(FormatError) {
        file = mapping
        path = mapping.path
        var r = ByteReader(bytes: mapping.bytes, path: path)
        let magic = try r.u32(what: "magic")
        guard magic == 0x4655_4747 else {
            throw .invalid(path: path, field: nil, reason: "not a GGUF file (magic \(String(magic, radix: 16)), expected 46554747 'GGUF')")
        }
        version = try r.u32(what: "version")
        guard version & 0xFFFF != 0 else { throw .invalid(path: path, field: "version", reason: "\(version) looks byte-swapped (big-endian file?)") }
        guard version == 2 || version == 3 else {
            throw .invalid(path: path, field: "version", reason: "GGUF version \(version) is not supported (only 2 and 3)")
        }
        let tensorCount = try r.count(what: "tensor_count", minimumBytesEach: 8 + 4 + 4 + 8)
        let kvCount = try r.count(what: "metadata_kv_count", minimumBytesEach: 8 + 4 + 1)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<kvCount {
            let key = try r.string(what: "key of metadata entry \(i)")
            guard !key.isEmpty else { throw .invalid(path: path, field: "metadata entry \(i)", reason: "empty key") }
            guard metadata[key] == nil else { throw .invalid(path: path, field: key, reason: "duplicate key") }
            let type = try r.u32(what: "type of \(key)")
            metadata[key] = try r.value(type: type, key: key, depth: 0)
            keys.append(key)
        }
        var alignment = Self.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard case .uint32(let v) = a else {
                throw .invalid(path: path, field: "general.alignment", reason: "must be UINT32, found \(GGUFValue.typeName(a.typeID))")
            }
            guard v > 0, v & (v - 1) == 0 else { throw .invalid(path: path, field: "general.alignment", reason: "\(v) is not a power of two") }
            alignment = Int(v)
        }

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for i in 0..<tensorCount {
            let name = try r.string(what: "name of tensor \(i)")
            guard !name.isEmpty, name.utf8.count < 64 else {
                throw .invalid(path: path, field: "tensor \(i) '\(name.prefix(80))'", reason: "name must be 1 to 63 bytes")
            }
            guard index[name] == nil else { throw .invalid(path: path, field: name, reason: "duplicate tensor name") }
            let nDims = try r.u32(what: "rank of \(name)")
            guard nDims >= 1, nDims <= 4 else { throw .invalid(path: path, field: name, reason: "rank \(nDims) is outside 1…4") }
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let v = try r.u64(what: "dimension \(d) of \(name)")
                guard v <= UInt64(Int32.max) else { throw .invalid(path: path, field: name, reason: "dimension \(d) = \(v) is too large") }
                dims.append(Int(v))
                let (p, o) = elements.multipliedReportingOverflow(by: Int(v))
                guard !o, p <= 1 << 40 else { throw .invalid(path: path, field: name, reason: "\(dims) has too many elements") }
                elements = p
            }
            let typeID = try r.u32(what: "type of \(name)")
            guard let type = GGMLType(rawValue: typeID) else {
                throw .invalid(path: path, field: name, reason: "tensor type \(GGMLType.name(ofUnsupported: typeID)) is not supported (Graft reads F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K, Q6_K)")
            }
            guard dims[0] % type.blockSize == 0 else {
                throw .invalid(path: path, field: name, reason: "row length \(dims[0]) is not a multiple of \(type)'s block size \(type.blockSize)")
            }
            let offset = try r.u64(what: "offset of \(name)")
            guard offset % UInt64(alignment) == 0, offset <= UInt64(mapping.bytes.count) else {
                throw .invalid(path: path, field: name, reason: "offset \(offset) is not a multiple of the alignment \(alignment) or lies outside the file")
            }
            index[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dims: dims, type: type, offset: Int(offset), fileOffset: 0))
        }
        let dataOffset = tensorCount > 0 ? (r.position + alignment - 1) / alignment * alignment : r.position
        let size = mapping.bytes.count
        infos = infos.map { GGUFTensorInfo(name: $0.name, dims: $0.dims, type: $0.type, offset: $0.offset, fileOffset: dataOffset + $0.offset) }
        for t in infos {
            guard t.fileOffset <= size, t.byteCount <= size - t.fileOffset else {
                throw .invalid(path: path, field: t.name, reason: "data at \(t.fileOffset)…\(t.fileOffset + t.byteCount) runs past the end of the \(size)-byte file (truncated?)")
            }
        }
        let byOffset = infos.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset {
            throw .invalid(path: path, field: b.name, reason: "data overlaps tensor '\(a.name)'")
        }
        self.metadata = metadata
        self.keys = keys
        self.tensors = infos
        self.index = index
        self.alignment = alignment
        self.dataOffset = dataOffset
    }

    public func tensor(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The raw bytes of a tensor, in place in the mapping (valid while this file value lives).
    public func tensorData(_ name: String) throws(FormatError) -> UnsafeRawBufferPointer {
        guard let t = tensor(name) else { throw .missing(path: path, name: name) }
        return UnsafeRawBufferPointer(rebasing: file.bytes[t.fileOffset..<(t.fileOffset + t.byteCount)])
    }

    /// The mapping that backs every `tensorData` pointer; hold it to keep them valid.
    public var mapping: MappedFile { file }

    // MARK: typed metadata access; errors name the key.

    public func value(_ key: String) throws(FormatError) -> GGUFValue {
        guard let v = metadata[key] else { throw .invalid(path: path, field: key, reason: "missing") }
        return v
    }

    public func string(_ key: String) throws(FormatError) -> String {
        let v = try value(key)
        guard let s = v.stringValue else { throw wrongType(key, v, "STRING") }
        return s
    }

    public func int(_ key: String) throws(FormatError) -> Int {
        let v = try value(key)
        guard let i = v.intValue else { throw wrongType(key, v, "an integer") }
        return i
    }

    public func float(_ key: String) throws(FormatError) -> Float {
        let v = try value(key)
        guard let d = v.doubleValue else { throw wrongType(key, v, "a number") }
        return Float(d)
    }

    public func bool(_ key: String) throws(FormatError) -> Bool {
        let v = try value(key)
        guard case .bool(let b) = v else { throw wrongType(key, v, "BOOL") }
        return b
    }

    public func stringArray(_ key: String) throws(FormatError) -> [String] {
        let v = try value(key)
        guard case .array(let a) = v else { throw wrongType(key, v, "ARRAY of STRING") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let s = e.stringValue else { throw wrongType(key, v, "ARRAY of STRING") }
            out.append(s)
        }
        return out
    }

    public func intArray(_ key: String) throws(FormatError) -> [Int] {
        let v = try value(key)
        guard case .array(let a) = v else { throw wrongType(key, v, "ARRAY of integers") }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let i = e.intValue else { throw wrongType(key, v, "ARRAY of integers") }
            out.append(i)
        }
        return out
    }

    private func wrongType(_ key: String, _ v: GGUFValue, _ expected: String) -> FormatError {
        var found = GGUFValue.typeName(v.typeID)
        if case .array(let a) = v, let first = a.first { found += " of \(GGUFValue.typeName(first.typeID))" }
        return .invalid(path: path, field: key, reason: "expected \(expected), found \(found)")
    }
}
