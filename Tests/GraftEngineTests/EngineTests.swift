import Foundation
import GraftAdapters
@testable import GraftEngine
import GraftFormats
import GraftModel
import GraftTensor
import GraftTestSupport
import Testing

/// The engine against the single-sequence reference (`TextGeneration`) and against itself:
/// concurrent requests with different adapters and scales, prompts chunked differently,
/// cancellation, and requests it must refuse.
@Suite(.serialized) struct EngineTests {
    static let prompts = ["What is the capital of France?", "Show me Finance staff based in Denver.",
                          "Write one sentence about the sea.", "List three colors.",
                          "Which orders are for products with fewer than 10 in stock?", "What is 2 + 3?"]

    /// The adapter PEFT trained (Scripts/make_peft_import_fixtures.py), imported.
    static func fixtureAdapter() throws -> AdapterWeights {
        try PeftFolder.read(Fixtures.path("peft_import"), base: BaseIdentity(model: Models.smolLM2)).weights
    }

    /// Runs requests concurrently and collects each one's tokens and finish reason.
    static func collect(_ engine: Engine, _ requests: [EngineRequest]) async throws -> [(tokens: [Int32], reason: FinishReason)] {
        let streams = try requests.map { try engine.submit($0).events }
        var results: [(tokens: [Int32], reason: FinishReason)] = []
        for stream in streams {
            var tokens: [Int32] = []
            var reason = FinishReason.cancelled
            for await event in stream {
                switch event {
                case .token(let t, _): tokens.append(t)
                case .finished(let r, _): reason = r
                }
            }
            results.append((tokens, reason))
        }
        return results
    }

    @Test func concurrentRequestsWithAdaptersEqualTextGenerationAlone() async throws {
        let weights = try Self.fixtureAdapter()
        let served = try ServedAdapter(label: "peft", contentHash: "fixture", weights: weights)
        let lm = try LanguageModel(path: Models.smolLM2)
        var options = Engine.Options()
        options.kernels = .exact
        options.tokenBudget = 48
        let engine = try Engine(language: lm, options: options)
        defer { engine.stop() }
        let scales: [Float?] = [nil, 1, 0.5, nil, 1, 0.5]
        let requests = Self.prompts.enumerated().map { i, p in
            EngineRequest(prompt: lm.encodePrompt(try! lm.chatPrompt(p)), adapters: scales[i].map { [(served, $0)] } ?? [],
                          maxTokens: 20)
        }
        let results = try await Self.collect(engine, requests)

        let reference = try LanguageModel(path: Models.smolLM2)
        reference.model.kernels = .exact
        for (i, request) in requests.enumerated() {
            reference.model.detachLoRA()
            if let scale = scales[i] {
                var tensors = weights.peftTensors
                for (k, t) in tensors where k.contains("lora_B") { tensors[k] = t * scale }
                try reference.model.attachLoRA(weights.lora, weights: tensors)
            }
            var sampler = Sampler(.greedy)
            let alone = TextGeneration(model: reference.model, stopTokens: reference.stopTokens)
                .generate(prompt: request.prompt, maxTokens: 20, sampler: &sampler)
            #expect(results[i].tokens == alone, "request \(i) (scale \(String(describing: scales[i]))): \(reference.tokenizer.decode(results[i].tokens)) vs \(reference.tokenizer.decode(alone))")
        }
        // The adapter changes answers, so the comparison above would notice it missing.
        #expect(results[1].tokens != (try await Self.collect(engine, [EngineRequest(prompt: requests[1].prompt, maxTokens: 20)]))[0].tokens)
    }

    @Test func tokensDoNotDependOnBatchOrChunking() async throws {
        let served = try ServedAdapter(label: "peft", contentHash: "fixture", weights: try Self.fixtureAdapter())
        let lm = try LanguageModel(path: Models.smolLM2)
        var sampled = SamplingParameters()
        sampled.temperature = 0.9
        sampled.seed = 42
        let probe = EngineRequest(prompt: lm.encodePrompt(try lm.chatPrompt(Self.prompts[2])), adapters: [(served, 0.7)],
                                  sampling: sampled, maxTokens: 24)
        var answers: [[Int32]] = []
        for budget in [5, 17, 128] {
            var options = Engine.Options()
            options.tokenBudget = budget
            let engine = try Engine(language: lm, options: options)
            answers.append(try await Self.collect(engine, [probe])[0].tokens)
            let others = Self.prompts.map { EngineRequest(prompt: lm.encodePrompt(try! lm.chatPrompt($0)), adapters: [(served, 1)], maxTokens: 16) }
            answers.append(try await Self.collect(engine, others + [probe] + others)[others.count].tokens)
            engine.stop()
        }
        #expect(answers.allSatisfy { $0 == answers[0] }, "\(answers.map { lm.tokenizer.decode($0) })")
        #expect(answers[0].count >= 8, "\(answers[0].count) tokens")
    }

    @Test func cancellationReturnsEveryBlock() async throws {
        let lm = try LanguageModel(path: Models.smolLM2)
        let engine = try Engine(language: lm)
        defer { engine.stop() }
        let total = engine.kvBlocks.total
        let (id, events) = try engine.submit(EngineRequest(prompt: lm.encodePrompt("Once upon a time"), maxTokens: 400))
        var reason: FinishReason?
        var seen = 0
        for await event in events {
            switch event {
            case .token:
                seen += 1
                if seen == 3 { engine.cancel(id) }
            case .finished(let r, _): reason = r
            }
        }
        #expect(reason == .cancelled && seen >= 3 && seen < 400)
        for _ in 0..<100 where engine.kvBlocks.free != total { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(engine.kvBlocks.free == total)
    }

    @Test func badRequestsAreRefusedAndTheEngineKeepsServing() async throws {
        let lm = try LanguageModel(path: Models.smolLM2)
        var options = Engine.Options()
        options.kvBudgetBytes = 64 << 20
        let engine = try Engine(language: lm, options: options)
        defer { engine.stop() }
        let context = lm.model.config.contextLength
        let vocabulary = lm.model.config.vocabularySize
        #expect(throws: EngineError.emptyPrompt) { try engine.submit(EngineRequest(prompt: [])) }
        #expect(throws: EngineError.maxTokens(0)) { try engine.submit(EngineRequest(prompt: [1], maxTokens: 0)) }
        #expect(throws: EngineError.tokenOutOfVocabulary(Int32(vocabulary), vocabulary: vocabulary)) {
            try engine.submit(EngineRequest(prompt: [1, Int32(vocabulary)]))
        }
        #expect(throws: EngineError.tokenOutOfVocabulary(-1, vocabulary: vocabulary)) { try engine.submit(EngineRequest(prompt: [-1])) }
        #expect(throws: EngineError.promptTooLong(tokens: context, context: context)) {
            try engine.submit(EngineRequest(prompt: [Int32](repeating: 5, count: context)))
        }
        #expect(throws: EngineError.self) { try engine.submit(EngineRequest(prompt: [Int32](repeating: 5, count: 1000), maxTokens: 10_000)) }
        let dora = InterchangeDoRA.weights()
        #expect(throws: EngineError.self) { try ServedAdapter(label: "d", contentHash: "d", weights: dora) }
        let ok = try await Self.collect(engine, [EngineRequest(prompt: lm.encodePrompt("Hello"), maxTokens: 4)])
        #expect(ok[0].tokens.count >= 1)
    }
}

/// A DoRA adapter (which the engine does not serve yet) on SmolLM2's sizes.
enum InterchangeDoRA {
    static func weights() -> AdapterWeights {
        let lora = LoRAConfig(rank: 1, alpha: 1, targets: [.vProj], dora: true)
        var layers: [AdapterWeights.Key: AdapterWeights.Layer] = [:]
        for key in AdapterWeights(lora: lora, layerCount: 30, layers: [:]).keys {
            layers[key] = .init(a: Tensor.zeros([1, 576]), b: Tensor.zeros([192, 1]), magnitude: Tensor.zeros([192]))
        }
        return AdapterWeights(lora: lora, layerCount: 30, layers: layers)
    }
}
