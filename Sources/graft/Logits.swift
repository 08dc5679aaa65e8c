import ArgumentParser
import Foundation
import GraftAdapters
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor

/// `graft logits --model BASE [--adapter REF] --tokens FILE.json --out FILE.safetensors`: the
/// model's logits at every position of one sequence, for checks against other implementations
/// (PEFT, llama.cpp) that need the numbers rather than generated text.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the logits [tokens, vocab] (F32 safetensors key 'logits') of a token sequence, with or without an adapter.")
    @Option(help: "The model (.gguf).") var model: String
    @Option(help: "An adapter NAME[@VERSION|@TAG][:SCALE] or folder.") var adapter: String?
    @Option(help: "A JSON array of token ids.") var tokens: String
    @Option(help: "The safetensors file to write.") var out: String
    @Option(help: "exact | fast | bfloat16") var kernels: KernelMode = .exact
    @Flag(help: "Apply the adapter even if it was trained on another base.") var force = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: tokens),
              let ids = try? JSONDecoder().decode([Int32].self, from: data), !ids.isEmpty else {
            throw ValidationError("\(tokens): must hold a non-empty JSON array of token ids")
        }
        let lm = try LanguageModel(path: model, forDecoding: false)
        lm.model.kernels = kernels
        let vocabulary = lm.model.config.vocabularySize
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw ValidationError("\(tokens): token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
        }
        guard ids.count <= lm.model.config.contextLength else {
            throw ValidationError("\(tokens): \(ids.count) tokens, more than the context of \(lm.model.config.contextLength)")
        }
        if let adapter { try AdapterSource(adapter).attach(to: lm.model, baseSHA256: ContentHash.sha256(path: model), force: force) }
        let logits = withNoGrad { lm.model.logits(lm.model.forward(tokens: ids)) }
        try SafetensorsFile.write(["logits": logits], metadata: ["model": (model as NSString).lastPathComponent, "adapter": adapter ?? ""], to: out)
        print("wrote \(out): logits \(logits.shape)")
    }
}
