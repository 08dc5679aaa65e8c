import ArgumentParser
import Foundation
import GraftAdapters
import GraftFormats
import GraftModel
import GraftTensor

/// `graft compare --model MODEL --adapter REF|DIR --prompts FILE`: greedy answers of the base and
/// of the adapted model to each prompt, side by side.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answers of the base model and of an adapter, side by side.")
    @Option(help: "Path to the base .gguf model.") var model: String
    @Option(help: "An adapter: NAME[@VERSION|@TAG][:SCALE] from the registry, or a folder (from `graft train`).") var adapter: String
    @Flag(help: "Apply the adapter even if it was trained on another base.") var force = false
    @Option(help: "A JSON array of prompts: strings, or objects with \"prompt\" (and optionally \"expected\").") var prompts: String
    @Option(help: "Tokens per answer at most.") var maxTokens = 64

    func run() throws {
        guard let data = FileManager.default.contents(atPath: prompts) else { throw FormatError.io(path: prompts, reason: "no such file") }
        guard let list = try JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw FormatError.invalid(path: prompts, field: "root", reason: "expected a JSON array")
        }
        let items: [(prompt: String, expected: String?)] = try list.enumerated().map { i, item in
            if let s = item as? String { return (s, nil) }
            if let o = item as? [String: Any], let p = o["prompt"] as? String { return (p, o["expected"] as? String) }
            throw FormatError.invalid(path: prompts, field: "[\(i)]", reason: "expected a string or an object with \"prompt\"")
        }
        let lm = try LanguageModel(path: model)
        lm.model.kernels = .exact
        let hash = try ContentHash.sha256(path: model)
        func answer(_ prompt: String) throws -> String {
            var parameters = SamplingParameters()
            parameters.temperature = 0
            var sampler = Sampler(parameters)
            let ids = lm.encodePrompt(try lm.chatPrompt(prompt))
            let out = TextGeneration(model: lm.model, stopTokens: lm.stopTokens).generate(prompt: ids, maxTokens: maxTokens, sampler: &sampler)
            return lm.tokenizer.decode(out.filter { !lm.stopTokens.contains($0) }).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let base = try items.map { try answer($0.prompt) }
        try AdapterSource(adapter).attach(to: lm.model, baseSHA256: hash, force: force)
        let adapted = try items.map { try answer($0.prompt) }
        for (i, item) in items.enumerated() {
            print("── \(item.prompt)")
            print("   base:    \(oneLine(base[i]))")
            print("   adapted: \(oneLine(adapted[i]))")
            if let e = item.expected { print("   expected: \(e)") }
        }
    }

    func oneLine(_ s: String) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ⏎ ")
        return flat.count > 160 ? String(flat.prefix(160)) + "…" : flat
    }
}
