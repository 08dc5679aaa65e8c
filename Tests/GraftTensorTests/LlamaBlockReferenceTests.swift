import Foundation
import GraftFormats
import GraftTensor
import Testing
import GraftTestSupport

/// A Llama decoder block built from GraftTensor ops, held to transformers' `LlamaDecoderLayer`
/// (computed in float64 by Scripts/make_tensor_fixtures.py): forward output and the gradients
/// of Σ output ⊙ probe for the input and all nine weights, relative error ≤ 1e-5
/// (max |ours − theirs| / max |theirs| per tensor).
@Suite struct LlamaBlockReferenceTests {
    let file: SafetensorsFile
    let config: [String: Double]
    let positions: [Int32]

    init() throws {
        file = try SafetensorsFile(path: Fixtures.path("llama_block.safetensors"))
        config = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Double]
        positions = (try JSONSerialization.jsonObject(with: Data(file.metadata["positions"]!.utf8)) as! [Int]).map { Int32($0) }
    }

    func block(_ x: Tensor, _ w: [String: Tensor]) -> Tensor {
        let (b, t, dim) = (x.shape[0], x.shape[1], x.shape[2])
        let heads = Int(config["num_attention_heads"]!), kvHeads = Int(config["num_key_value_heads"]!)
        let headDim = Int(config["head_dim"]!)
        let eps = Float(config["rms_norm_eps"]!), theta = Float(config["rope_theta"]!)

        let a = rmsNorm(x, weight: w["attn_norm"]!, eps: eps)
        let q = matmul(a, w["wq"]!, transposeB: true).reshaped([b, t, heads, headDim])
        let k = matmul(a, w["wk"]!, transposeB: true).reshaped([b, t, kvHeads, headDim])
        let v = matmul(a, w["wv"]!, transposeB: true).reshaped([b, t, kvHeads, headDim])
        let attn = scaledDotProductAttention(q: rope(q, positions: positions, base: theta, layout: .rotateHalf),
                                             k: rope(k, positions: positions, base: theta, layout: .rotateHalf),
                                             v: v)
        let h = x + matmul(attn.reshaped([b, t, heads * headDim]), w["wo"]!, transposeB: true)
        let f = rmsNorm(h, weight: w["ffn_norm"]!, eps: eps)
        let gate = matmul(f, w["w_gate"]!, transposeB: true).silu()
        let up = matmul(f, w["w_up"]!, transposeB: true)
        _ = dim
        return h + matmul(gate * up, w["w_down"]!, transposeB: true)
    }

    @Test func forwardAndBackwardEqualTransformers() throws {
        let names = ["attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down"]
        var weights: [String: Tensor] = [:]
        for n in names {
            let t = try file.tensor("weight.\(n)")
            t.requiresGrad = true
            weights[n] = t
        }
        let x = try file.tensor("input")
        x.requiresGrad = true
        let y = block(x, weights)
        var report = ["output": expectClose(y.toArray(), try file.tensor("output").toArray(), tolerance: 1e-5)]

        (y * (try file.tensor("probe"))).sum().backward()
        report["grad.input"] = expectClose(x.grad!.toArray(), try file.tensor("grad.input").toArray(), tolerance: 1e-5)
        for n in names {
            report["grad.\(n)"] = expectClose(weights[n]!.grad!.toArray(), try file.tensor("grad.\(n)").toArray(), tolerance: 1e-5)
        }
        let worst = report.max { $0.value < $1.value }!
        print("Llama block vs transformers: worst relative error \(worst.value) (\(worst.key)) over \(report.count) tensors")
    }

    @Test func crossEntropyEqualsTorch() throws {
        let logits = try file.tensor("ce.logits")
        logits.requiresGrad = true
        let targets = try file.tensor("ce.targets").toArray().map { Int32($0) }
        let loss = crossEntropy(logits: logits, targets: targets)
        expectClose([loss.item()], try file.tensor("ce.loss").toArray(), tolerance: 1e-6)
        loss.backward()
        expectClose(logits.grad!.toArray(), try file.tensor("ce.grad").toArray(), tolerance: 1e-5)
    }
}
