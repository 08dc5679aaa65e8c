import GraftQuant

/// One tensor of a GGUF file: where its bytes are and how to read them. `dims` are in ggml
/// order (dims[0] is the contiguous axis, formats.md §1.5); `shape` is the PyTorch order.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let dims: [Int]
    public let type: GGMLType
    /// Offset from the start of the data blob, as stored.
    public let offset: Int
    /// Offset from the start of the file.
    public let fileOffset: Int

    public var shape: [Int] { dims.reversed() }
    public var count: Int { dims.reduce(1, *) }
    /// Bytes of the tensor's data (whole blocks).
    public var byteCount: Int { count / type.blockSize * type.blockBytes }
}
