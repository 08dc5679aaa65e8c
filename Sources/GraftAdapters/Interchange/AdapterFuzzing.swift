import Foundation
import GraftFormats
import GraftModel
import GraftTensor

/// Feeds mutated adapter files to graft's adapter readers: PEFT's `adapter_model.safetensors`
/// and `adapter_config.json`, and llama.cpp's LoRA GGUF. Each case must end in a `FormatError`
/// or in weights that fit the base; anything else (a trap) ends the process, so finishing is the
/// result. `make test` runs a seeded few thousand cases, `make fuzz` 100,000.
public struct AdapterFuzzing {
    public enum Reader: String, CaseIterable, Sendable { case safetensors, config, gguf }
    public enum Outcome: String, Sendable { case rejected, read }

    let base: BaseIdentity
    let config: Data
    let safetensors: [UInt8]
    let gguf: [UInt8]

    /// Seed files: a small random adapter (r=2 on every target, 2 blocks) written by graft's own
    /// writers, so every field the readers check is present to be broken.
    public init() throws {
        let geometry = BaseGeometry(layers: 2, hidden: 64, intermediate: 96, heads: 4, kvHeads: 2, headDim: 16)
        base = BaseIdentity(sha256: String(repeating: "0f", count: 32), file: "tiny.gguf", geometry: geometry,
                            chatTemplate: nil, stopTokens: [2])
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: LoRATarget.allCases)
        var generator = RandomGenerator(seed: 7)
        var layers: [AdapterWeights.Key: AdapterWeights.Layer] = [:]
        for key in AdapterWeights(lora: lora, layerCount: 2, layers: [:]).keys {
            func random(_ shape: [Int]) -> Tensor {
                Tensor((0..<Shape.count(shape)).map { _ in Float(generator.nextUniform()) - 0.5 }, shape: shape)
            }
            layers[key] = .init(a: random([2, geometry.input(key.target)]), b: random([geometry.output(key.target), 2]))
        }
        let weights = AdapterWeights(lora: lora, layerCount: 2, layers: layers)
        let folder = NSTemporaryDirectory() + "graft-fuzz-seed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try PeftFolder.write(weights, base: base, to: folder)
        config = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + PeftFolder.configFile))
        safetensors = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + PeftFolder.weightsFile)))
        gguf = try GGUFLoRA.encode(weights, base: base, name: "fuzz", file: "fuzz.gguf")
    }

    /// Runs `cases` mutated inputs, cycling through the readers; returns the outcome counts.
    public func run(cases: Int, seed: UInt64, progress: (Int) -> Void = { _ in }) -> [String: Int] {
        var counts: [String: Int] = [:]
        var buffers: [Reader: [UInt8]] = [.safetensors: safetensors, .config: [UInt8](config), .gguf: gguf]
        var mutators: [Reader: GGUFMutator] = [
            .safetensors: GGUFMutator(seed: seed, hotBytes: 8 + headerLength(safetensors)),
            .config: GGUFMutator(seed: seed ^ 0xC0F, hotBytes: config.count),
            .gguf: GGUFMutator(seed: seed ^ 0x6609, hotBytes: min(gguf.count, 4096)),
        ]
        for i in 0..<cases {
            let reader = Reader.allCases[i % Reader.allCases.count]
            let outcome = buffers[reader]!.withUnsafeMutableBytes { raw in
                let (length, undo) = mutators[reader]!.mutate(raw)
                defer { for (j, b) in undo.reversed() { raw[j] = b } }
                return exercise(reader, Data(raw[0..<length]))
            }
            counts["\(reader.rawValue) \(outcome.rawValue)", default: 0] += 1
            if (i + 1) % 10_000 == 0 { progress(i + 1) }
        }
        return counts
    }

    /// One input through one reader.
    public func exercise(_ reader: Reader, _ bytes: Data) -> Outcome {
        do {
            switch reader {
            case .safetensors:
                _ = try PeftFolder.decode(config: config, configPath: "adapter_config.json",
                                          weights: SafetensorsFile(data: bytes, path: "adapter_model.safetensors"),
                                          chatTemplate: nil, base: nil)
            case .config:
                _ = try PeftFolder.decode(config: bytes, configPath: "adapter_config.json",
                                          weights: SafetensorsFile(data: Data(safetensors), path: "adapter_model.safetensors"),
                                          chatTemplate: nil, base: nil)
            case .gguf:
                _ = try GGUFLoRA.read(GGUFFile(mapping: MappedFile(copying: [UInt8](bytes))), base: nil)
            }
            return .read
        } catch {
            return .rejected
        }
    }

    func headerLength(_ bytes: [UInt8]) -> Int {
        bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    }
}
