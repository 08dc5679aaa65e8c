import Foundation
import GraftTensor

/// A safetensors file (formats.md §5): an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the data. Reading validates the whole
/// layout the way the reference parser does: the ranges must tile the data exactly.
public struct SafetensorsFile {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let range: Range<Int>   // in the data section
    }

    /// The dtypes Graft reads and writes, with their sizes in bytes.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32", u8 = "U8"
        public var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .f64, .i64: return 8
            case .u8: return 1
            }
        }
    }

    public let path: String
    public let metadata: [String: String]
    public let entries: [Entry]   // in data order
    private let bytes: Data
    private let dataStart: Int

    public init(path: String) throws(FormatError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) }
        catch { throw .io(path: path, reason: error.localizedDescription) }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws(FormatError) {
        func bad(_ reason: String) -> FormatError { .invalid(path: path, field: nil, reason: reason) }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= 100_000_000 else { throw bad("header length \(n) is larger than 100,000,000") }
        guard 8 + Int(n) <= data.count else { throw bad("header length \(n) runs past the end of the \(data.count)-byte file") }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(n)))
        guard headerBytes.first == UInt8(ascii: "{") else { throw bad("header does not start with '{'") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes) }
        catch { throw bad("header is not valid JSON: \(error.localizedDescription)") }
        guard let object = json as? [String: Any] else { throw bad("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw .invalid(path: path, field: name, reason: "must be an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw .invalid(path: path, field: "__metadata__.\(k)", reason: "values must be strings") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int],
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw .invalid(path: path, field: name, reason: "needs dtype, shape and two data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .invalid(path: path, field: name, reason: "dtype \(dtypeName) is not supported")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw .invalid(path: path, field: name, reason: "negative size or reversed data_offsets \(offsets)")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
            }
            let (bytes, bytesOverflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, !bytesOverflow else {
                throw .invalid(path: path, field: name, reason: "shape \(shape) has more elements than can be addressed")
            }
            guard offsets[1] - offsets[0] == bytes else {
                throw .invalid(path: path, field: name, reason: "holds \(offsets[1] - offsets[0]) bytes but \(dtypeName) \(shape) needs \(bytes)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1]))
        }
        entries.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        var end = 0
        for e in entries {
            guard e.range.lowerBound == end else {
                throw .invalid(path: path, field: e.name, reason: "data_offsets \(e.range) leave a hole or overlap at byte \(end)")
            }
            end = e.range.upperBound
        }
        guard end == data.count - 8 - Int(n) else {
            throw bad("tensors cover \(end) bytes of data but the file holds \(data.count - 8 - Int(n))")
        }
        self.path = path
        self.metadata = metadata
        self.entries = entries
        self.bytes = data
        self.dataStart = 8 + Int(n)
    }

    public var names: [String] { entries.map(\.name) }

    /// The named tensor converted to Float32.
    public func tensor(_ name: String) throws(FormatError) -> Tensor {
        guard let e = entries.first(where: { $0.name == name }) else {
            throw .missing(path: path, name: name)
        }
        let count = Shape.count(e.shape)
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.range.lowerBound
            for i in 0..<count {
                switch e.dtype {
                case .f32: values[i] = base.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                case .f64: values[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                case .f16: values[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                case .bf16: values[i] = Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16)
                case .i64: values[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                case .i32: values[i] = Float(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                case .u8: values[i] = Float(base.load(fromByteOffset: i, as: UInt8.self))
                }
            }
        }
        return Tensor(values, shape: e.shape)
    }

    /// The named tensor's bytes as stored.
    public func rawBytes(_ name: String) throws(FormatError) -> [UInt8] {
        guard let e = entries.first(where: { $0.name == name }) else { throw .missing(path: path, name: name) }
        let start = bytes.startIndex + dataStart
        return [UInt8](bytes[(start + e.range.lowerBound)..<(start + e.range.upperBound)])
    }

    /// Writes F32 tensors the way the reference writer does: sorted by name within one dtype,
    /// packed without padding, the header padded with spaces to a multiple of 8. Written to a
    /// temporary file and renamed, so an existing file is never left half-written.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws(FormatError) {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) }
        catch { throw .io(path: path, reason: "cannot encode header: \(error)") }
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            tensors[name]!.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        }
        try AtomicFile.write(out, to: path)
    }
}
