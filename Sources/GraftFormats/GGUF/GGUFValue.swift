/// One metadata value of a GGUF file (formats.md §1.2), with the value type it was stored as:
/// llama.cpp insists on exact types for some keys (§1.9), so a writer must keep them.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// The GGUF value-type id.
    public var typeID: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    public static func typeName(_ id: UInt32) -> String {
        ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
         "UINT64", "INT64", "FLOAT64"][safe: Int(id)] ?? "type \(id)"
    }

    /// Any integer type as Int (nil for other types or values that do not fit).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// A float or integer value as Double.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A short rendering for `graft inspect`: arrays show their length and first elements.
    public var summary: String {
        switch self {
        case .string(let s):
            let oneLine = s.replacingOccurrences(of: "\n", with: "\\n")
            return oneLine.count > 80 ? "\"\(oneLine.prefix(77))…\" (\(s.utf8.count) bytes)" : "\"\(oneLine)\""
        case .array(let a):
            let head = a.prefix(4).map(\.summary).joined(separator: ", ")
            return "[\(head)\(a.count > 4 ? ", …" : "")] (\(a.count) elements)"
        case .bool(let b): return String(b)
        case .float32(let v): return String(v)
        case .float64(let v): return String(v)
        default: return intValue.map(String.init) ?? "?"
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
