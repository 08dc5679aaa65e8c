import Foundation
@testable import GraftAdapters
import GraftFormats
import GraftModel
import GraftTensor
import Testing
import GraftTestSupport

/// Bad adapter files: each gives an error naming the file and the key, never a crash, and
/// nothing is written; and a seeded fuzz run over the three readers.
@Suite struct AdapterInputTests {
    let peftConfig = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("peft_import/adapter_config.json")))

    func config(_ edit: (inout [String: Any]) -> Void) -> Data {
        var object = try! JSONSerialization.jsonObject(with: peftConfig) as! [String: Any]
        edit(&object)
        return try! JSONSerialization.data(withJSONObject: object)
    }

    @Test func configsGraftCannotHonourAreRefusedByKey() {
        let cases: [(Data, String)] = [
            (config { $0["peft_type"] = "IA3" }, "peft_type: 'IA3' is not LORA"),
            (config { $0["bias"] = "all" }, "bias: must be \"none\""),
            (config { $0["modules_to_save"] = ["lm_head"] }, "modules_to_save: modules trained and saved whole is not supported"),
            (config { $0["target_modules"] = ["q_proj", "lm_head"] }, "target_modules: unknown LoRA target 'lm_head'"),
            (config { $0["target_modules"] = ".*proj" }, "target_modules: the regular expression"),
            (config { $0["rank_pattern"] = ["q_proj": 8] }, "rank_pattern: per-module ranks"),
            (config { $0["layers_to_transform"] = [0, 1] }, "layers_to_transform: adapting only some layers"),
            (config { $0["use_dora"] = "yes" }, "use_dora: must be true or false"),
            (config { $0["r"] = 0 }, "r: must be a positive integer"),
            (config { $0["r"] = 2.5 }, "r: must be a positive integer"),
            (config { $0["lora_alpha"] = -16 }, "lora_alpha: must be a positive number"),
            (config { $0["lora_magic"] = true }, "lora_magic: is not a key PEFT's LoraConfig has"),
            (config { $0["init_lora_weights"] = "pissa_niter_4" }, "init_lora_weights: 'pissa_niter_4' rewrites the base weights"),
            (config { $0["fan_in_fan_out"] = true }, "fan_in_fan_out: transposed (Conv1D) weights"),
            (Data("[1]".utf8), "must be a JSON object"),
            (Data("{\"r\": ".utf8), "not valid JSON"),
        ]
        for (data, expected) in cases {
            do {
                _ = try PeftConfig.parse(data, path: "cfg.json")
                Issue.record("accepted; expected \(expected)")
            } catch {
                #expect(error.description.hasPrefix("cfg.json: ") && error.description.contains(expected), "\(error.description)")
            }
        }
    }

    /// Missing, extra and misshapen tensors, and settings a graft manifest may not hold.
    @Test func weightsThatDoNotFitAreRefusedByKey() {
        let (weights, base) = InterchangeTests.synthetic(LoRAConfig(rank: 2, alpha: 4, targets: [.qProj, .vProj]))
        var tensors = weights.peftTensors
        let q0 = "base_model.model.model.layers.0.self_attn.q_proj."
        func attempt(_ t: [String: Tensor], _ lora: LoRAConfig = weights.lora) -> String {
            do { _ = try AdapterWeights(lora: lora, geometry: base.geometry, tensors: t, file: "w.safetensors"); return "accepted" }
            catch { return error.description }
        }
        tensors[q0 + "lora_A.weight"] = nil
        #expect(attempt(tensors) == "w.safetensors: no tensor named '\(q0)lora_A.weight'")
        tensors = weights.peftTensors
        tensors[q0 + "lora_B.weight"] = Tensor.zeros([32, 2])
        #expect(attempt(tensors) == "w.safetensors: \(q0)lora_B.weight: shape [32, 2] does not fit the base, which needs [64, 2]")
        tensors = weights.peftTensors
        tensors["base_model.model.lm_head.weight"] = Tensor.zeros([4])
        #expect(attempt(tensors).hasPrefix("w.safetensors: base_model.model.lm_head.weight: is not a tensor of this adapter's settings"))
        tensors = weights.peftTensors
        tensors[q0 + "lora_A.weight"] = Tensor([Float](repeating: .nan, count: 128), shape: [2, 64])
        #expect(attempt(tensors) == "w.safetensors: \(q0)lora_A.weight: holds a value that is not finite")
        #expect(attempt(weights.peftTensors, LoRAConfig(rank: 0, alpha: 4, targets: [.qProj, .vProj])) == "w.safetensors: r: rank must be positive, found 0")
        #expect(attempt(weights.peftTensors, LoRAConfig(rank: 2, alpha: -1, targets: [.qProj, .vProj])) == "w.safetensors: lora_alpha: must be a positive number, found -1.0")
    }

    @Test func loraGGUFsGraftCannotApplyAreRefusedByKey() throws {
        let (weights, base) = InterchangeTests.synthetic(LoRAConfig(rank: 2, alpha: 4, targets: [.qProj, .vProj]))
        let good = try GGUFLoRA.encode(weights, base: base, name: "t", file: "t.gguf")
        func read(_ edit: (inout GGUFWriter) -> Void) -> String {
            var w = GGUFWriter()
            let file = try! GGUFFile(mapping: MappedFile(copying: good))
            for key in file.keys { w.add(key, file.metadata[key]!) }
            for t in file.tensors { w.addTensor(t.name, type: t.type, dims: t.dims, bytes: Array(try! file.tensorData(t.name))) }
            edit(&w)
            do { _ = try GGUFLoRA.read(GGUFFile(mapping: MappedFile(copying: w.encoded(), path: "t.gguf")), base: nil); return "accepted" }
            catch { return error.description }
        }
        #expect(read { _ in } == "accepted")
        #expect(read { $0.add("general.type", .string("model")) } == "t.gguf: general.type: is 'model', not 'adapter'")
        #expect(read { $0.add("adapter.lora.alpha", .int32(16)) } == "t.gguf: adapter.lora.alpha: must be FLOAT32, found INT32")
        #expect(read { $0.add("graft.base_sha256", .string("abc")) } == "t.gguf: graft.base_sha256: is not a SHA-256 in hex")
        #expect(read { $0.addTensor("blk.0.attn_norm.weight.lora_a", shape: [1, 64], values: [Float](repeating: 0, count: 64)) }
                .hasPrefix("t.gguf: blk.0.attn_norm.weight.lora_a: is not a LoRA tensor graft can apply"))
        #expect(read { $0.addTensor("blk.9.attn_q.weight.lora_a", shape: [2, 64], values: [Float](repeating: 0, count: 128)) }
                .hasPrefix("t.gguf: blk.9.attn_q.weight.lora_a: is not a LoRA tensor graft can apply"))
        #expect(read { w in
            let kept = w.tensors.filter { $0.name != "blk.1.attn_v.weight.lora_b" }
            var fresh = GGUFWriter()
            for (k, v) in w.metadata { fresh.add(k, v) }
            for t in kept { fresh.addTensor(t.name, type: t.type, dims: t.dims, bytes: t.bytes) }
            w = fresh
        } == "t.gguf: no tensor named 'blk.1.attn_v.weight.lora_b'")
    }

    /// A failed import publishes nothing; the error names the file and key (through `graft`).
    @Test func failedImportLeavesTheRegistryUntouched() throws {
        let graft = Models.graftBinary
        guard FileManager.default.isExecutableFile(atPath: graft) else {
            Issue.record("no graft binary at \(graft): build the products with the tests (`make test`)")
            return
        }
        let home = NSTemporaryDirectory() + "graft-import-\(UUID().uuidString)"
        let source = home + "-src"
        defer { for p in [home, source] { try? FileManager.default.removeItem(atPath: p) } }
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("peft_import/adapter_model.safetensors"), toPath: source + "/adapter_model.safetensors")
        try config { $0["bias"] = "lora_only" }.write(to: URL(fileURLWithPath: source + "/adapter_config.json"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: graft)
        p.arguments = ["import", "--format", "peft", source, "bad", "--model", Models.smolLM2]
        p.environment = ["GRAFT_HOME": home]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus != 0)
        #expect(message.contains("adapter_config.json: bias: must be \"none\""), "\(message)")
        #expect(Registry(root: home).names().isEmpty)
    }

    @Test func fuzzedAdapterFilesNeverCrashTheReaders() throws {
        let counts = try AdapterFuzzing().run(cases: 3000, seed: 11)
        for reader in AdapterFuzzing.Reader.allCases {
            #expect((counts["\(reader.rawValue) rejected"] ?? 0) > 100, "\(counts)")
        }
        #expect(counts.values.reduce(0, +) == 3000)
    }
}

/// A graft adapter folder whose manifest holds impossible settings is refused by field.
@Suite struct AdapterManifestTests {
    @Test func impossibleSettingsAreRefusedByField() throws {
        let folder = NSTemporaryDirectory() + "graft-manifest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (weights, base) = InterchangeTests.synthetic(LoRAConfig(rank: 2, alpha: 4, targets: [.qProj]))
        let directory = AdapterDirectory(path: folder)
        for (edit, expected) in [({ (l: inout LoRAConfig) in l.rank = 0 }, "lora.rank: must be between 1 and 65536, found 0"),
                                 ({ (l: inout LoRAConfig) in l.alpha = -2 }, "lora.alpha: must be a positive number, found -2.0"),
                                 ({ (l: inout LoRAConfig) in l.dropout = 1 }, "lora.dropout: must be in [0, 1), found 1.0"),
                                 ({ (l: inout LoRAConfig) in l.targets = [] }, "lora.targets: names no module")] {
            var lora = weights.lora
            edit(&lora)
            try directory.write(weights, manifest: .init(name: "x", baseSHA256: base.sha256, baseFile: base.file, lora: lora,
                                                         trainedSteps: 1, geometry: base.geometry))
            do {
                _ = try directory.readWeights(geometry: base.geometry)
                Issue.record("accepted; expected \(expected)")
            } catch {
                #expect(error.description == "\(folder)/adapter.json: \(expected)")
            }
        }
    }
}
