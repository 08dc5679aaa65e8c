import GraftTensor
import GraftAdapters
import GraftModel

/// An adapter held by the engine for serving: per (block, target) its A `[r, in]` and B
/// `[out, r]` as flat Float32 rows, and its scaling. Rows of a batch that use it get
/// `y += scale·scaling·B(A x)` computed row by row in a fixed order, so a row's result never
/// depends on the other rows (batch invariance), for any rank and without padding.
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

    /// Bytes of its weights in memory.
    public let bytes: Int

    public init(label: String, contentHash: String, weights: AdapterWeights) throws(EngineError) {
        guard !weights.lora.dora else { throw .adapter(label, reason: "DoRA adapters are not served yet; merge it into the base instead") }
        self.label = label
        self.contentHash = contentHash
        rank = weights.lora.rank
        scaling = weights.lora.scaling
        var a: [AdapterWeights.Key: [Float]] = [:], b: [AdapterWeights.Key: [Float]] = [:]
        var bytes = 0
        for (key, layer) in weights.layers {
            a[key] = layer.a.toArray()
            b[key] = layer.b.transposed(0, 1).contiguous().toArray()
            bytes += (layer.a.count + layer.b.count) * 4
        }
        (self.a, self.bT, self.bytes) = (a, b, bytes)
    }

    /// y[out] += factor·B·(A·x) for one row, if this adapter adapts (block, target): u = A·x,
    /// then y += (factor·u_k)·Bᵀ[k] for k in order.
    func add(block: Int, target: LoRATarget, factor: Float, x: UnsafePointer<Float>, inputs: Int,
             y: UnsafeMutablePointer<Float>, outputs: Int, scratch: UnsafeMutablePointer<Float>) {
        let key = AdapterWeights.Key(block: block, target: target)
        guard let a = a[key], let bT = bT[key] else { return }
        let r = rank
        a.withUnsafeBufferPointer { pa in
            for k in 0..<r { scratch[k] = Kernels.dot(pa.baseAddress! + k * inputs, x, inputs) }
        }
        bT.withUnsafeBufferPointer { pb in
            for k in 0..<r { Kernels.axpy(factor * scratch[k], pb.baseAddress! + k * outputs, y, outputs) }
        }
    }
}
