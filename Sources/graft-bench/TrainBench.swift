import Foundation
import GraftData
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor
import GraftTrain

/// LoRA training on SmolLM2 (r = 8, α = 16, all seven linear targets, batch 1 × 512 tokens of
/// real text, forward + backward + AdamW) against torch + PEFT in float32 on the same machine and
/// tokens, in the same run (Scripts/bench_torch_train.py). Each side runs in its own process so
/// peak RSS is the training's own. Targets: ≥ 2× torch's tokens/s at ≤ 0.5× its peak RSS.
enum TrainBench {
    static let model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let text = "Tests/Fixtures/apache-2.0.txt"
    static let sequence = 512

    struct Result: Decodable {
        let tokens_per_second: Double
        let peak_rss_bytes: Double
    }

    static func run(steps: Int) throws {
        print("== LoRA training on SmolLM2 (r=8, all linear, 1 × \(sequence) tokens): graft vs torch+peft fp32 ==")
        var table = Table("run", "graft tok/s", "graft peak RSS", "torch tok/s", "torch peak RSS", "speed ratio", "memory ratio")
        let torch = peer(steps: steps)
        for recompute in [false, true] {
            guard let graft = worker(steps: steps, recompute: recompute) else {
                throw FormatError.io(path: CommandLine.arguments[0], reason: "the graft training worker failed")
            }
            table.add(recompute ? "graft recompute" : "graft", fmt(graft.tokens_per_second), mib(graft.peak_rss_bytes),
                      torch.map { fmt($0.tokens_per_second) } ?? "–", torch.map { mib($0.peak_rss_bytes) } ?? "–",
                      torch.map { fmt(graft.tokens_per_second / $0.tokens_per_second, 2) } ?? "–",
                      torch.map { fmt(graft.peak_rss_bytes / $0.peak_rss_bytes, 2) } ?? "–")
        }
        table.print()
        print("targets: speed ratio ≥ 2.0, memory ratio ≤ 0.5")
        if torch == nil { print("(torch peer unavailable: run Scripts/reference-env.sh and pip install peft in .venv)") }
    }

    static func mib(_ bytes: Double) -> String { "\(Int(bytes / 1_048_576)) MiB" }

    /// This binary again, as `graft-bench train-worker STEPS RECOMPUTE`.
    static func worker(steps: Int, recompute: Bool) -> Result? {
        launch(CommandLine.arguments[0], ["train-worker", String(steps), recompute ? "1" : "0"])
    }

    static func peer(steps: Int) -> Result? {
        let python = ".venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        return launch(python, ["Scripts/bench_torch_train.py", model, text, String(sequence), String(steps)])
    }

    static func launch(_ executable: String, _ arguments: [String]) -> Result? {
        lastJSONLine(of: executable, arguments, as: Result.self)
    }

    /// The measured side: one warm-up step, then the median rate of `steps` steps; prints JSON.
    static func work(steps: Int, recompute: Bool, kernels: KernelMode) throws {
        let lm = try LanguageModel(path: model, forDecoding: false)
        let source = try String(contentsOfFile: text, encoding: .utf8)
        let ids = Array(lm.tokenizer.encode(source, parseSpecial: false).prefix(sequence + 1))
        let batch = Batch(rows: 1, length: sequence, tokens: Array(ids.prefix(sequence)), targets: Array(ids.dropFirst()),
                          positions: (0..<sequence).map(Int32.init), segments: [Int32](repeating: 0, count: sequence),
                          realTokens: sequence)
        lm.model.recomputeBlocks = recompute
        lm.model.kernels = kernels
        let adapters = lm.model.attachLoRA(LoRAConfig(rank: 8, alpha: 16, targets: LoRATarget.allCases), seed: 0)
        var optimizer = AdamW(parameters: adapters.parameters, weightDecay: 0)
        var rates: [Double] = [], losses: [Float] = []
        for step in 0...steps {
            let start = Date()
            let loss = crossEntropy(logits: lm.model.logits(lm.model.forward(tokens: batch.tokens, positions: batch.positions,
                                                                            mask: .causalSegments(batch.segments))),
                                    targets: batch.targets)
            losses.append(loss.item())
            loss.backward()
            optimizer.update(lr: 1e-4)
            if step > 0 { rates.append(Double(sequence) / Date().timeIntervalSince(start)) }
        }
        rates.sort()
        let line = "{\"tokens_per_second\": \(rates[rates.count / 2]), \"peak_rss_bytes\": \(ProcessMemory.peakResidentBytes()), "
            + "\"losses\": [\(losses.map { String($0) }.joined(separator: ", "))]}"
        print(line)
    }
}
