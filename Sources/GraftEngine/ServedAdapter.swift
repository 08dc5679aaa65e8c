import GraftTensor
import Foundation
import GraftAdapters
import GraftModel
import GraftQuant

/// An adapter held by the engine for serving: per (block, target) its A `[r, in]` and B
/// `[out, r]` as flat Float32 rows, and its scaling. Rows of a batch that use it get
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
    let a: [AdapterWeights.Key: [Float]]
    /// Bᵀ `[r, out]`, so the update is r contiguous axpys.
    let bT: [AdapterWeights.Key: [Float]]

    /// DoRA magnitudes `[out]` by (block, target); empty for plain LoRA.
    let magnitude: [AdapterWeights.Key: [Float]]
    public var isDoRA: Bool { !magnitude.isEmpty }
    private let normsLock = NSLock()
    private var ratios: [UInt32: [AdapterWeights.Key: [Float]]] = [:]

    /// Bytes of its weights in memory.
    public let bytes: Int

    public init(label: String, contentHash: String, weights: AdapterWeights) throws(EngineError) {
        self.label = label
        self.contentHash = contentHash
        rank = weights.lora.rank
        scaling = weights.lora.scaling
        var a: [AdapterWeights.Key: [Float]] = [:], b: [AdapterWeights.Key: [Float]] = [:], m: [AdapterWeights.Key: [Float]] = [:]
        var bytes = 0
        for (key, layer) in weights.layers {
            if let magnitude = layer.magnitude {
                m[key] = magnitude.toArray()
                bytes += magnitude.count * 4
            }
            a[key] = layer.a.toArray()
            b[key] = layer.b.transposed(0, 1).contiguous().toArray()
            bytes += (layer.a.count + layer.b.count) * 4
        }
        (self.a, self.bT, self.magnitude, self.bytes) = (a, b, m, bytes)
    }

    /// y_j[out] += factor_j·B·(A·x_j) for several rows that use this adapter on (block, target):
    /// A's and B's rows are read once for all of them (the SGMV idea), and each row gets exactly
    /// the operations it would get alone: u_k = A_k·x_j, then y_j += (factor_j·u_k)·Bᵀ_k for k in
    /// order. Rows are split over the cores.
    func add(block: Int, target: LoRATarget, rows: [(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, factor: Float)],
             inputs: Int, outputs: Int) {
        let key = AdapterWeights.Key(block: block, target: target)
        guard let a = a[key], let bT = bT[key] else { return }
        let r = rank
        a.withUnsafeBufferPointer { pa in
            bT.withUnsafeBufferPointer { pb in
                let (pa, pb) = (pa.baseAddress!, pb.baseAddress!)
                parallelChunks(rows.count, grain: max(1, 65536 / max(1, r * (inputs + outputs)))) { range in
                    let u = UnsafeMutablePointer<Float>.allocate(capacity: r * range.count)
                    defer { u.deallocate() }
                    for k in 0..<r {
                        for (i, j) in range.enumerated() { u[i * r + k] = Kernels.dot(pa + k * inputs, rows[j].x, inputs) }
                    }
                    for k in 0..<r {
                        for (i, j) in range.enumerated() { Kernels.axpy(rows[j].factor * u[i * r + k], pb + k * outputs, rows[j].y, outputs) }
                    }
                }
            }
        }
    }

    /// DoRA's m/‖W + factor·B·A‖ per output row of (block, target) for `factor` (scale·scaling),
    /// computed from the base's dequantized rows the first time it is asked for.
    func doraRatio(block: Int, target: LoRATarget, factor: Float, base: QuantizedMatrix) -> [Float]? {
        let key = AdapterWeights.Key(block: block, target: target)
        guard let m = magnitude[key], let a = a[key], let bT = bT[key] else { return nil }
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
