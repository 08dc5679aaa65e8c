import GraftAdapters
import ArgumentParser
import Foundation
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

/// `graft generate`: streams only the generated text to stdout; timings go to stderr.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a prompt.")
    @Option(help: "Path to a .gguf model.") var model: String
    @Option(help: "The prompt.") var prompt: String
    @Flag(help: "Wrap the prompt as one user message with the model's chat template.") var chat = false
    @Option(help: "Tokens to generate at most.") var maxTokens = 256
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(help: "Keep the K most likely tokens (0: all).") var topK = 40
    @Option(help: "Nucleus sampling threshold.") var topP: Float = 0.95
    @Option(help: "Min-p threshold.") var minP: Float = 0.05
    @Option(help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1.0
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "exact | fast | bfloat16 (prompt products on AMX tiles)") var kernels: KernelMode = .fast
    @Option(help: "An adapter: NAME[@VERSION|@TAG][:SCALE] from the registry, or a folder (from `graft train`).") var adapter: String?
    @Flag(help: "Apply the adapter even if it was trained on another base.") var force = false

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let start = Date()
        let lm = try LanguageModel(path: model)
        lm.model.kernels = kernels
        if let adapter { try AdapterSource(adapter).attach(to: lm.model, baseSHA256: ContentHash.sha256(path: model), force: force) }
        let text = chat ? try lm.chatPrompt(prompt) : prompt
        let ids = lm.encodePrompt(text)
        guard !ids.isEmpty else { throw ValidationError("the prompt has no tokens") }
        var parameters = SamplingParameters()
        parameters.temperature = temperature
        parameters.topK = topK
        parameters.topP = topP
        parameters.minP = minP
        parameters.repetitionPenalty = repeatPenalty
        parameters.seed = seed
        var sampler = Sampler(parameters)
        let loaded = Date()
        var firstToken: Date?
        var pending: [UInt8] = []
        let out = TextGeneration(model: lm.model, stopTokens: lm.stopTokens)
            .generate(prompt: ids, maxTokens: maxTokens, sampler: &sampler) { token in
                if firstToken == nil { firstToken = Date() }
                if !lm.stopTokens.contains(token) {
                    pending += lm.tokenizer.bytes(of: token)
                    pending = StreamingUTF8.flush(pending)
                }
                return true
            }
        if !pending.isEmpty { FileHandle.standardOutput.write(Data(pending)) }
        print()
        let end = Date()
        let decodeSeconds = end.timeIntervalSince(firstToken ?? end)
        FileHandle.standardError.write(Data(String(format: "load %.2fs, prompt %d tokens in %.2fs (%.1f tok/s), generated %d tokens at %.1f tok/s\n",
            loaded.timeIntervalSince(start), ids.count, (firstToken ?? end).timeIntervalSince(loaded),
            Double(ids.count) / max((firstToken ?? end).timeIntervalSince(loaded), 1e-9),
            out.count, Double(max(out.count - 1, 0)) / max(decodeSeconds, 1e-9)).utf8))
    }
}

/// Writes the complete UTF-8 characters of a byte stream to stdout and keeps an unfinished one,
/// so a multi-byte character split over tokens prints whole.
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
