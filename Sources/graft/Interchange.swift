import ArgumentParser
import Foundation
import GraftAdapters
import GraftFormats
import GraftModel
import GraftQuant

/// The formats adapters travel in outside graft.
enum InterchangeFormat: String, ExpressibleByArgument, CaseIterable {
    case peft, gguf
}

/// `graft export --format peft|gguf REF OUT [--model BASE]`
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an adapter as a PEFT folder (adapter_config.json, adapter_model.safetensors, chat_template.jinja) or a llama.cpp LoRA GGUF.")
    @Option(help: "peft | gguf") var format: InterchangeFormat
    @Argument(help: "The adapter: NAME[@VERSION|@TAG] from the registry, or a folder.") var reference: String
    @Argument(help: "The output: a folder (peft) or a .gguf file (gguf).") var output: String
    @Option(help: "The base model (.gguf); needed only for adapters whose manifest lacks the base's sizes.") var model: String?
    @Flag(help: "Use --model even if the adapter was trained on another base.") var force = false

    func run() throws {
        let source = try AdapterSource(reference)
        guard source.reference.scale == 1 else {
            throw ValidationError("an export keeps the adapter's own scale; drop ':\(source.reference.scale)' from the reference")
        }
        let adapter = try source.load(model: model, force: force)
        switch format {
        case .peft: try PeftFolder.write(adapter.weights, base: adapter.base, to: output)
        case .gguf:
            let name = adapter.label.split(separator: "/").last.map(String.init) ?? adapter.label
            try GGUFLoRA.write(adapter.weights, base: adapter.base, name: name, to: output)
        }
        print("exported \(adapter.label) (r=\(adapter.weights.lora.rank), \(adapter.weights.layers.count) projections) to \(output)")
    }
}

/// `graft import --format peft|gguf SOURCE NAME [--model BASE]`
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a PEFT adapter folder or a llama.cpp LoRA GGUF in the registry as the next version of NAME.")
    @Option(help: "peft | gguf") var format: InterchangeFormat
    @Argument(help: "A PEFT folder (peft) or a LoRA .gguf file (gguf).") var source: String
    @Argument(help: "The registry name to publish under.") var name: String
    @Option(help: "The base model (.gguf); needed when the source does not name its base's hash (graft's exports do).") var model: String?
    @Flag(help: "Accept --model even if the source names another base.") var force = false

    func run() throws {
        try AdapterReference.checkName(name)
        let given = try model.map { try BaseIdentity(model: $0) }
        let (weights, base) = switch format {
        case .peft: try PeftFolder.read(source, base: given, force: force)
        case .gguf: try GGUFLoRA.read(source, base: given, force: force)
        }
        let version = try Registry(root: Registry.defaultRoot()).publish(weights, base: base, as: name)
        let kind = weights.lora.dora ? "DoRA" : weights.lora.rsLoRA ? "rsLoRA" : "LoRA"
        print("imported \(kind) r=\(weights.lora.rank) alpha=\(weights.lora.alpha) on \(weights.lora.targets.map(\.rawValue).joined(separator: ",")) as \(version.reference) (base \(base.file) \(base.sha256.prefix(12)))")
    }
}

/// `graft merge --model BASE --adapter REF [--adapter REF …] --out FILE.gguf --type f32|f16|q8_0|q4_1`
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fold adapters into a copy of the base GGUF (W + Σ scale·s·BA, DoRA rescaled), quantized row by row; llama.cpp runs it as a plain model.")
    @Option(help: "The base model (.gguf).") var model: String
    @Option(help: "An adapter NAME[@VERSION|@TAG][:SCALE] or folder; repeat to merge several (applied in order).") var adapter: [String] = []
    @Option(help: "The merged model to write (.gguf).") var out: String
    @Option(help: "f32 | f16 | q8_0 | q4_1: the type of every merged projection (other tensors keep theirs).") var type: String = "f16"
    @Flag(help: "Merge even adapters trained on another base.") var force = false

    func run() throws {
        guard !adapter.isEmpty else { throw ValidationError("give at least one --adapter") }
        guard let ggmlType = AdapterMerge.outputTypes.first(where: { $0.description.lowercased() == type.lowercased() }) else {
            throw ValidationError("--type must be one of f32, f16, q8_0, q4_1 (found '\(type)')")
        }
        let base = try BaseIdentity(model: model)
        var parts: [AdapterMerge.Part] = []
        for ref in adapter {
            let loaded = try AdapterSource(ref).load(base: base, force: force)
            parts.append(.init(weights: loaded.weights, scale: loaded.scale, label: loaded.label))
        }
        let gguf = try GGUFFile(path: model)
        let start = Date()
        let summary = try AdapterMerge.merge(base: gguf, geometry: base.geometry, parts: parts, type: ggmlType, to: out) { i, total in
            FileHandle.standardError.write(Data("\rtensor \(i + 1)/\(total)".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print(String(format: "merged %d projections as %@ into %@ (%.1f MB) in %.1f s; %.1f%% of the adapters' change survives %@ rounding",
                     summary.tensors, ggmlType.description, out, Double(size) / 1e6, Date().timeIntervalSince(start),
                     100 * summary.retained, ggmlType.description))
        if summary.retained < 0.9 {
            FileHandle.standardError.write(Data("warning: \(ggmlType) rounds away much of the adapter (see above); merge to q8_0 or f16 to keep it\n".utf8))
        }
    }
}
