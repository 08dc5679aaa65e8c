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

    /// The fixture adapter made DoRA: magnitudes 0.9–1.1 × the base's row norms.
    static func doraAdapter(_ model: LlamaModel) throws -> AdapterWeights {
        var weights = try fixtureAdapter()
        weights.lora.dora = true
        for (key, layer) in weights.layers {
            let w = model.weights.blocks[key.block][key.target].denseWeight().toArray()
            let (rows, cols) = (layer.b.shape[0], layer.a.shape[1])
            let m = (0..<rows).map { o -> Float in
                let norm = (0..<cols).reduce(Float(0)) { $0 + w[o * cols + $1] * w[o * cols + $1] }.squareRoot()
                return norm * (1 + 0.1 * Float(sin(Double(o + 7 * key.block))))
            }
            weights.layers[key]!.magnitude = Tensor(m, shape: [rows])
        }
        return weights
    }

    @Test func doraRequestsEqualTextGenerationAlone() async throws {
        let lm = try LanguageModel(path: Models.smolLM2)
        let weights = try Self.doraAdapter(lm.model)
        let served = try ServedAdapter(label: "dora", contentHash: "dora", weights: weights)
        var options = Engine.Options()
        options.kernels = .exact
        let engine = try Engine(language: lm, options: options)
        defer { engine.stop() }
        let requests = Self.prompts.prefix(3).map { EngineRequest(prompt: lm.encodePrompt(try! lm.chatPrompt($0)), adapters: [(served, 1)], maxTokens: 16) }
        let results = try await Self.collect(engine, requests + [EngineRequest(prompt: requests[0].prompt, maxTokens: 16)])
        let reference = try LanguageModel(path: Models.smolLM2)
        reference.model.kernels = .exact
        try reference.model.attachLoRA(weights.lora, weights: weights.peftTensors)
        for (i, request) in requests.enumerated() {
            var sampler = Sampler(.greedy)
            let alone = TextGeneration(model: reference.model, stopTokens: reference.stopTokens).generate(prompt: request.prompt, maxTokens: 16, sampler: &sampler)
            #expect(results[i].tokens == alone, "\(reference.tokenizer.decode(results[i].tokens)) vs \(reference.tokenizer.decode(alone))")
        }
        #expect(results[0].tokens != results[3].tokens, "DoRA does not change the answer; the test cannot see it")
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
        // Among 32 others, each with an adapter of its own, half of them served in bfloat16; a
        // second probe on one of those bfloat16 adapters, alone and in the crowd.
        let geometry = BaseGeometry(lm.model.config)
        let many = try (0..<32).map {
            try ServedAdapter(label: "r\($0)", contentHash: "r\($0)", weights: AdapterServingTests.randomAdapter(seed: UInt64(50 + $0), geometry: geometry),
                              precision: $0 % 2 == 0 ? .float32 : .bfloat16)
        }
        let crowd = many.enumerated().map { i, a in
            EngineRequest(prompt: lm.encodePrompt(try! lm.chatPrompt(Self.prompts[i % Self.prompts.count])), adapters: [(a, 1)], maxTokens: 12)
        }
        let halfProbe = EngineRequest(prompt: probe.prompt, adapters: [(many[1], 0.8)], sampling: sampled, maxTokens: 24)
        let engine = try Engine(language: lm)
        let halfAlone = try await Self.collect(engine, [halfProbe])[0].tokens
        let mixed = try await Self.collect(engine, Array(crowd.prefix(16)) + [probe, halfProbe] + Array(crowd.suffix(16)))
        answers.append(mixed[16].tokens)
        engine.stop()
        #expect(answers.allSatisfy { $0 == answers[0] }, "\(answers.map { lm.tokenizer.decode($0) })")
        #expect(answers[0].count >= 8, "\(answers[0].count) tokens")
        #expect(mixed[17].tokens == halfAlone && halfAlone.count >= 8, "\(lm.tokenizer.decode(mixed[17].tokens)) vs \(lm.tokenizer.decode(halfAlone))")
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
        // Only the prompt's block stays, held by the prefix cache.
        for _ in 0..<100 where engine.kvBlocks.free != total - 1 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(engine.kvBlocks.free == total - 1)
        let m = engine.metrics.snapshot
        #expect(m["cancelled"] == 1 && m["kv_blocks_used"] == 1 && m["kv_blocks_cached"] == 1 && m["running"] == 0 && m["queue_depth"] == 0 && m["generated_tokens"]! >= 3)
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
        // max_tokens of Int.max is capped by the context, not added to the prompt's length.
        #expect(throws: EngineError.tooLargeForMemory(tokens: context, capacity: engine.kvBlocks.total * KVBlockPool.blockSize)) {
            try engine.submit(EngineRequest(prompt: [1], maxTokens: Int.max))
        }
        var wrong = Engine.Options()
        wrong.kvBudgetBytes = Int.max
        #expect(throws: EngineError.self) { try Engine(language: lm, options: wrong) }
        wrong.kvBudgetBytes = 10
        #expect(throws: EngineError.self) { try Engine(language: lm, options: wrong) }
        let dora = try ServedAdapter(label: "d", contentHash: "d", weights: InterchangeDoRA.weights())
        let plain = try ServedAdapter(label: "p", contentHash: "p", weights: try Self.fixtureAdapter())
        #expect(throws: EngineError.adapter("d", reason: "a DoRA adapter rescales the whole weight, so it cannot be combined with other adapters in one request")) {
            try engine.submit(EngineRequest(prompt: [1, 2], adapters: [(dora, 1), (plain, 1)]))
        }
        let ok = try await Self.collect(engine, [EngineRequest(prompt: lm.encodePrompt("Hello"), maxTokens: 4)])
        #expect(ok[0].tokens.count >= 1)
    }
}

/// A DoRA adapter on SmolLM2's sizes (zero weights: only its shape matters where it is used).
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

/// Adapters from the registry through the cache: versions pinned per request across a publish,
/// least-recently-used eviction of unpinned entries, and the batch file runner.
@Suite(.serialized) struct AdapterServingTests {
    static func randomAdapter(seed: UInt64, geometry: BaseGeometry) -> AdapterWeights {
        let lora = LoRAConfig(rank: 4, alpha: 8, targets: [.qProj, .vProj, .downProj])
        var g = RandomGenerator(seed: seed)
        var layers: [AdapterWeights.Key: AdapterWeights.Layer] = [:]
        for key in AdapterWeights(lora: lora, layerCount: geometry.layers, layers: [:]).keys {
            func random(_ shape: [Int]) -> Tensor { Tensor((0..<Shape.count(shape)).map { _ in (g.nextUniform() - 0.5) * 0.12 }, shape: shape) }
            layers[key] = .init(a: random([4, geometry.input(key.target)]), b: random([geometry.output(key.target), 4]))
        }
        return AdapterWeights(lora: lora, layerCount: geometry.layers, layers: layers)
    }

    @Test func hotSwapKeepsEachRequestOnItsVersion() async throws {
        let root = NSTemporaryDirectory() + "graft-swap-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lm = try LanguageModel(path: Models.smolLM2)
        let base = try BaseIdentity(language: lm, path: Models.smolLM2)
        let registry = Registry(root: root)
        try registry.publish(Self.randomAdapter(seed: 1, geometry: base.geometry), base: base, as: "t")
        let cache = AdapterCache(registry: registry, base: base)
        let engine = try Engine(language: lm, adapters: cache)
        defer { engine.stop() }
        let prompts = (0..<20).map { lm.encodePrompt(try! lm.chatPrompt(EngineTests.prompts[$0 % EngineTests.prompts.count] + " (\($0))")) }

        // 16 requests on `t` (version 1) stream; version 2 is published while they run; 4 more follow.
        var streams: [(label: String, prompt: [Int32], events: AsyncStream<EngineEvent>)] = []
        for p in prompts.prefix(16) {
            let (adapter, scale) = try cache.acquire("t")
            streams.append((adapter.label, p, try engine.submit(EngineRequest(prompt: p, adapters: [(adapter, scale)], maxTokens: 16)).events))
        }
        var first = streams[0].events.makeAsyncIterator()
        let firstEvent = await first.next()
        #expect(firstEvent != nil)
        try registry.publish(Self.randomAdapter(seed: 2, geometry: base.geometry), base: base, as: "t")
        for p in prompts.suffix(4) {
            let (adapter, scale) = try cache.acquire("t")
            streams.append((adapter.label, p, try engine.submit(EngineRequest(prompt: p, adapters: [(adapter, scale)], maxTokens: 16)).events))
        }
        var results: [[Int32]] = []
        for (i, s) in streams.enumerated() {
            var tokens: [Int32] = []
            if i == 0, case .token(let t, _)? = firstEvent { tokens.append(t) }
            var iterator = i == 0 ? first : s.events.makeAsyncIterator()
            while let event = await iterator.next() {
                if case .token(let t, _) = event { tokens.append(t) }
                if case .finished(let reason, _) = event { #expect(reason != .cancelled) }
            }
            results.append(tokens)
        }
        #expect(streams.prefix(16).allSatisfy { $0.label == "t@1" } && streams.suffix(4).allSatisfy { $0.label == "t@2" })
        // Each equals a run alone on the version it was admitted with.
        for (i, s) in streams.enumerated() {
            let (adapter, scale) = try cache.acquire(s.label)
            let alone = try await EngineTests.collect(engine, [EngineRequest(prompt: s.prompt, adapters: [(adapter, scale)], maxTokens: 16)])
            #expect(alone[0].tokens == results[i], "request \(i) on \(s.label)")
        }
        let other = try await EngineTests.collect(engine, [EngineRequest(prompt: prompts[16], adapters: [try cache.acquire("t@1")], maxTokens: 16)])
        #expect(other[0].tokens != results[16], "the two versions answer alike; the test cannot tell them apart")
        #expect(cache.stats.pinned == 0 && cache.stats.loads == 2)
        // Unloading a version while a request holds it: the request finishes on it; the next load reads it again.
        let (held, _) = try cache.acquire("t@2")
        let (_, events) = try engine.submit(EngineRequest(prompt: prompts[0], adapters: [(held, 1)], maxTokens: 8))
        #expect(try cache.unload("t@2") && !(try cache.unload("t@2")))
        var finished = false
        for await event in events { if case .finished(let reason, let usage) = event { finished = reason != .cancelled && usage.interTokenSeconds.count == usage.completionTokens - 1 } }
        #expect(finished)
        _ = try cache.acquire("t@2")
        #expect(cache.stats.loads == 3 && cache.stats.unloads == 1)
    }

    @Test func cacheEvictsLeastRecentlyUsedUnpinnedEntries() throws {
        let root = NSTemporaryDirectory() + "graft-lru-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let geometry = BaseGeometry(layers: 2, hidden: 64, intermediate: 96, heads: 4, kvHeads: 2, headDim: 16)
        let base = BaseIdentity(sha256: String(repeating: "ab", count: 32), file: "b.gguf", geometry: geometry, chatTemplate: nil, stopTokens: [])
        let registry = Registry(root: root)
        for (i, name) in ["a", "b", "c"].enumerated() {
            try registry.publish(Self.randomAdapter(seed: UInt64(i), geometry: geometry), base: base, as: name)
        }
        let one = try ServedAdapter(label: "x", contentHash: "x", weights: Self.randomAdapter(seed: 9, geometry: geometry)).bytes
        let cache = AdapterCache(registry: registry, base: base, limitBytes: 2 * one)
        let a = try cache.acquire("a").adapter
        cache.release(a)
        let b = try cache.acquire("b").adapter           // pinned
        _ = try cache.acquire("a")                         // a is now the most recent
        cache.release(a)
        let c = try cache.acquire("c").adapter           // over the limit: b and c are pinned, so a goes
        #expect(cache.stats.entries == 2 && cache.stats.evictions == 1 && cache.stats.loads == 3)
        cache.release(b)
        cache.release(c)
        _ = try cache.acquire("b")
        #expect(cache.stats.hits == 2)
        let wrongBase = BaseIdentity(sha256: String(repeating: "cd", count: 32), file: "other.gguf", geometry: geometry, chatTemplate: nil, stopTokens: [])
        #expect(throws: EngineError.self) { try AdapterCache(registry: registry, base: wrongBase).acquire("a") }
        #expect(throws: RegistryError.self) { try cache.acquire("nope") }
    }
}

/// A shared system prompt is prefilled once per adapter version and scale; reused blocks give
/// the same tokens as a fresh prefill.
@Suite struct PrefixCacheTests {
    @Test func sharedPrefixIsReusedPerAdapterVersionAndScale() async throws {
        let lm = try LanguageModel(path: Models.smolLM2)
        let weights = try EngineTests.fixtureAdapter()
        let v1 = try ServedAdapter(label: "p@1", contentHash: "hash-1", weights: weights)
        let v2 = try ServedAdapter(label: "p@2", contentHash: "hash-2", weights: weights)
        let system = "You are a careful assistant who answers questions about databases with one SQL statement and nothing else."
        func prompt(_ q: String) throws -> [Int32] {
            lm.encodePrompt(try lm.chatPrompt(messages: [ChatMessage(role: "system", content: system), ChatMessage(role: "user", content: q)]))
        }
        let engine = try Engine(language: lm)
        defer { engine.stop() }
        var off = Engine.Options()
        off.prefixCache = false
        let fresh = try Engine(language: lm, options: off)
        defer { fresh.stop() }
        let questions = ["Show me Finance staff based in Denver.", "List the names of employees in Sales."]
        let first = try await EngineTests.collect(engine, [EngineRequest(prompt: try prompt(questions[0]), adapters: [(v1, 1)], maxTokens: 12)])
        let cachedAfterFirst = engine.metrics.prefixCachedTokens.load(ordering: .relaxed)
        let second = try await EngineTests.collect(engine, [EngineRequest(prompt: try prompt(questions[1]), adapters: [(v1, 1)], maxTokens: 12)])
        let reused = engine.metrics.prefixCachedTokens.load(ordering: .relaxed) - cachedAfterFirst
        // Reuse is to the token: the whole common prefix, across a block's end.
        let common = zip(try prompt(questions[0]), try prompt(questions[1])).prefix { $0 == $1 }.count
        #expect(common % KVBlockPool.blockSize != 0 && common > KVBlockPool.blockSize)
        #expect(cachedAfterFirst == 0 && reused == common, "reused \(reused) tokens of \(common) in common")
        let expected = try await EngineTests.collect(fresh, [EngineRequest(prompt: try prompt(questions[1]), adapters: [(v1, 1)], maxTokens: 12)])
        #expect(second[0].tokens == expected[0].tokens && !first[0].tokens.isEmpty)
        // The same prompt again computes only its last token, and answers the same.
        let before0 = engine.metrics.prefixCachedTokens.load(ordering: .relaxed)
        let again = try await EngineTests.collect(engine, [EngineRequest(prompt: try prompt(questions[1]), adapters: [(v1, 1)], maxTokens: 12)])
        #expect(engine.metrics.prefixCachedTokens.load(ordering: .relaxed) - before0 == (try prompt(questions[1])).count - 1)
        #expect(again[0].tokens == expected[0].tokens)
        // Another version or another scale prefills again.
        let before = engine.metrics.prefixCachedTokens.load(ordering: .relaxed)
        _ = try await EngineTests.collect(engine, [EngineRequest(prompt: try prompt(questions[1]), adapters: [(v2, 1)], maxTokens: 4),
                                                   EngineRequest(prompt: try prompt(questions[1]), adapters: [(v1, 0.5)], maxTokens: 4)])
        #expect(engine.metrics.prefixCachedTokens.load(ordering: .relaxed) == before)
    }
}

/// A KV pool too small for every running sequence's full length: sequences are preempted and
/// recomputed, counted, and still produce exactly the tokens they produce with room to spare.
@Suite struct PreemptionTests {
    @Test func preemptedRequestsRecomputeToTheSameTokens() async throws {
        let lm = try LanguageModel(path: Models.smolLM2)
        let prompts = EngineTests.prompts.map { lm.encodePrompt(try! lm.chatPrompt($0)) }
        var sampled = SamplingParameters()
        sampled.seed = 3
        let requests = prompts.map { EngineRequest(prompt: $0, sampling: sampled, maxTokens: 48, stopTokens: []) }
        var small = Engine.Options()
        small.kvBudgetBytes = 24 * KVBlockPool.blockSize * KVBlockPool.bytesPerToken(lm.model.config)   // 24 blocks
        let tight = try Engine(language: lm, options: small)
        defer { tight.stop() }
        let roomy = try Engine(language: lm)
        defer { roomy.stop() }
        let squeezed = try await EngineTests.collect(tight, requests)
        let expected = try await EngineTests.collect(roomy, requests)
        #expect(tight.metrics.preemptions.load(ordering: .relaxed) > 0, "the pool never ran out; the test proves nothing")
        #expect(roomy.metrics.preemptions.load(ordering: .relaxed) == 0)
        for i in requests.indices {
            #expect(squeezed[i].tokens == expected[i].tokens && squeezed[i].tokens.count == 48, "request \(i)")
        }
        for _ in 0..<100 where tight.kvBlocks.free != tight.kvBlocks.total - tight.metrics.kvBlocksCached.load(ordering: .relaxed) {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        #expect(tight.kvBlocks.free == tight.kvBlocks.total - tight.metrics.kvBlocksCached.load(ordering: .relaxed))
    }
}
