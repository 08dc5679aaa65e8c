import GraftFormats
import GraftQuant
import GraftTensor

/// A Llama-family decoder (formats.md §7.2): token embedding, blocks of RMSNorm → attention with
/// RoPE and grouped KV heads → residual → RMSNorm → SwiGLU MLP → residual, a final RMSNorm and
/// the output projection (tied to the embedding in SmolLM2).
///
/// ```swift
/// let model = try LlamaModel(path: "models/SmolLM2-135M-Instruct.Q4_1.gguf")
/// let cache = KVCache(config: model.config, capacity: 512)
/// var logits = model.logits(model.forward(tokens: prompt, cache: cache), lastOnly: true)
/// ```
///
/// The same forward serves inference (with a cache, under `withNoGrad`) and training (batches,
/// packed-sequence masks, gradients through the frozen base to the adapters).
public final class LlamaModel {
    public let config: LlamaConfig
    public var weights: LlamaWeights
    public let file: GGUFFile?
    /// The arithmetic of the frozen matrix products (see `KernelMode`); training needs `.exact`.
    public var kernels: KernelMode = .exact
    /// How much of each block the backward pass computes again instead of keeping (training
    /// memory against time; see `Recomputation`).
    public var recomputation: Recomputation = .none
    /// The adapters' dropout stream, replayed when a block is recomputed so both runs draw the
    /// same masks.
    public var dropoutSource: DropoutSource?

    public init(config: LlamaConfig, weights: LlamaWeights, file: GGUFFile? = nil) {
        self.config = config
        self.weights = weights
        self.file = file
    }

    public convenience init(gguf: GGUFFile) throws(FormatError) {
        let config = try LlamaConfig(gguf: gguf)
        self.init(config: config, weights: try LlamaWeights(gguf: gguf, config: config), file: gguf)
    }

    public convenience init(path: String) throws(FormatError) {
        try self.init(gguf: GGUFFile(path: path))
    }

    /// Hidden states `[batch, T, hidden]` after the final norm for `tokens` (`batch·T` ids).
    ///
    /// - positions: one per token (`T`, shared by the batch, or `batch·T`); default: after the
    ///   cache's length, 0, 1, 2, … otherwise.
    /// - mask: `.causal`, or `.causalSegments` for packed examples.
    /// - cache: keys/values of earlier tokens (batch 1); the new tokens are appended.
    public func forward(tokens: [Int32], batch: Int = 1, positions: [Int32]? = nil,
                        mask: AttentionMask = .causal, cache: KVCache? = nil) -> Tensor {
        let t = tokens.count / batch
        precondition(t * batch == tokens.count, "forward: \(tokens.count) tokens do not split into \(batch) rows")
        precondition(cache == nil || batch == 1, "forward: the KV cache holds one sequence")
        let start = cache?.length ?? 0
        let pos = positions ?? (0..<t).map { Int32(start + $0) }
        var h = embed(tokens, shape: [batch, t])
        for (i, block) in weights.blocks.enumerated() {
            if recomputation != .none && cache == nil && GradMode.isEnabled {
                h = recomputedBlock(h, block, layer: i, positions: pos, mask: mask)
            } else {
                h = blockForward(h, block, layer: i, positions: pos, mask: mask, cache: cache)
            }
        }
        cache?.commit(t)
        return rmsNorm(h, weight: weights.outputNorm, eps: config.rmsNormEps)
    }

    /// Logits `[rows, vocab]` from final hidden states; only the last position's when `lastOnly`.
    public func logits(_ hidden: Tensor, lastOnly: Bool = false) -> Tensor {
        let d = config.hiddenSize
        let rows = hidden.reshaped([-1, d])
        let x = lastOnly ? rows.slice(axis: 0, (rows.shape[0] - 1)..<rows.shape[0]) : rows
        return linear(x, weights.output, kernels: kernels)
    }

    /// Embedding rows, dequantized from the table's blocks (the table gets no gradient).
    func embed(_ tokens: [Int32], shape: [Int]) -> Tensor {
        let d = config.hiddenSize
        let out = Tensor(uninitializedShape: shape + [d])
        for (i, id) in tokens.enumerated() {
            precondition(id >= 0 && Int(id) < config.vocabularySize, "token id \(id) is outside the vocabulary of \(config.vocabularySize)")
            weights.embedding.dequantize(rows: Int(id)..<(Int(id) + 1), into: out.basePointer + i * d)
        }
        return out
    }

    /// One block under `recomputed`, with the dropout stream rewound for the second run and
    /// put back where the first run left it afterwards.
    func recomputedBlock(_ x: Tensor, _ w: LlamaBlockWeights, layer: Int, positions: [Int32], mask: AttentionMask) -> Tensor {
        let parameters = LoRATarget.allCases.flatMap { (w[$0] as? LoRALinear)?.parameters ?? [] }
        let source = dropoutSource
        var streamAtStart: RandomGenerator?
        return recomputed(x, parameters: parameters, keep: recomputation) { [self] input in
            guard let source else { return blockForward(input, w, layer: layer, positions: positions, mask: mask, cache: nil) }
            guard let start = streamAtStart else {
                streamAtStart = source.generator
                return blockForward(input, w, layer: layer, positions: positions, mask: mask, cache: nil)
            }
            let after = source.generator
            source.generator = start
            defer { source.generator = after }
            return blockForward(input, w, layer: layer, positions: positions, mask: mask, cache: nil)
        }
    }

    func blockForward(_ x: Tensor, _ w: LlamaBlockWeights, layer: Int, positions: [Int32], mask: AttentionMask,
                      cache: KVCache?) -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        let (heads, kvHeads, hd) = (config.headCount, config.kvHeadCount, config.headDim)
        let a = rmsNorm(x, weight: w.attentionNorm, eps: config.rmsNormEps)
        let qkv = project(a, [w.q, w.k, w.v])
        let q = rope(qkv[0].reshaped([b, t, heads, hd]), positions: positions, base: config.ropeTheta, layout: config.ropeLayout)
        var k = rope(qkv[1].reshaped([b, t, kvHeads, hd]), positions: positions, base: config.ropeTheta, layout: config.ropeLayout)
        var v = qkv[2].reshaped([b, t, kvHeads, hd])
        if let cache { (k, v) = cache.append(layer: layer, k: k, v: v) }
        let attention: Tensor
        if let cache, t <= 4, !q.requiresGrad, case .causal = mask {
            attention = cachedAttention(q: q, transposedKeys: cache.transposedKeys[layer], values: cache.values[layer],
                                        length: cache.length + t).reshaped([b, t, heads * hd])
        } else {
            attention = scaledDotProductAttention(q: q, k: k, v: v, mask: mask).reshaped([b, t, heads * hd])
        }
        let h = x + w.o(attention, kernels: kernels)
        let f = rmsNorm(h, weight: w.mlpNorm, eps: config.rmsNormEps)
        let gateUp = project(f, [w.gate, w.up])
        return h + w.down(swiglu(gateUp[0], gateUp[1]), kernels: kernels)
    }

    /// Several projections of the same input. When decoding with the fast kernels through frozen
    /// quantized layers, they run as one parallel loop over all their rows with the activations
    /// quantized once (one hand-off to the other core instead of one per projection).
    func project(_ x: Tensor, _ layers: [any LinearLayer]) -> [Tensor] {
        let cols = x.shape.last ?? 0
        let n = x.count / max(cols, 1)
        if kernels == .fast, n <= QuantizedMatrix.fewRowsLimit, !x.requiresGrad, !RecomputeTape.isActive {
            let matrices = layers.compactMap { ($0 as? FrozenLinear)?.weight as? QuantizedMatrix }
            if matrices.count == layers.count {
                let input = x.contiguous()
                let outputs = matrices.map { Tensor(uninitializedShape: Array(x.shape.dropLast()) + [$0.rows]) }
                if QuantizedMatrix.multiplyFewQuantized(matrices, input.basePointer, n: n, into: outputs.map(\.basePointer)) {
                    return outputs
                }
            }
        }
        return layers.map { $0(x, kernels: kernels) }
    }
}
