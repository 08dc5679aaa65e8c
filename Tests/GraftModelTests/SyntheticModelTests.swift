import Foundation
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor
import Testing
import GraftTestSupport

@Suite struct SyntheticModelTests {
    @Test(arguments: [GGMLType.f32, .q8_0, .q4_0, .q4_1])
    func tinyModelRunsEndToEnd(_ type: GGMLType) throws {
        var o = SyntheticLlama.Options()
        o.matrixType = type
        let path = NSTemporaryDirectory() + "graft-tiny-\(getpid())-\(type).gguf"
        try SyntheticLlama.writer(o).write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lm = try LanguageModel(path: path)
        let prompt = lm.encodePrompt(try lm.chatPrompt("the cat"))
        #expect(lm.tokenizer.decode(prompt) == "<|im_start|>user\nthe cat<|im_end|>\n<|im_start|>assistant\n")
        var sampler = Sampler(.greedy)
        let out = TextGeneration(model: lm.model, stopTokens: lm.stopTokens).generate(prompt: prompt, maxTokens: 8, sampler: &sampler)
        #expect(!out.isEmpty && out.count <= 8)
        // Cached decode equals a full forward over prompt + generated tokens.
        let full = withNoGrad { lm.model.logits(lm.model.forward(tokens: prompt + out.dropLast()), lastOnly: true) }
        let best = full.toArray().indices.max { full.toArray()[$0] < full.toArray()[$1] }!
        #expect(Int32(best) == out.last!)
    }

    @Test func quantizedLinearBackwardMatchesDequantizedMatmul() throws {
        var rng = RandomGenerator(seed: 4)
        let w = QuantizedMatrix(type: .q4_1, rows: 24, cols: 64,
                                bytes: Quantize.row(.q4_1, (0..<(24 * 64)).map { _ in rng.nextNormal() }))
        let dense = w.dequantized()
        for n in [1, 3, 9] {
            let x = Tensor.randn([n, 64], generator: &rng, requiresGrad: true)
            let x2 = x.detached()
            x2.requiresGrad = true
            let probe = Tensor.randn([n, 24], generator: &rng)
            let y = linear(x, w)
            let y2 = matmul(x2, dense, transposeB: true)
            let diff = zip(y.toArray(), y2.toArray()).map { abs($0 - $1) }.max()!
            #expect(diff < 1e-4, "n = \(n): forward differs by \(diff)")
            (y * probe).sum().backward()
            (y2 * probe).sum().backward()
            let gdiff = zip(x.grad!.toArray(), x2.grad!.toArray()).map { abs($0 - $1) }.max()!
            #expect(gdiff < 1e-4, "n = \(n): input gradient differs by \(gdiff)")
        }
    }
}

/// The seeded share of the GGUF fuzzer (`graft-bench fuzz` runs 100,000 cases): mutated tiny and
/// real files must be rejected with an error or load and run, never crash.
@Suite struct GGUFFuzzTests {
    @Test func mutatedTinyModelsNeverCrash() throws {
        let bytes = SyntheticLlama.writer().encoded()
        let header = try GGUFFile(mapping: MappedFile(copying: bytes)).dataOffset
        var mutator = GGUFMutator(seed: 1, hotBytes: header)
        var counts = [ModelFuzzing.Outcome: Int]()
        var buffer = bytes
        buffer.withUnsafeMutableBytes { raw in
            for _ in 0..<3000 {
                let (length, undo) = mutator.mutate(raw)
                counts[ModelFuzzing.exercise(UnsafeRawBufferPointer(rebasing: raw[0..<length]), runForward: true), default: 0] += 1
                for (i, b) in undo.reversed() { raw[i] = b }
            }
        }
        #expect(buffer == bytes)
        #expect((counts[.rejected] ?? 0) > 100 && (counts[.ran] ?? 0) > 100, "\(counts)")
    }

    @Test func mutatedRealModelHeadersNeverCrash() throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Models.smolLM2)))
        let header = try GGUFFile(path: Models.smolLM2).dataOffset
        var mutator = GGUFMutator(seed: 2, hotBytes: header)
        bytes.withUnsafeMutableBytes { raw in
            for _ in 0..<15 {
                let (length, undo) = mutator.mutate(raw)
                _ = ModelFuzzing.exercise(UnsafeRawBufferPointer(rebasing: raw[0..<length]), runForward: false)
                for (i, b) in undo.reversed() { raw[i] = b }
            }
        }
    }
}

/// Values in a model file that used to reach a precondition or a trapping conversion are errors
/// naming the key.
@Suite struct ModelFileValueTests {
    func load(_ edit: (inout GGUFWriter) -> Void) -> String {
        var w = SyntheticLlama.writer()
        edit(&w)
        let path = NSTemporaryDirectory() + "graft-values-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try w.write(to: path)
            _ = try LanguageModel(path: path, forDecoding: false)
            return "loaded"
        } catch { return "\(error)".replacingOccurrences(of: path, with: "m.gguf") }
    }

    @Test func outOfRangeValuesAreErrors() {
        #expect(load { _ in } == "loaded")
        #expect(load { $0.add("tokenizer.ggml.eot_token_id", .uint64(1 << 40)) }.hasPrefix("m.gguf: tokenizer.ggml.eot_token_id: "))
        #expect(load { $0.add("tokenizer.ggml.eom_token_id", .int32(-3)) }.hasPrefix("m.gguf: tokenizer.ggml.eom_token_id: "))
        #expect(load { $0.add("llama.context_length", .int32(-5)) } == "m.gguf: llama.context_length: must be positive, found -5")
        #expect(load { $0.add("llama.vocab_size", .uint32(10)) }.hasPrefix("m.gguf: "))
    }
}
