/// The ggml tensor types Graft reads (formats.md §1.6): their ids in GGUF files and block geometry.
/// A quantized row of `n` values is `n / blockSize` blocks of `blockBytes` bytes each.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4_K = 12, q6_K = 14, bf16 = 30

    /// Values per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return 32
        case .q4_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        case .q4_K: return 144
        case .q6_K: return 210
        }
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q6_K: return "Q6_K"
        }
    }

    /// Bytes of one row of `n` values, or nil when `n` is not a whole number of blocks.
    public func rowBytes(_ n: Int) -> Int? {
        n % blockSize == 0 ? n / blockSize * blockBytes : nil
    }

    /// Names of the ggml types that exist but Graft does not read, for error messages.
    public static func name(ofUnsupported id: UInt32) -> String {
        let known: [UInt32: String] = [6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 13: "Q5_K",
                                       15: "Q8_K", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
                                       34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4"]
        return known[id] ?? "type \(id)"
    }
}
