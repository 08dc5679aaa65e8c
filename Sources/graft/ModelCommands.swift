import ArgumentParser
import GraftAdapters
import GraftEngine
import Foundation
import GraftRuntime
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor

/// `graft tokenize --model MODEL TEXT`: ids as a JSON array on one line, no BOS/EOS added,
/// special-token strings read as special tokens (llama.cpp's `tokenize(text, add_bos=False, special=True)`).
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of TEXT as a JSON array.")
    @Option(help: "Path to a .gguf model.") var model: String
    @Argument(help: "The text to tokenize.") var text: String

    func run() throws {
        let tokenizer = try BPETokenizer(gguf: GGUFFile(path: model))
        print("[" + tokenizer.encode(text, parseSpecial: true).map(String.init).joined(separator: ",") + "]")
    }
}

extension KernelMode: ExpressibleByArgument {}
extension ServedAdapter.Precision: ExpressibleByArgument {}

/// `graft generate`: streams only the generated text to stdout; timings go to stderr.
/// `graft generate --model M (--prompt P [--chat] | --prompts FILE [--concurrency N]) [--adapter REF]`:
/// every generation runs through the engine (continuous batching, per-request adapters).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt, or from a JSONL file of requests run concurrently.")
    @Option(help: "Path to a .gguf model.") var model: String
    @Option(help: "The prompt.") var prompt: String?
    @Option(help: "A JSONL file of requests: {\"prompt\": \"…\"} or {\"messages\": […]}, optional \"adapter\" and \"max_tokens\"; one JSON result a line on stdout, in input order.")
    var prompts: String?
    @Option(help: "Requests in flight at once with --prompts.") var concurrency = 1
    @Flag(help: "Wrap the prompt as one user message with the model's chat template.") var chat = false
    @Option(help: "Tokens to generate at most.") var maxTokens = 256
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(help: "Keep the K most likely tokens (0: all).") var topK = 40
    @Option(help: "Nucleus sampling threshold.") var topP: Float = 0.95
    @Option(help: "Min-p threshold.") var minP: Float = 0.05
    @Option(help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1.0
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "exact | fast (integer decode kernels)") var kernels: KernelMode = .fast
    @Option(help: "An adapter: NAME[@VERSION|@TAG][:SCALE] from the registry, or a folder (from `graft train`).") var adapter: String?
    @Option(help: "MiB of KV cache for the engine.") var kvBudget = 256
    @Option(help: "Tokens per engine step (decode rows and prompt chunks).") var tokenBudget = 128
    @Option(help: "How served adapters hold A and B: float32 | bfloat16 (default: float32 with --kernels exact, else bfloat16).")
    var adapterPrecision: ServedAdapter.Precision?
    @Flag(help: "Apply the adapter even if it was trained on another base.") var force = false

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give either --prompt or --prompts") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard kvBudget >= 1 && kvBudget <= 1 << 24 else { throw ValidationError("--kv-budget must be between 1 and 16777216 MiB") }
        guard tokenBudget >= 1 else { throw ValidationError("--token-budget must be at least 1") }
        guard kernels != .bfloat16 else { throw ValidationError("--kernels bfloat16 is for training; generation uses exact or fast") }
    }

    var sampling: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repetitionPenalty = repeatPenalty
        p.seed = seed
        return p
    }

    func run() throws {
        let start = Date()
        let lm = try LanguageModel(path: model)
        var options = Engine.Options()
        options.kernels = kernels
        options.kvBudgetBytes = kvBudget << 20
        options.tokenBudget = tokenBudget
        let cache = AdapterCache(registry: Registry(root: Registry.defaultRoot()), base: try BaseIdentity(language: lm, path: model),
                                 precision: adapterPrecision ?? (kernels == .exact ? .float32 : .bfloat16))
        let engine = try Engine(language: lm, options: options, adapters: cache)
        defer { engine.stop() }
        if let prompts {
            guard let data = FileManager.default.contents(atPath: prompts) else { throw ValidationError("\(prompts): cannot read the file") }
            var lines = try PromptBatch.parse(data, path: prompts)
            if let adapter { for i in lines.indices where lines[i].adapter == nil { lines[i].adapter = adapter } }
            let requests = lines, sampling = self.sampling, maxTokens = self.maxTokens, concurrency = self.concurrency
            let began = Date()
            let outcomes = waitFor { await PromptBatch.run(requests, engine: engine, sampling: sampling, maxTokens: maxTokens, concurrency: concurrency) }
            let seconds = Date().timeIntervalSince(began)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for outcome in outcomes { print(String(decoding: try encoder.encode(outcome), as: UTF8.self)) }
            let generated = outcomes.reduce(0) { $0 + $1.completionTokens }
            let failed = outcomes.filter { $0.error != nil }.count
            FileHandle.standardError.write(Data(String(format: "%d requests (%d failed) at concurrency %d: %d tokens generated in %.2fs, %.1f tok/s in all\n",
                                                       outcomes.count, failed, concurrency, generated, seconds, Double(generated) / max(seconds, 1e-9)).utf8))
            return
        }
        let text = chat ? try lm.chatPrompt(prompt!) : prompt!
        let ids = lm.encodePrompt(text)
        guard !ids.isEmpty else { throw ValidationError("the prompt has no tokens") }
        let adapters = try adapter.map { [try cache.acquire($0, force: force)] } ?? []
        let (_, events) = try engine.submit(EngineRequest(prompt: ids, adapters: adapters, sampling: sampling, maxTokens: maxTokens))
        let loaded = Date()
        let usage: EngineUsage = waitFor {
            var usage = EngineUsage()
            for await event in events {
                switch event {
                case .token(_, let piece): FileHandle.standardOutput.write(Data(piece.utf8))
                case .finished(_, let u): usage = u
                }
            }
            return usage
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        FileHandle.standardError.write(Data(String(format: "load %.2fs, prompt %d tokens in %.2fs (%.1f tok/s), generated %d tokens at %.1f tok/s\n",
            loaded.timeIntervalSince(start), ids.count, usage.queueSeconds + usage.prefillSeconds,
            Double(ids.count) / max(usage.queueSeconds + usage.prefillSeconds, 1e-9),
            usage.completionTokens, Double(max(usage.completionTokens - 1, 0)) / max(usage.decodeSeconds, 1e-9)).utf8))
    }
}



enum StreamingUTF8 {
    static func flush(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        // Find where the last (possibly incomplete) character starts.
        var i = bytes.count - 1
        while i >= 0 && i >= bytes.count - 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                if bytes.count - i < need { end = i }
                break
            }
            i -= 1
        }
        if end > 0 {
            FileHandle.standardOutput.write(Data(bytes[..<end]))
        }
        return Array(bytes[end...])
    }
}

/// `graft perplexity`: windows of N tokens, no BOS; prints `perplexity: X` as the last line.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "perplexity", abstract: "Perplexity of a text file.")
    @Option(help: "Path to a .gguf model.") var model: String
    @Option(help: "The text file.") var file: String
    @Option(help: "Tokens per window.") var context = 256
    @Option(help: "exact | fast | bfloat16 (prompt products on AMX tiles)") var kernels: KernelMode = .fast

    func run() throws {
        guard context >= 2 else { throw ValidationError("--context must be at least 2") }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) }
        catch { throw ValidationError("\(file): cannot read as UTF-8 text: \(error.localizedDescription)") }
        let lm = try LanguageModel(path: model)
        lm.model.kernels = kernels
        let tokens = lm.tokenizer.encode(text, parseSpecial: true)
        guard tokens.count >= context else {
            throw ValidationError("\(file): \(tokens.count) tokens, fewer than one window of \(context)")
        }
        let start = Date()
        let result = Perplexity.evaluate(lm.model, tokens: tokens, context: context) { done, total in
            FileHandle.standardError.write(Data("\rwindow \(done)/\(total)".utf8))
        }
        FileHandle.standardError.write(Data(String(format: "\n%d tokens, %d windows of %d, %d scored, %.1f tok/s\n",
            tokens.count, result.windows, context, result.scoredTokens,
            Double(result.windows * context) / Date().timeIntervalSince(start)).utf8))
        print(String(format: "mean NLL: %.6f", result.meanNLL))
        print(String(format: "perplexity: %.6f", result.perplexity))
    }
}
