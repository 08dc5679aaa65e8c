import ArgumentParser
import Foundation
import GraftAdapters
import GraftData
import GraftFormats
import GraftModel
import GraftTrain

/// `graft eval --model BASE [--adapter REF] --data FILE.jsonl [--max-tokens N]`
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss and perplexity on a JSONL file, and for prompt/completion or chat data the exact match and token F1 of greedy answers; stored with a registry version.")
    @Option(help: "Path to the base model (.gguf).") var model: String
    @Option(help: "An adapter: NAME[@VERSION|@TAG][:SCALE] from the registry, or a folder; the base alone when omitted.")
    var adapter: String?
    @Option(help: "The JSONL data ({\"text\"}, {\"prompt\",\"completion\"} or {\"messages\"}).") var data: String
    @Option(help: "Tokens per generated answer at most.") var maxTokens = 256
    @Flag(help: "Apply the adapter even if it was trained on another base.") var force = false

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
    }

    func run() throws {
        let lm = try LanguageModel(path: model, forDecoding: false)
        lm.model.kernels = .exact
        var label = "base"
        var version: VersionManifest?
        var registry: Registry?
        var scale: Float = 1
        if let adapter {
            let source = try AdapterSource(adapter)
            let (path, v) = try source.folder()
            try AdapterDirectory(path: path).attach(to: lm.model, baseSHA256: ContentHash.sha256(path: model),
                                                    scale: source.reference.scale, force: force)
            (label, version, registry, scale) = (v.map { $0.reference } ?? adapter, v, source.registry, source.reference.scale)
            if scale != 1 { label += ":\(scale)" }
        }
        let dataset = try JSONLDataset(path: data)
        let result = try Evaluation.run(lm, on: dataset, answerTokens: maxTokens) { done, total in
            FileHandle.standardError.write(Data("\r\(done)/\(total) examples".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let f = { (x: Double?) in x.map { String(format: "%.4f", $0) } ?? "–" }
        print("model\texamples\tscored tokens\tloss\tperplexity\texact match\ttoken F1")
        print("\(label)\t\(result.examples)\t\(result.scoredTokens)\t\(f(result.loss))\t\(f(result.perplexity))\t\(f(result.exactMatch))\t\(f(result.tokenF1))")
        if let version, let registry, scale == 1 {
            var values = ["loss": result.loss, "perplexity": result.perplexity]
            values["exact_match"] = result.exactMatch
            values["token_f1"] = result.tokenF1
            try registry.recordEvaluation(version, dataset: (data as NSString).lastPathComponent, values)
            print("stored with \(version.reference)")
        }
    }
}
