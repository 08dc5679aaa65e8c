import GraftFormats
import GraftModel
import GraftTensor
import Testing
import GraftTestSupport

/// The Llama forward on the real SmolLM2-135M-Instruct Q4_1 against transformers loading the same
/// GGUF and running in float64 (Scripts/make_model_fixtures.py): logits within 1e-3 at 160
/// positions, the same argmax everywhere, the same greedy answers to chat prompts.
@Suite(.serialized) struct LlamaReferenceTests {
    let model: LlamaModel
    let reference: SafetensorsFile

    init() throws {
        model = try LlamaModel(path: Models.smolLM2)
        reference = try SafetensorsFile(path: Fixtures.path("smollm2_reference.safetensors"))
    }

    func ids(_ name: String) throws -> [Int32] { try reference.tensor(name).toArray().map { Int32($0) } }

    /// Largest |ours − reference| over everything the fixture keeps of each position's logits.
    func compare(_ logits: Tensor, positions: Range<Int>) throws -> (maxDiff: Float, argmaxMismatches: Int) {
        let v = logits.shape[1]
        let all = logits.toArray()
        let argmax = try ids("logits.argmax"), lse = try reference.tensor("logits.lse").toArray()
        let topIDs = try ids("logits.top_ids"), topValues = try reference.tensor("logits.top_values").toArray()
        let columns = try ids("logits.columns"), columnValues = try reference.tensor("logits.column_values").toArray()
        var worst: Float = 0
        var mismatches = 0
        for (row, p) in positions.enumerated() {
            let ours = Array(all[(row * v)..<((row + 1) * v)])
            let best = ours.indices.max { ours[$0] < ours[$1] }!
            if Int32(best) != argmax[p] { mismatches += 1 }
            let m = ours.max()!
            let ourLSE = m + Float(ours.reduce(0.0) { $0 + Double(expf($1 - m)) }).logf()
            worst = max(worst, abs(ourLSE - lse[p]))
            for k in 0..<20 { worst = max(worst, abs(ours[Int(topIDs[p * 20 + k])] - topValues[p * 20 + k])) }
            for (c, col) in columns.enumerated() { worst = max(worst, abs(ours[Int(col)] - columnValues[p * columns.count + c])) }
        }
        return (worst, mismatches)
    }

    @Test func prefillLogitsEqualTransformers() throws {
        let prompt = try ids("prompt.ids")
        let logits = withNoGrad { model.logits(model.forward(tokens: prompt)) }
        let (worst, mismatches) = try compare(logits, positions: 0..<prompt.count)
        print("SmolLM2 prefill vs transformers float64: \(prompt.count) positions, max |Δlogit| \(worst), argmax mismatches \(mismatches)")
        #expect(prompt.count >= 128)
        #expect(worst <= 1e-3)
        #expect(mismatches == 0)
    }

    @Test func decodeWithCacheEqualsTransformers() throws {
        let prompt = Array(try ids("prompt.ids").prefix(48))
        let cache = KVCache(config: model.config, capacity: 64)
        var rows: [Tensor] = []
        withNoGrad {
            rows.append(model.logits(model.forward(tokens: Array(prompt.prefix(16)), cache: cache)))
            for t in prompt.dropFirst(16) { rows.append(model.logits(model.forward(tokens: [t], cache: cache))) }
        }
        let (worst, mismatches) = try compare(Tensor.concat(rows, axis: 0), positions: 0..<prompt.count)
        print("SmolLM2 decode (KV cache) vs transformers float64: max |Δlogit| \(worst), argmax mismatches \(mismatches)")
        #expect(worst <= 1e-3)
        #expect(mismatches == 0)
    }

    @Test(arguments: 0..<4)
    func greedyChatAnswersEqualTransformers(_ i: Int) throws {
        let expected = try ids("chat\(i).greedy")
        var sampler = Sampler(.greedy)
        let out = TextGeneration(model: model, stopTokens: [2])
            .generate(prompt: try ids("chat\(i).prompt"), maxTokens: expected.count, sampler: &sampler)
        #expect(out == expected)
    }
}

extension Float {
    func logf() -> Float { Float(referenceLog(Double(self))) }
}

#if canImport(Glibc)
import Glibc
func referenceLog(_ x: Double) -> Double { Glibc.log(x) }
#endif
