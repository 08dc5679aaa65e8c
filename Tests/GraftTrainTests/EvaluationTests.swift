import Foundation
import GraftData
import GraftModel
@testable import GraftTrain
import Testing
import GraftTestSupport

/// `graft eval`'s measures: SQuAD's token F1, the last answer of an encoded example, and exact
/// match and F1 on SmolLM2 with expected answers that are (and are not) its own greedy answers.
@Suite struct EvaluationTests {
    @Test func tokenF1CountsSharedTokens() {
        #expect(Evaluation.tokenF1("SELECT name FROM t", "SELECT name FROM t") == 1)
        #expect(Evaluation.tokenF1("a b c d", "a b") == 2 * 0.5 * 1 / 1.5)       // precision 2/4, recall 2/2
        #expect(Evaluation.tokenF1("a a a", "a b") == 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5))  // repeats count once each
        #expect(Evaluation.tokenF1("x y", "a b") == 0)
        #expect(Evaluation.tokenF1("", "") == 1 && Evaluation.tokenF1("", "a") == 0)
    }

    @Test func lastAnswerIsTheLastRunOfScoredTokens() {
        let e = TokenizedExample(tokens: [1, 2, 3, 4, 5, 6, 7, 8], isTarget: [false, false, true, true, false, true, true, false])
        let (prompt, expected) = Evaluation.lastAnswer(e)!
        #expect(prompt == [1, 2, 3, 4, 5] && expected == [6, 7])
        #expect(Evaluation.lastAnswer(TokenizedExample(tokens: [1, 2], isTarget: [false, false])) == nil)
    }

    @Test func exactMatchAndF1OnSmolLM2() throws {
        let lm = try LanguageModel(path: Models.smolLM2, forDecoding: false)
        lm.model.kernels = .exact
        let question = "What is 2 + 2? Answer with one number."
        // The model's own greedy answer, through the same chat rendering.
        let encoder = ExampleEncoder(tokenizer: lm.tokenizer, template: lm.chatTemplate, maskPrompt: true, maxLength: 2048)
        let probe = try encoder.encode(.completion(prompt: question, completion: "x"), path: "probe", line: 1)
        let (prompt, _) = Evaluation.lastAnswer(probe)!
        var greedy = SamplingParameters()
        greedy.temperature = 0
        var sampler = Sampler(greedy)
        let own = lm.tokenizer.decode(TextGeneration(model: lm.model, stopTokens: lm.stopTokens)
            .generate(prompt: prompt, maxTokens: 24, sampler: &sampler).filter { !lm.stopTokens.contains($0) })
            .trimmingCharacters(in: .whitespacesAndNewlines)
        func line(_ completion: String) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: ["prompt": question, "completion": completion]), as: UTF8.self)
        }
        let data = Data([line(own), line("The answer is purple elephants."), line(own)].joined(separator: "\n").utf8)
        let result = try Evaluation.run(lm, on: try JSONLDataset(data: data, path: "eval.jsonl"), answerTokens: 24)
        #expect(result.examples == 3 && result.answered == 3)
        #expect(result.exactMatch == 2.0 / 3, "own answer: \(own)")
        let f1 = try #require(result.tokenF1)
        #expect(f1 >= 2.0 / 3 && f1 < 1)
        #expect(result.loss > 0 && result.loss.isFinite && result.scoredTokens > 0)
    }
}
