import GraftTensor

/// A tiny character-level transformer (embedding, one pre-norm block with grouped-query
/// attention, RoPE and a SwiGLU MLP, tied output head) trained with AdamW to continue a short
/// text. It runs the whole tensor core end to end in a second, so `make run` shows learning
/// before the real model is wired in.
///
/// ```swift
/// var task = ToyTask(seed: 0)
/// for step in 1...200 { let loss = task.trainStep(lr: 3e-3) }
/// ```
public struct ToyTask {
    public static let corpus = "graft trains small adapters on a frozen base. "
    public let vocabulary: [Character]
    let ids: [Int32]
    let dim = 32, heads = 4, kvHeads = 2, hidden = 64, context = 24, batch = 4
    let parameters: [String: Tensor]
    var optimizer: AdamW
    var rng: RandomGenerator

    public init(seed: UInt64) {
        vocabulary = Array(Set(Self.corpus)).sorted()
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, Int32($0)) })
        ids = Self.corpus.map { index[$0]! }
        var generator = RandomGenerator(seed: seed)
        let (v, dim, heads, kvHeads, hidden) = (vocabulary.count, 32, 4, 2, 64)
        let hd = dim / heads
        func weight(_ shape: [Int], std: Float) -> Tensor {
            Tensor.randn(shape, std: std, generator: &generator, requiresGrad: true)
        }
        let parameters = [
            "embed": weight([v, dim], std: 0.1),
            "attn_norm": Tensor.ones([dim], requiresGrad: true),
            "wq": weight([heads * hd, dim], std: 0.15), "wk": weight([kvHeads * hd, dim], std: 0.15),
            "wv": weight([kvHeads * hd, dim], std: 0.15), "wo": weight([dim, heads * hd], std: 0.15),
            "ffn_norm": Tensor.ones([dim], requiresGrad: true),
            "w_gate": weight([hidden, dim], std: 0.15), "w_up": weight([hidden, dim], std: 0.15),
            "w_down": weight([dim, hidden], std: 0.1),
            "out_norm": Tensor.ones([dim], requiresGrad: true),
        ]
        self.parameters = parameters
        optimizer = AdamW(parameters: parameters.keys.sorted().map { parameters[$0]! }, weightDecay: 0)
        rng = generator
    }

    /// Loss over a batch of random windows of the corpus, next-character targets.
    func loss(inputs: [Int32], targets: [Int32]) -> Tensor {
        let p = parameters, hd = dim / heads
        let positions = (0..<context).map { Int32($0) }
        let x = embedding(p["embed"]!, ids: inputs, shape: [batch, context])
        let a = rmsNorm(x, weight: p["attn_norm"]!, eps: 1e-5)
        let q = rope(matmul(a, p["wq"]!, transposeB: true).reshaped([batch, context, heads, hd]),
                     positions: positions, base: 10000, layout: .rotateHalf)
        let k = rope(matmul(a, p["wk"]!, transposeB: true).reshaped([batch, context, kvHeads, hd]),
                     positions: positions, base: 10000, layout: .rotateHalf)
        let v = matmul(a, p["wv"]!, transposeB: true).reshaped([batch, context, kvHeads, hd])
        let attn = scaledDotProductAttention(q: q, k: k, v: v).reshaped([batch, context, dim])
        let h = x + matmul(attn, p["wo"]!, transposeB: true)
        let f = rmsNorm(h, weight: p["ffn_norm"]!, eps: 1e-5)
        let mlp = matmul(matmul(f, p["w_gate"]!, transposeB: true).silu() * matmul(f, p["w_up"]!, transposeB: true),
                         p["w_down"]!, transposeB: true)
        let out = rmsNorm(h + mlp, weight: p["out_norm"]!, eps: 1e-5)
        let logits = matmul(out.reshaped([batch * context, dim]), p["embed"]!, transposeB: true)
        return crossEntropy(logits: logits, targets: targets)
    }

    /// One AdamW step on a fresh random batch; returns the batch's loss before the update.
    public mutating func trainStep(lr: Float) -> Float {
        var inputs: [Int32] = [], targets: [Int32] = []
        for _ in 0..<batch {
            let start = Int(rng.next() % UInt64(ids.count))
            for t in 0..<context {
                inputs.append(ids[(start + t) % ids.count])
                targets.append(ids[(start + t + 1) % ids.count])
            }
        }
        let l = loss(inputs: inputs, targets: targets)
        l.backward()
        optimizer.update(lr: lr)
        return l.item()
    }

    /// The loss of predicting uniformly over the vocabulary, where training starts from.
    public var uniformLoss: Float { logf(Float(vocabulary.count)) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
