import Foundation
import GraftData
import GraftModel
import GraftTensor

/// How well a model (with or without an adapter) does on a JSONL dataset, as `graft eval` prints
/// it: the mean loss and perplexity over the scored tokens (completions and assistant turns, or
/// every token of `{"text"}` lines, scored as training scores them), and for prompt/completion
/// and chat data the greedy answers' exact-match rate and token F1 against the expected ones.
public struct Evaluation: Sendable, Equatable {
    public var examples = 0
    public var scoredTokens = 0
    public var loss = 0.0
    public var perplexity: Double { Foundation.exp(loss) }
    /// Examples whose last assistant turn (or completion) was generated and compared.
    public var answered = 0
    /// Fraction of answers equal to the expected text (both trimmed), nil for text data.
    public var exactMatch: Double?
    /// Mean SQuAD-style token F1 (whitespace tokens) of answers against expected texts.
    public var tokenF1: Double?

    public init() {}

    /// Evaluates `language` (its model as it is, adapters attached or not) on `dataset`.
    /// `answerTokens` bounds each generated answer; `progress(done, total)` is called per example.
    public static func run(_ language: LanguageModel, on dataset: JSONLDataset, maxLength: Int = 2048, answerTokens: Int = 256,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(DatasetError) -> Evaluation {
        let encoder = ExampleEncoder(tokenizer: language.tokenizer, template: language.chatTemplate, maskPrompt: true,
                                     maxLength: maxLength)
        let (encoded, _) = try encoder.encode(dataset)
        let model = language.model
        var result = Evaluation()
        var nll = 0.0, matches = 0, f1 = 0.0
        for (i, e) in encoded.enumerated() {
            // Loss: position t predicts token t + 1 where that token is scored.
            let targets = (0..<e.tokens.count).map { t in t + 1 < e.tokens.count && e.isTarget[t + 1] ? e.tokens[t + 1] : Batch.ignored }
            nll += withNoGrad {
                Double(crossEntropy(logits: model.logits(model.forward(tokens: e.tokens)), targets: targets, reduction: .sum).item())
            }
            result.scoredTokens += e.targetCount
            if dataset.shape != .text, let (prompt, expected) = lastAnswer(e), !prompt.isEmpty {
                var greedy = SamplingParameters()
                greedy.temperature = 0
                var sampler = Sampler(greedy)
                let generated = TextGeneration(model: model, stopTokens: language.stopTokens)
                    .generate(prompt: prompt, maxTokens: answerTokens, sampler: &sampler)
                let text = { (ids: [Int32]) in
                    language.tokenizer.decode(ids.filter { !language.stopTokens.contains($0) }).trimmingCharacters(in: .whitespacesAndNewlines)
                }
                let (answer, reference) = (text(generated), text(expected))
                if answer == reference { matches += 1 }
                f1 += tokenF1(answer, reference)
                result.answered += 1
            }
            progress(i + 1, encoded.count)
        }
        result.examples = encoded.count
        result.loss = nll / Double(max(result.scoredTokens, 1))
        if result.answered > 0 {
            result.exactMatch = Double(matches) / Double(result.answered)
            result.tokenF1 = f1 / Double(result.answered)
        }
        return result
    }

    /// The tokens before the last run of scored tokens (the prompt of the last answer) and that
    /// run (the expected answer, with its end-of-turn tokens).
    static func lastAnswer(_ e: TokenizedExample) -> (prompt: [Int32], expected: [Int32])? {
        guard var end = e.isTarget.lastIndex(of: true) else { return nil }
        end += 1
        var start = end - 1
        while start > 0 && e.isTarget[start - 1] { start -= 1 }
        return (Array(e.tokens[..<start]), Array(e.tokens[start..<end]))
    }

    /// SQuAD's token F1: the harmonic mean of precision and recall of the answer's whitespace
    /// tokens against the reference's, counting repeats (1 when both are empty).
    public static func tokenF1(_ answer: String, _ reference: String) -> Double {
        let a = answer.split(whereSeparator: \.isWhitespace).map(String.init)
        let r = reference.split(whereSeparator: \.isWhitespace).map(String.init)
        if a.isEmpty || r.isEmpty { return a.isEmpty && r.isEmpty ? 1 : 0 }
        var counts: [String: Int] = [:]
        for t in r { counts[t, default: 0] += 1 }
        var common = 0
        for t in a where (counts[t] ?? 0) > 0 {
            counts[t]! -= 1
            common += 1
        }
        guard common > 0 else { return 0 }
        let precision = Double(common) / Double(a.count), recall = Double(common) / Double(r.count)
        return 2 * precision * recall / (precision + recall)
    }
}
