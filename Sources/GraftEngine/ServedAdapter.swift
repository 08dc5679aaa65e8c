import GraftTensor
import Foundation
import GraftAdapters
import GraftModel
import GraftQuant

/// An adapter held by the engine for serving: per (block, target) its A `[r, in]` and B
/// `[out, r]` as flat rows (Float32, or bfloat16 to halve what a step reads), and its scaling. Rows of a batch that use it get
/// `y += scale·scaling·B(A x)` computed row by row in a fixed order, so a row's result never
/// depends on the other rows (batch invariance), for any rank and without padding. A DoRA
/// adapter then rescales the row by m/‖W + scale·scaling·BA‖ (its norms computed once per scale
/// and kept); scale 0 means the base for every kind of adapter.
public final class ServedAdapter: @unchecked Sendable {
    /// What requests call it (`sql@3`, a folder).
    public let label: String
    /// The content hash of its weights file (the registry's digest), or the label for folders.
    public let contentHash: String
    public let rank: Int
    public let scaling: Float
    /// How A and B are held in memory.
    public let precision: Precision
    let a: [AdapterWeights.Key: LowRankRows]
    /// Bᵀ `[r, out]`, so the update is r contiguous axpys.
    let bT: [AdapterWeights.Key: LowRankRows]

    /// How A and B are held while served.
    public enum Precision: String, Sendable, CaseIterable {
        /// As trained: the updates match `TextGeneration`'s LoRA layers bit for bit.
        case float32
        /// Rounded to bfloat16 (as PEFT and vLLM usually serve adapters), computed in Float32:
        /// half the bytes, which is most of a step's adapter cost when a batch mixes many
        /// adapters. Every row of a request still sees the same rounded weights, alone or batched.
        case bfloat16
    }

    /// DoRA magnitudes `[out]` by (block, target); empty for plain LoRA.
    let magnitude: [AdapterWeights.Key: [Float]]
    public var isDoRA: Bool { !magnitude.isEmpty }
    private let normsLock = NSLock()
    private var ratios: [UInt32: [AdapterWeights.Key: [Float]]] = [:]

    /// Bytes of its weights in memory.
    public let bytes: Int

    public init(label: String, contentHash: String, weights: AdapterWeights, precision: Precision = .float32) throws(EngineError) {
        self.label = label
        self.contentHash = contentHash
        self.precision = precision
        rank = weights.lora.rank
        scaling = weights.lora.scaling
        var a: [AdapterWeights.Key: LowRankRows] = [:], b: [AdapterWeights.Key: LowRankRows] = [:], m: [AdapterWeights.Key: [Float]] = [:]
        var bytes = 0
        for (key, layer) in weights.layers {
            if let magnitude = layer.magnitude {
                m[key] = magnitude.toArray()
                bytes += magnitude.count * 4
            }
            a[key] = LowRankRows(layer.a.toArray(), precision)
            b[key] = LowRankRows(layer.b.transposed(0, 1).contiguous().toArray(), precision)
            bytes += a[key]!.bytes + b[key]!.bytes
        }
        (self.a, self.bT, self.magnitude, self.bytes) = (a, b, m, bytes)
    }

    /// y_j[out] += factor_j·B·(A·x_j) for several rows that use this adapter on (block, target),
    /// on the calling thread: A's and B's rows are read once for all of them (the SGMV idea),
    /// and each row gets exactly the operations it would get alone: u_k = A_k·x_j, then
    /// y_j += (factor_j·u_k)·Bᵀ_k for k in order.
    func add(block: Int, target: LoRATarget, rows: [(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, factor: Float)],
             inputs: Int, outputs: Int) {
        let key = AdapterWeights.Key(block: block, target: target)
        guard let a = a[key], let bT = bT[key], !rows.isEmpty else { return }
        let r = rank
        let u = UnsafeMutablePointer<Float>.allocate(capacity: r * rows.count)
        defer { u.deallocate() }
        for k in 0..<r {
            for j in rows.indices { u[j * r + k] = a.dot(row: k, length: inputs, rows[j].x) }
        }
        for k in 0..<r {
            for j in rows.indices { bT.axpy(rows[j].factor * u[j * r + k], row: k, length: outputs, rows[j].y) }
        }
    }

    /// DoRA's m/‖W + factor·B·A‖ per output row of (block, target) for `factor` (scale·scaling),
    /// computed from the base's dequantized rows the first time it is asked for.
    func doraRatio(block: Int, target: LoRATarget, factor: Float, base: QuantizedMatrix) -> [Float]? {
        let key = AdapterWeights.Key(block: block, target: target)
        guard let m = magnitude[key], let a = a[key]?.floats, let bT = bT[key]?.floats else { return nil }
        normsLock.lock()
        defer { normsLock.unlock() }
        if let cached = ratios[factor.bitPattern]?[key] { return cached }
        let (rows, cols, r) = (base.rows, base.cols, rank)
        var w = [Float](repeating: 0, count: cols)
        var ratio = [Float](repeating: 0, count: rows)
        for o in 0..<rows {
            w.withUnsafeMutableBufferPointer { base.dequantize(rows: o..<(o + 1), into: $0.baseAddress!) }
            var sum: Double = 0
            for c in 0..<cols {
                var delta: Float = 0
                for k in 0..<r { delta += bT[k * rows + o] * a[k * cols + c] }
                let v = Double(w[c] + factor * delta)
                sum += v * v
            }
            ratio[o] = m[o] / Float(sum.squareRoot())
        }
        ratios[factor.bitPattern, default: [:]][key] = ratio
        return ratio
    }
}

/// One low-rank matrix's rows, flat, in the precision the adapter is served in.
enum LowRankRows: Sendable {
    case float32([Float])
    case bfloat16([UInt16])

    init(_ values: [Float], _ precision: ServedAdapter.Precision) {
        switch precision {
        case .float32: self = .float32(values)
        case .bfloat16: self = .bfloat16(values.map(Kernels.bfloat16Bits))
        }
    }

    var bytes: Int {
        switch self {
        case .float32(let v): v.count * 4
        case .bfloat16(let v): v.count * 2
        }
    }

    /// The values as Float32 (exact).
    var floats: [Float] {
        switch self {
        case .float32(let v): v
        case .bfloat16(let v): v.map(Kernels.float(bfloat16:))
        }
    }

    /// Σ row_k[i]·x[i] over a row of `length`.
    func dot(row k: Int, length: Int, _ x: UnsafePointer<Float>) -> Float {
        switch self {
        case .float32(let v): v.withUnsafeBufferPointer { Kernels.dot($0.baseAddress! + k * length, x, length) }
        case .bfloat16(let v): v.withUnsafeBufferPointer { BFloat16RowKernels.dot($0.baseAddress! + k * length, x, length) }
        }
    }

    /// y[i] += alpha·row_k[i] over a row of `length`.
    func axpy(_ alpha: Float, row k: Int, length: Int, _ y: UnsafeMutablePointer<Float>) {
        switch self {
        case .float32(let v): v.withUnsafeBufferPointer { Kernels.axpy(alpha, $0.baseAddress! + k * length, y, length) }
        case .bfloat16(let v): v.withUnsafeBufferPointer { BFloat16RowKernels.axpy(alpha, $0.baseAddress! + k * length, y, length) }
        }
    }
}
