import Foundation
import GraftRuntime
import GraftAdapters
import GraftEngine
import GraftModel
import GraftQuant
import GraftTensor

/// The engine under concurrent load on SmolLM2: throughput of all sequences at batch 1 … 64 with
/// no adapter, one adapter, 8 distinct adapters and 32 (ranks 8 and 16 mixed, all seven
/// projections, served in bfloat16 as the fast kernels' default), against the targets; the cost of batch invariance against the tiled
/// (non-invariant) products; KV memory per token.
enum EngineBench {
    static let batches = [1, 2, 4, 8, 16, 32, 64]

    /// Adapter i of the bench's pool: rank 8 (even i) or 16, random weights, all seven projections.
    static func randomWeights(_ i: Int, geometry: BaseGeometry) throws -> AdapterWeights {
        let rank = i % 2 == 0 ? 8 : 16
        let lora = LoRAConfig(rank: rank, alpha: Float(2 * rank), targets: LoRATarget.allCases)
        var g = RandomGenerator(seed: UInt64(100 + i))
        var layers: [AdapterWeights.Key: AdapterWeights.Layer] = [:]
        for key in AdapterWeights(lora: lora, layerCount: geometry.layers, layers: [:]).keys {
            func random(_ shape: [Int]) -> Tensor { Tensor((0..<Shape.count(shape)).map { _ in (g.nextUniform() - 0.5) * 0.02 }, shape: shape) }
            layers[key] = .init(a: random([rank, geometry.input(key.target)]), b: random([geometry.output(key.target), rank]))
        }
        return try AdapterWeights(lora: lora, layerCount: geometry.layers, layers: layers)
    }

    static func adapters(_ count: Int, geometry: BaseGeometry) throws -> [ServedAdapter] {
        try (0..<count).map { i in
            try ServedAdapter(label: "bench\(i)", contentHash: "bench\(i)", weights: randomWeights(i, geometry: geometry), precision: .bfloat16)
        }
    }

    /// Decode tokens per second of all sequences: `batch` requests of a 5-token prompt (so
    /// prefill is a small part) and 64 new tokens each, submitted at once, from the first
    /// submission to the last token.
    static func measure(_ engine: Engine, batch: Int, adapters: [ServedAdapter], prompt: [Int32]) async throws -> Double {
        let start = Date()
        var streams: [AsyncStream<EngineEvent>] = []
        for i in 0..<batch {
            let a = adapters.isEmpty ? [] : [(adapters[i % adapters.count], Float(1))]
            streams.append(try engine.submit(EngineRequest(prompt: prompt + [Int32(100 + i)], adapters: a, maxTokens: 64, stopTokens: [])).events)
        }
        var tokens = 0
        for s in streams { for await e in s { if case .token = e { tokens += 1 } } }
        return Double(tokens) / Date().timeIntervalSince(start)
    }

    /// Each figure is the best of `repeats` runs: on these shared virtual machines one run swings
    /// by ±15%, and a slow period of the host is not a property of the engine.
    static func run(repeats: Int) throws {
        let lm = try LanguageModel(path: ModelBench.modelPath)
        let geometry = BaseGeometry(lm.model.config)
        let pool = try adapters(32, geometry: geometry)
        let prompt = lm.encodePrompt("The printing press")
        let perToken = lm.model.config.layerCount * 2 * lm.model.config.kvHeadCount * lm.model.config.headDim * 4
        print("== engine: SmolLM2 Q4_1, fast kernels, \(prompt.count + 1)-token prompts + 64 new tokens per request, all submitted at once, best of \(repeats) runs ==")
        print("KV cache: \(perToken) bytes a token (Float32); \((1 << 30) / (perToken * 1024)) sequences of 1k tokens fit in 1 GiB")
        func engine(invariant: Bool = true) throws -> Engine {
            var o = Engine.Options()
            o.kvBudgetBytes = 1 << 30
            o.tokenBudget = 256
            o.batchInvariant = invariant
            return try Engine(language: lm, options: o)
        }
        let invariantEngine = try engine()
        defer { invariantEngine.stop() }
        let mixes: [(String, [ServedAdapter])] = [("no adapter", []), ("1 adapter", [pool[0]]), ("8 adapters", Array(pool.prefix(8))), ("32 adapters", pool)]
        var rates: [String: [Int: Double]] = [:]
        print("batch\t" + mixes.map(\.0).joined(separator: "\t"))
        for b in batches {
            var line = "\(b)"
            for (name, adapters) in mixes {
                let rate = (0..<repeats).map { _ in waitBench { try await measure(invariantEngine, batch: b, adapters: adapters, prompt: prompt) } }.max()!
                rates[name, default: [:]][b] = rate
                line += String(format: "\t%.1f", rate)
            }
            print(line + "\ttok/s")
        }
        let variant = try engine(invariant: false)
        defer { variant.stop() }
        var costs: [String] = []
        for b in [1, 16, 32] {
            let fast = (0..<repeats).map { _ in waitBench { try await measure(variant, batch: b, adapters: [pool[0]], prompt: prompt) } }.max()!
            costs.append(String(format: "batch %d: invariant %.1f, tiled %.1f tok/s (invariance costs %.0f%%)", b, rates["1 adapter"]![b]!, fast,
                                100 * (1 - rates["1 adapter"]![b]! / fast)))
        }
        print("batch invariance, 1 adapter: " + costs.joined(separator: "; "))
        let one = rates["1 adapter"]!, none = rates["no adapter"]!
        print(String(format: "targets: batch 16 / batch 1 = %.2f (≥ 4); 8 adapters / 1 at batch 16 = %.2f (≥ 0.85); 32 adapters / 1 = %.2f (≥ 0.7); no adapter batch 16 / 1 = %.2f",
                     one[16]! / one[1]!, rates["8 adapters"]![16]! / one[16]!, rates["32 adapters"]![16]! / one[16]!, none[16]! / none[1]!))
    }

    static func waitBench(_ work: @escaping @Sendable () async throws -> Double) -> Double {
        waitFor { (try? await work()) ?? .nan }
    }

}
