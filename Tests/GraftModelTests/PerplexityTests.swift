import Foundation
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor
import Testing
import GraftTestSupport

/// Perplexity on the Apache-2.0 text (Scripts/make_perplexity_fixtures.py): the exact kernels equal
/// transformers' float64 forward, and are within 1.5% of llama.cpp; the fast decode kernels stay as
/// close to the exact distribution as llama.cpp does (mean KL ≤ 0.005, perplexity within 1%).
@Suite(.serialized) struct PerplexityTests {
    struct Reference: Decodable {
        let context: Int
        let tokens: Int
        let llamacpp_perplexity: Double
        let exact_perplexity: Double
    }

    let lm: LanguageModel
    let reference: Reference
    let tokens: [Int32]

    init() throws {
        lm = try LanguageModel(path: Models.smolLM2)
        reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("perplexity_reference.json"))))
        tokens = lm.tokenizer.encode(try String(contentsOfFile: Fixtures.path("apache-2.0.txt"), encoding: .utf8))
    }

    @Test func exactPerplexityEqualsReferenceAndIsNearLlamaCpp() throws {
        #expect(tokens.count == reference.tokens)
        let result = Perplexity.evaluate(lm.model, tokens: tokens, context: reference.context)
        let vsExact = abs(result.perplexity / reference.exact_perplexity - 1)
        let vsLlamaCpp = abs(result.perplexity / reference.llamacpp_perplexity - 1)
        print("perplexity (exact kernels) \(result.perplexity): vs transformers float64 \(reference.exact_perplexity) (Δ \(vsExact)), vs llama.cpp \(reference.llamacpp_perplexity) (Δ \(vsLlamaCpp))")
        #expect(vsExact < 1e-4)
        #expect(vsLlamaCpp < 0.015)
    }

    /// Decoding token by token through the KV cache with each kernel choice; KL(exact ‖ fast).
    @Test func fastDecodeStaysCloseToExact() throws {
        let span = Array(tokens.prefix(160))
        func decodeLogProbs(_ mode: KernelMode) -> [[Double]] {
            lm.model.kernels = mode
            defer { lm.model.kernels = .exact }
            let cache = KVCache(config: lm.model.config, capacity: span.count)
            return withNoGrad {
                span.map { token in
                    let logits = lm.model.logits(lm.model.forward(tokens: [token], cache: cache)).toArray().map(Double.init)
                    let m = logits.max()!
                    let lse = m + log(logits.reduce(0) { $0 + exp($1 - m) })
                    return logits.map { $0 - lse }
                }
            }
        }
        let exact = decodeLogProbs(.exact), fast = decodeLogProbs(.fast)
        var kl = 0.0, nllExact = 0.0, nllFast = 0.0, agree = 0
        for i in 0..<(span.count - 1) {
            let (p, q) = (exact[i], fast[i])
            kl += zip(p, q).reduce(0) { $0 + exp($1.0) * ($1.0 - $1.1) }
            nllExact -= p[Int(span[i + 1])]
            nllFast -= q[Int(span[i + 1])]
            if p.indices.max(by: { p[$0] < p[$1] }) == q.indices.max(by: { q[$0] < q[$1] }) { agree += 1 }
        }
        let n = Double(span.count - 1)
        let pplRatio = exp((nllFast - nllExact) / n)
        print("fast vs exact decode over \(Int(n)) positions: mean KL \(kl / n), perplexity ratio \(pplRatio), top-1 agreement \(Double(agree) / n) (fast decodes with \(IntegerKernels.decodeDescription))")
        #expect(kl / n <= 0.005)
        #expect(abs(pplRatio - 1) <= 0.01)
    }
}
