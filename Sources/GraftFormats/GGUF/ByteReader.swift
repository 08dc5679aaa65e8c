/// A bounds-checked little-endian cursor over a GGUF mapping. Every read says what it was
/// reading, so a truncated or corrupted file is reported by field.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var position = 0
    static let maxStringBytes = 1 << 30
    static let maxArrayElements = 1 << 30

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    private mutating func take(_ n: Int, what: String) throws(FormatError) -> UnsafeRawPointer {
        guard n >= 0, n <= bytes.count - position else {
            throw .invalid(path: path, field: what, reason: "needs \(n) bytes at offset \(position) but the file ends at \(bytes.count) (truncated?)")
        }
        guard let base = bytes.baseAddress else { throw .invalid(path: path, field: what, reason: "the file is empty") }
        let p = base + position
        position += n
        return p
    }

    mutating func u8(what: String) throws(FormatError) -> UInt8 { try take(1, what: what).load(as: UInt8.self) }
    mutating func u16(what: String) throws(FormatError) -> UInt16 { UInt16(littleEndian: try take(2, what: what).loadUnaligned(as: UInt16.self)) }
    mutating func u32(what: String) throws(FormatError) -> UInt32 { UInt32(littleEndian: try take(4, what: what).loadUnaligned(as: UInt32.self)) }
    mutating func u64(what: String) throws(FormatError) -> UInt64 { UInt64(littleEndian: try take(8, what: what).loadUnaligned(as: UInt64.self)) }

    /// A u64 count of records, each at least `minimumBytesEach` long: a count the rest of the
    /// file cannot hold is rejected before anything is allocated for it.
    mutating func count(what: String, minimumBytesEach: Int) throws(FormatError) -> Int {
        let n = try u64(what: what)
        let room = UInt64(bytes.count - position) / UInt64(minimumBytesEach)
        guard n <= room else {
            throw .invalid(path: path, field: what, reason: "\(n) entries cannot fit in the remaining \(bytes.count - position) bytes")
        }
        return Int(n)
    }

    mutating func string(what: String) throws(FormatError) -> String {
        let n = try u64(what: "length of \(what)")
        guard n <= UInt64(Self.maxStringBytes), n <= UInt64(bytes.count - position) else {
            throw .invalid(path: path, field: what, reason: "string length \(n) runs past the end of the file")
        }
        let p = try take(Int(n), what: what)
        return String(decoding: UnsafeRawBufferPointer(start: p, count: Int(n)), as: UTF8.self)
    }

    mutating func value(type: UInt32, key: String, depth: Int) throws(FormatError) -> GGUFValue {
        switch type {
        case 0: return .uint8(try u8(what: key))
        case 1: return .int8(Int8(bitPattern: try u8(what: key)))
        case 2: return .uint16(try u16(what: key))
        case 3: return .int16(Int16(bitPattern: try u16(what: key)))
        case 4: return .uint32(try u32(what: key))
        case 5: return .int32(Int32(bitPattern: try u32(what: key)))
        case 6: return .float32(Float(bitPattern: try u32(what: key)))
        case 7:
            let b = try u8(what: key)
            guard b <= 1 else { throw .invalid(path: path, field: key, reason: "BOOL value \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case 8: return .string(try string(what: key))
        case 9:
            guard depth == 0 else { throw .invalid(path: path, field: key, reason: "nested arrays are not allowed") }
            let elementType = try u32(what: "element type of \(key)")
            guard elementType <= 12, elementType != 9 else {
                throw .invalid(path: path, field: key, reason: "array element type \(GGUFValue.typeName(elementType)) is invalid")
            }
            let minimum = [1, 1, 2, 2, 4, 4, 4, 1, 8, 0, 8, 8, 8][Int(elementType)]
            let n = try count(what: "length of \(key)", minimumBytesEach: minimum)
            guard n <= Self.maxArrayElements else { throw .invalid(path: path, field: key, reason: "array of \(n) elements is too large") }
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(type: elementType, key: key, depth: 1)) }
            return .array(items)
        case 10: return .uint64(try u64(what: key))
        case 11: return .int64(Int64(bitPattern: try u64(what: key)))
        case 12: return .float64(Double(bitPattern: try u64(what: key)))
        default:
            throw .invalid(path: path, field: key, reason: "unknown value type \(type)")
        }
    }
}
