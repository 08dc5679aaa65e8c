import CGraftKernels
import GraftTensor

/// A frozen weight matrix `[rows, cols]` (PyTorch's `[out, in]`) kept in its quantized ggml
/// blocks, each row `cols / blockSize` blocks. Nothing here ever holds the whole matrix in
/// Float32: kernels dequantize a block or a tile of rows at a time.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    /// `rows · rowBytes` bytes of blocks.
    public let data: UnsafeRawPointer
    /// Whatever owns `data` (a file mapping, or an array), kept alive with the matrix.
    public let owner: AnyObject
    /// The same rows in a layout the decode kernel reads faster (Q4_1 only; see
    /// `preparedForDecoding()`), beside the original blocks that tiles are dequantized from.
    public private(set) var decodeRows: ByteBox?

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject) {
        precondition(cols % type.blockSize == 0, "\(type) rows need a multiple of \(type.blockSize) values, got \(cols)")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.owner = owner
    }

    /// A matrix that owns a copy of `bytes` (used for weights built in memory, e.g. tiny test models).
    public init(type: GGMLType, rows: Int, cols: Int, bytes: [UInt8]) {
        let box = ByteBox(bytes)
        self.init(type: type, rows: rows, cols: cols, data: box.pointer, owner: box)
        precondition(bytes.count == rows * rowBytes, "\(bytes.count) bytes for \(rows)×\(cols) \(type)")
    }

    public var rowBytes: Int { cols / type.blockSize * type.blockBytes }

    /// A copy that also holds its rows repacked for the decode kernels where this CPU decodes
    /// with integer kernels (`IntegerKernels.preferred`); otherwise the matrix as it is. Costs one
    /// more copy of the matrix in memory, so only inference asks for it
    /// (`LlamaModel.prepareForDecoding`); prompt processing reads the original blocks.
    public func preparedForDecoding() -> QuantizedMatrix {
        IntegerKernels.preferred == nil ? self : repackedForDecoding()
    }

    /// A copy that also holds its rows in the decode row layout (`graft_repack_q4_1`: Q4_1 with an
    /// even number of blocks a row; other matrices are returned as they are), whatever the CPU.
    public func repackedForDecoding() -> QuantizedMatrix {
        guard type == .q4_1, decodeRows == nil, (cols / 32) % 2 == 0 else { return self }
        var copy = self
        let box = ByteBox(count: byteCount)
        let (blocks, bytes) = (cols / 32, rowBytes)
        for r in 0..<rows {
            graft_repack_q4_1(row(r).assumingMemoryBound(to: UInt8.self), Int32(blocks),
                              box.pointer.assumingMemoryBound(to: UInt8.self) + r * bytes)
        }
        copy.decodeRows = box
        return copy
    }
    public var byteCount: Int { rows * rowBytes }

    /// Row `r`'s blocks.
    @inline(__always)
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// Dequantizes rows `range` into `dst` (`range.count · cols` floats), exactly as ggml does.
    public func dequantize(rows range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        for (i, r) in range.enumerated() { DequantizeFast.row(type, row(r), dst + i * cols, count: cols) }
    }
}

/// Heap bytes with a stable address.
public final class ByteBox: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ bytes: [UInt8]) {
        pointer = .allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { pointer.copyMemory(from: b, byteCount: $0.count) } }
    }
    init(count: Int) { pointer = .allocate(byteCount: max(count, 1), alignment: 64) }
    deinit { pointer.deallocate() }
}
