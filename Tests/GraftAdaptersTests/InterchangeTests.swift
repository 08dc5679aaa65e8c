import Foundation
@testable import GraftAdapters
import GraftFormats
import GraftModel
import GraftTensor
import Testing
import GraftTestSupport

/// Imports checked against PEFT and llama.cpp's converter (Scripts/make_peft_import_fixtures.py:
/// an adapter PEFT trained on the real SmolLM2, PEFT's float64 logits with it, and the LoRA GGUF
/// `convert_lora_to_gguf.py` made of it), and export → import → export round trips.
@Suite(.serialized) struct InterchangeTests {
    static let base: BaseIdentity? = try? BaseIdentity(model: Models.smolLM2)

    /// Logits of graft's exact path with `weights` attached, at every position of the fixture's
    /// prompt, against PEFT's: the stored columns, top-20 values and log-sum-exp within 1e-3,
    /// and the adapter visibly applied (the columns move from the base's by more than 1).
    func expectPeftLogits(_ weights: AdapterWeights) throws {
        let reference = try SafetensorsFile(path: Fixtures.path("peft_import_reference.safetensors"))
        let ids = try reference.tensor("prompt.ids").toArray().map { Int32($0) }
        let lm = try LanguageModel(path: Models.smolLM2, forDecoding: false)
        lm.model.kernels = .exact
        try lm.model.attachLoRA(weights.lora, weights: weights.peftTensors)
        let logits = withNoGrad { lm.model.logits(lm.model.forward(tokens: ids)) }.toArray()
        let v = lm.model.config.vocabularySize
        let columns = try reference.tensor("logits.columns").toArray().map { Int($0) }
        let expected = try reference.tensor("logits.column_values").toArray()
        let baseValues = try reference.tensor("base.column_values").toArray()
        let topIDs = try reference.tensor("logits.top_ids").toArray().map { Int($0) }
        let topValues = try reference.tensor("logits.top_values").toArray()
        let lse = try reference.tensor("logits.lse").toArray()
        var worst: Float = 0, moved: Float = 0
        for p in ids.indices {
            let row = Array(logits[(p * v)..<((p + 1) * v)])
            for (j, c) in columns.enumerated() {
                worst = max(worst, abs(row[c] - expected[p * columns.count + j]))
                moved = max(moved, abs(row[c] - baseValues[p * columns.count + j]))
            }
            for k in 0..<20 { worst = max(worst, abs(row[topIDs[p * 20 + k]] - topValues[p * 20 + k])) }
            let m = row.max()!
            let ours = m + log(row.reduce(Float(0)) { $0 + exp($1 - m) })
            worst = max(worst, abs(ours - lse[p]))
        }
        #expect(worst <= 1e-3, "max |graft − PEFT| = \(worst)")
        #expect(moved > 1, "the adapter moves the logits by only \(moved)")
    }

    @Test func peftImportGivesPeftLogits() throws {
        let base = try #require(Self.base, "run `make model` first")
        let (weights, named) = try PeftFolder.read(Fixtures.path("peft_import"), base: base)
        #expect(named.sha256 == base.sha256 && weights.lora.rank == 4 && weights.lora.alpha == 16 && !weights.lora.rsLoRA)
        #expect(Set(weights.lora.targets) == [.qProj, .kProj, .vProj, .oProj])
        try expectPeftLogits(weights)
        #expect(throws: FormatError.self) { try PeftFolder.read(Fixtures.path("peft_import"), base: nil) }
    }

    @Test func convertLoraToGGUFImportGivesPeftLogits() throws {
        let base = try #require(Self.base, "run `make model` first")
        let (fromGGUF, _) = try GGUFLoRA.read(Fixtures.path("peft_import.gguf"), base: base)
        let (fromPeft, _) = try PeftFolder.read(Fixtures.path("peft_import"), base: base)
        // llama.cpp's converter permutes lora_B rows of q/k exactly as graft's importer does.
        #expect(fromGGUF.peftTensors.mapValues { $0.toArray() } == fromPeft.peftTensors.mapValues { $0.toArray() })
        #expect(fromGGUF.lora.scaling == fromPeft.lora.scaling)
        try expectPeftLogits(fromGGUF)
    }

    /// A random adapter on a small base, with the settings given.
    static func synthetic(_ lora: LoRAConfig, seed: UInt64 = 3) -> (AdapterWeights, BaseIdentity) {
        let geometry = BaseGeometry(layers: 2, hidden: 64, intermediate: 96, heads: 4, kvHeads: 2, headDim: 16)
        let base = BaseIdentity(sha256: String(repeating: "1e", count: 32), file: "tiny.gguf", geometry: geometry,
                                chatTemplate: "{{ messages }}", stopTokens: [2, 7])
        var g = RandomGenerator(seed: seed)
        var layers: [AdapterWeights.Key: AdapterWeights.Layer] = [:]
        for key in AdapterWeights(lora: lora, layerCount: 2, layers: [:]).keys {
            func random(_ shape: [Int], offset: Float = 0) -> Tensor {
                Tensor((0..<Shape.count(shape)).map { _ in g.nextUniform() - 0.5 + offset }, shape: shape)
            }
            let out = geometry.output(key.target)
            layers[key] = .init(a: random([lora.rank, geometry.input(key.target)]), b: random([out, lora.rank]),
                                magnitude: lora.dora ? random([out], offset: 2) : nil)
        }
        return (AdapterWeights(lora: lora, layerCount: 2, layers: layers), base)
    }

    func temporary(_ name: String) -> String { NSTemporaryDirectory() + "graft-interchange-\(UUID().uuidString)-" + name }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func peftRoundTripIsBitIdentical(rsLoRA: Bool, dora: Bool) throws {
        let (weights, base) = Self.synthetic(LoRAConfig(rank: 3, alpha: 6, targets: [.qProj, .kProj, .downProj], rsLoRA: rsLoRA, dora: dora))
        let first = temporary("a"), second = temporary("b")
        defer { for f in [first, second] { try? FileManager.default.removeItem(atPath: f) } }
        try PeftFolder.write(weights, base: base, to: first)
        let (read, named) = try PeftFolder.read(first, base: nil)
        #expect(named == base && read.lora == LoRAConfig(rank: 3, alpha: 6, dropout: 0, targets: [.qProj, .kProj, .downProj], rsLoRA: rsLoRA, dora: dora))
        #expect(read.peftTensors.mapValues { $0.toArray() } == weights.peftTensors.mapValues { $0.toArray() })
        try PeftFolder.write(read, base: named, to: second)
        for file in [PeftFolder.weightsFile, PeftFolder.configFile, PeftFolder.templateFile] {
            #expect(FileManager.default.contents(atPath: first + "/" + file) == FileManager.default.contents(atPath: second + "/" + file), "\(file)")
        }
        // q/k rows are in Hugging Face order in the file: row j of B is graft's row ggufFromHF[j].
        let file = try SafetensorsFile(path: first + "/" + PeftFolder.weightsFile)
        let key = AdapterWeights.Key(block: 1, target: .kProj)
        let hfB = try file.tensor(key.peftPrefix + "lora_B.weight").toArray()
        let ours = weights.layers[key]!.b.toArray()
        let order = base.geometry.hfFromGGUF(.kProj)!
        var moved: [Float] = []
        for j in 0..<32 { moved += ours[(order[j] * 3)..<(order[j] * 3 + 3)] }
        #expect(hfB == moved)
        #expect(order != Array(0..<32))
    }

    @Test(arguments: [false, true])
    func ggufRoundTripIsBitIdentical(rsLoRA: Bool) throws {
        let (weights, base) = Self.synthetic(LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases, rsLoRA: rsLoRA))
        let first = temporary("a.gguf"), second = temporary("b.gguf")
        defer { for f in [first, second] { try? FileManager.default.removeItem(atPath: f) } }
        try GGUFLoRA.write(weights, base: base, name: "t", to: first)
        let gguf = try GGUFFile(path: first)
        #expect(try gguf.float("adapter.lora.alpha") == (rsLoRA ? 16 : 8))
        #expect(gguf.tensor("blk.0.attn_q.weight.lora_a")?.dims == [64, 4] && gguf.tensor("blk.0.attn_k.weight.lora_b")?.dims == [4, 32])
        let (read, named) = try GGUFLoRA.read(first, base: nil)
        #expect(named.sha256 == base.sha256 && named.geometry == base.geometry)
        #expect(abs(read.lora.scaling - weights.lora.scaling) <= 1e-6 * weights.lora.scaling)
        #expect(read.peftTensors.mapValues { $0.toArray() } == weights.peftTensors.mapValues { $0.toArray() })
        try GGUFLoRA.write(read, base: named, name: "t", to: second)
        let a = try GGUFFile(path: first), b = try GGUFFile(path: second)
        for t in a.tensors {
            #expect(Array(try a.tensorData(t.name)) == Array(try b.tensorData(t.name)), "\(t.name)")
        }
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
    }

    @Test func doraHasNoGGUFForm() throws {
        let (weights, base) = Self.synthetic(LoRAConfig(rank: 2, alpha: 4, targets: [.vProj], dora: true))
        let path = temporary("dora.gguf")
        #expect(throws: FormatError.invalid(path: path, field: "use_dora", reason: "llama.cpp has no form for DoRA's magnitudes; merge the adapter into the base model instead")) {
            try GGUFLoRA.write(weights, base: base, name: "d", to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// AdapterMerge's arithmetic against PEFT's `merge_adapter` (Scripts/make_lora_fixtures.py).
    @Test(arguments: ["plain", "rslora", "dora", "dora_rslora"])
    func mergeEqualsPeftMerge(_ c: String) throws {
        let file = try SafetensorsFile(path: Fixtures.path("lora_linear.safetensors"))
        let dora = c.hasPrefix("dora")
        let lora = LoRAConfig(rank: 4, alpha: 8, targets: [.qProj], rsLoRA: c.hasSuffix("rslora"), dora: dora)
        var w = try file.tensor("\(c).W").toArray()
        let layer = AdapterWeights.Layer(a: try file.tensor("\(c).A"), b: try file.tensor("\(c).B"),
                                         magnitude: dora ? try file.tensor("\(c).m") : nil)
        AdapterMerge.apply(layer, scaling: lora.scaling, rank: 4, to: &w, rows: 24, cols: 40)
        let expected = try file.tensor("\(c).merged_W").toArray()
        let scale = expected.map(abs).max()!
        let worst = zip(w, expected).map { abs($0 - $1) }.max()!
        #expect(worst <= 2e-6 * scale, "\(c): max |graft − PEFT| = \(worst)")
    }
}

/// Training that continues from a registry version gets its weights and records it as parent.
@Suite struct ContinuationTests {
    @Test func continuationChecksSettingsAndNamesTheParent() throws {
        let root = NSTemporaryDirectory() + "graft-continue-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: [.qProj, .vProj])
        let (weights, base) = InterchangeTests.synthetic(lora)
        let registry = Registry(root: root)
        let version = try registry.publish(weights, base: base, as: "sql")
        #expect(version.reference == "sql@1")
        let source = try AdapterSource("sql@1", registry: registry)
        let (loaded, parent) = try source.continuation(for: lora, baseSHA256: base.sha256)
        #expect(parent == "sql@1")
        #expect(loaded.mapValues { $0.toArray() } == weights.peftTensors.mapValues { $0.toArray() })
        var other = lora
        other.rank = 4
        #expect(throws: FormatError.self) { try source.continuation(for: other, baseSHA256: base.sha256) }
        do { _ = try source.continuation(for: other, baseSHA256: base.sha256) } catch {
            #expect("\(error)".contains("lora.rank: sql@1 was trained with another setting than the recipe's (adapter vs recipe: 2 vs 4)"))
        }
        do { _ = try source.continuation(for: lora, baseSHA256: String(repeating: "0", count: 64)) } catch {
            #expect("\(error)".contains("lora.from: sql@1 was trained on tiny.gguf"))
        }
    }
}
