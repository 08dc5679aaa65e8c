import Foundation
@testable import GraftAdapters
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor
import Testing

/// `AdapterMerge` on a small GGUF model: merged projections hold dequant(W) + s·scaling·B·A in
/// the requested type, everything else is copied byte for byte, and the merged model computes
/// what the base with the adapter attached computes. (The arithmetic itself is checked against
/// PEFT's merge in InterchangeTests; llama.cpp's view of merged SmolLM2 files is in
/// Scripts/check_interchange.py.)
@Suite struct MergeTests {
    func fixture(dora: Bool = false) throws -> (path: String, gguf: GGUFFile, weights: AdapterWeights) {
        let path = NSTemporaryDirectory() + "graft-merge-base-\(UUID().uuidString).gguf"
        try SyntheticLlama.writer().write(to: path)
        let gguf = try GGUFFile(path: path)
        let geometry = BaseGeometry(try LlamaConfig(gguf: gguf))
        var g = RandomGenerator(seed: 5)
        let lora = LoRAConfig(rank: 3, alpha: 6, targets: [.qProj, .kProj, .downProj], dora: dora)
        var layers: [AdapterWeights.Key: AdapterWeights.Layer] = [:]
        for key in AdapterWeights(lora: lora, layerCount: geometry.layers, layers: [:]).keys {
            func random(_ shape: [Int], _ spread: Float, _ offset: Float = 0) -> Tensor {
                Tensor((0..<Shape.count(shape)).map { _ in (g.nextUniform() - 0.5) * spread + offset }, shape: shape)
            }
            let out = geometry.output(key.target)
            layers[key] = .init(a: random([3, geometry.input(key.target)], 0.4), b: random([out, 3], 0.4),
                                magnitude: dora ? random([out], 0.2, 1) : nil)
        }
        return (path, gguf, AdapterWeights(lora: lora, layerCount: geometry.layers, layers: layers))
    }

    @Test(arguments: [GGMLType.f32, .f16, .q8_0, .q4_1])
    func mergedFileHoldsTheSumAndCopiesTheRest(_ type: GGMLType) throws {
        let (basePath, gguf, weights) = try fixture()
        let out = NSTemporaryDirectory() + "graft-merged-\(UUID().uuidString).gguf"
        defer { for p in [basePath, out] { try? FileManager.default.removeItem(atPath: p) } }
        let summary = try AdapterMerge.merge(base: gguf, geometry: BaseGeometry(try LlamaConfig(gguf: gguf)),
                                       parts: [.init(weights: weights, scale: 0.5, label: "t@1")], type: type, to: out)
        #expect(summary.tensors == weights.layers.count)
        #expect(type == .f32 ? summary.retained == 1 : summary.retained > 0.5 && summary.retained < 1.01, "\(summary.retained)")
        let merged = try GGUFFile(path: out)
        #expect(merged.tensors.map(\.name) == gguf.tensors.map(\.name))
        #expect(try merged.stringArray("tokenizer.ggml.tokens") == (try gguf.stringArray("tokenizer.ggml.tokens")))
        #expect(try merged.string("graft.merged") == "t@1 × 0.5")
        for info in gguf.tensors {
            let m = try #require(merged.tensor(info.name))
            let blk = info.name.split(separator: ".")
            let target = LoRATarget.allCases.first { "blk.\(blk[1]).\(GGUFLoRA.tensorName($0)).weight" == info.name }
            guard let target, let layer = weights.layers[.init(block: Int(blk[1])!, target: target)] else {
                let (copied, original) = (Array(try merged.tensorData(info.name)), Array(try gguf.tensorData(info.name)))
                #expect(m.type == info.type && copied == original, "\(info.name)")
                continue
            }
            #expect(m.type == type)
            let (rows, cols) = (info.dims[1], info.dims[0])
            let w = QuantizedMatrix(type: info.type, rows: rows, cols: cols, data: try gguf.tensorData(info.name).baseAddress!, owner: gguf.mapping).dequantized().toArray()
            let got = QuantizedMatrix(type: m.type, rows: rows, cols: cols, data: try merged.tensorData(info.name).baseAddress!, owner: merged.mapping).dequantized().toArray()
            let a = layer.a.toArray(), b = layer.b.toArray()
            let s = 0.5 * weights.lora.scaling
            var worst: Float = 0, largest: Float = 0
            for r in 0..<rows {
                for c in 0..<cols {
                    var delta: Float = 0
                    for k in 0..<3 { delta += b[r * 3 + k] * a[k * cols + c] }
                    let expected = w[r * cols + c] + s * delta
                    worst = max(worst, abs(got[r * cols + c] - expected))
                    largest = max(largest, abs(expected))
                }
            }
            // Within the type's rounding: none, half-precision, or half a quantization step.
            let bound: Float = switch type {
            case .f32: 1e-5 * largest
            case .f16: 1e-3 * largest
            case .q8_0: largest / 127
            default: largest / 7
            }
            #expect(worst <= bound, "\(info.name) \(type): \(worst) > \(bound)")
        }
    }

    @Test(arguments: [false, true])
    func mergedModelComputesWhatTheAttachedAdapterDoes(dora: Bool) throws {
        let (basePath, gguf, weights) = try fixture(dora: dora)
        let out = NSTemporaryDirectory() + "graft-merged-\(UUID().uuidString).gguf"
        defer { for p in [basePath, out] { try? FileManager.default.removeItem(atPath: p) } }
        try AdapterMerge.merge(base: gguf, geometry: BaseGeometry(try LlamaConfig(gguf: gguf)),
                               parts: [.init(weights: weights, scale: 1, label: "t")], type: .f32, to: out)
        let tokens: [Int32] = [5, 9, 30, 2, 17, 8]
        let attached = try LlamaModel(path: basePath)
        try attached.attachLoRA(weights.lora, weights: weights.peftTensors)
        let withAdapter = withNoGrad { attached.logits(attached.forward(tokens: tokens)) }.toArray()
        let mergedModel = try LlamaModel(path: out)
        let merged = withNoGrad { mergedModel.logits(mergedModel.forward(tokens: tokens)) }.toArray()
        let plain = try LlamaModel(path: basePath)
        let base = withNoGrad { plain.logits(plain.forward(tokens: tokens)) }.toArray()
        let worst = zip(withAdapter, merged).map { abs($0 - $1) }.max()!
        let effect = zip(withAdapter, base).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4 && effect > 1e-2, "merged vs attached \(worst), adapter effect \(effect)")
    }

    @Test func mergeRefusesWhatDoesNotFit() throws {
        let (basePath, gguf, weights) = try fixture()
        let out = NSTemporaryDirectory() + "graft-merged-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: basePath) }
        var wrong = weights
        let key = AdapterWeights.Key(block: 0, target: .qProj)
        wrong.layers[key]!.b = Tensor.zeros([16, 3])
        #expect(throws: FormatError.self) {
            try AdapterMerge.merge(base: gguf, geometry: BaseGeometry(try LlamaConfig(gguf: gguf)),
                                   parts: [.init(weights: wrong, scale: 1, label: "t")], type: .f16, to: out)
        }
        #expect(throws: FormatError.self) {
            try AdapterMerge.merge(base: gguf, geometry: BaseGeometry(try LlamaConfig(gguf: gguf)),
                                   parts: [.init(weights: weights, scale: 1, label: "t")], type: .q4_K, to: out)
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
