import GraftTensor
#if canImport(Glibc)
import Glibc
#endif

/// Perplexity as llama.cpp's tool and most papers compute it on a token stream: consecutive,
/// non-overlapping windows of `context` tokens (a shorter last window is dropped), each run from
/// an empty cache, every token after the first of its window scored by the logits before it.
public enum Perplexity {
    public struct Result: Sendable {
        public let perplexity: Double
        /// Mean negative log-likelihood per scored token (nats).
        public let meanNLL: Double
        public let scoredTokens: Int
        public let windows: Int
    }

    public static func evaluate(_ model: LlamaModel, tokens: [Int32], context: Int,
                                progress: (Int, Int) -> Void = { _, _ in }) -> Result {
        precondition(context >= 2, "perplexity needs windows of at least 2 tokens")
        let windows = tokens.count / context
        var total = 0.0
        var scored = 0
        withNoGrad {
            for w in 0..<windows {
                let window = Array(tokens[(w * context)..<((w + 1) * context)])
                let hidden = model.forward(tokens: window)
                let logits = model.logits(hidden).slice(axis: 0, 0..<(context - 1))
                let nll = crossEntropy(logits: logits, targets: Array(window.dropFirst()), reduction: .sum)
                total += Double(nll.item())
                scored += context - 1
                progress(w + 1, windows)
            }
        }
        let mean = scored > 0 ? total / Double(scored) : .nan
        return Result(perplexity: exp(mean), meanNLL: mean, scoredTokens: scored, windows: windows)
    }
}
