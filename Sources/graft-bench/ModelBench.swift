import Foundation
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor

/// SmolLM2-135M-Instruct Q4_1 against llama.cpp (llama-cpp-python, 2 threads) in the same run:
/// prompt processing of 512 tokens and decoding of 128 tokens after it, in tokens/s; decode also
/// as a fraction of the memory-bandwidth limit (weight bytes read per token over the measured copy
/// bandwidth). Targets: decode with the default (fast) kernels ≥ 1.2× llama.cpp, prompt processing ≥ 1.5×.
enum ModelBench {
    static let modelPath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    static func run(repeats: Int) throws {
        let model = try LlamaModel(path: modelPath)
        model.prepareForDecoding()
        print("kernels: fast = \(IntegerKernels.decodeDescription) for decode, tiled sgemm for prompts; exact = Float32 activations throughout")
        let prompt = try promptTokens(512)
        print("== SmolLM2-135M-Instruct Q4_1: graft vs llama.cpp (\(repeats) interleaved rounds; medians, and the median of the rounds' ratios) ==")
        // The machine is shared and its speed drifts by tens of percent within a minute, so each
        // round measures graft and then llama.cpp back to back, and ratios are taken per round.
        var prefill: [Double] = [], decode: [Double] = [], exactDecode: [Double] = []
        var peerPrefill: [Double] = [], peerDecode: [Double] = []
        for _ in 0..<repeats {
            model.kernels = .fast
            let (p, d) = measure(model, prompt: prompt, decodeTokens: 128)
            prefill.append(512 / p)
            decode.append(128 / d)
            model.kernels = .exact
            exactDecode.append(128 / measure(model, prompt: prompt, decodeTokens: 128).1)
            if let peer = LlamaCppPeer.measure(model: modelPath, prompt: prompt, decodeTokens: 128, repeats: 1) {
                peerPrefill.append(peer.prefill)
                peerDecode.append(peer.decode)
            }
        }
        let ppRate = median(prefill), tgRate = median(decode), exactRate = median(exactDecode)
        let peer = peerDecode.count == repeats ? LlamaCppPeer.Result(prefill: median(peerPrefill), decode: median(peerDecode)) : nil
        func ratio(_ ours: [Double], _ theirs: [Double]) -> String {
            peer == nil ? "n/a" : fmt(median(zip(ours, theirs).map { $0 / $1 }), 2)
        }
        let weightBytes = Double(model.file!.tensors.reduce(0) { $0 + $1.byteCount })
        let bandwidth = CopyBandwidth.measure()
        var table = Table("phase", "graft tok/s", "llama.cpp tok/s", "ratio", "target")
        table.add("prompt 512", fmt(ppRate), peer.map { fmt($0.prefill) } ?? "n/a", ratio(prefill, peerPrefill), "≥ 1.50")
        table.add("decode 128 (fast)", fmt(tgRate), peer.map { fmt($0.decode) } ?? "n/a", ratio(decode, peerDecode), "≥ 1.20")
        table.add("decode 128 (exact)", fmt(exactRate), peer.map { fmt($0.decode) } ?? "n/a", ratio(exactDecode, peerDecode), "")
        print("rounds, decode tok/s graft fast / llama.cpp: " + zip(decode, peerDecode).map { "\(fmt($0))/\(fmt($1))" }.joined(separator: "  "))
        table.print()
        let limit = bandwidth / weightBytes
        print("decode reads \(fmt(weightBytes / 1_048_576)) MiB of weights a token; copy bandwidth \(fmt(bandwidth / 1e9)) GB/s ⇒ limit \(fmt(limit)) tok/s; graft at \(fmt(tgRate / limit, 2)) of it" + (peer.map { ", llama.cpp at \(fmt($0.decode / limit, 2))" } ?? ""))
        if peer == nil { print("(llama.cpp peer unavailable: `make peers` sets it up in .venv)") }
    }

    /// Seconds for a 512-token prefill and for `decodeTokens` greedy steps after it.
    static func measure(_ model: LlamaModel, prompt: [Int32], decodeTokens: Int) -> (Double, Double) {
        withNoGrad {
            let cache = KVCache(config: model.config, capacity: prompt.count + decodeTokens)
            let t0 = DispatchTime.now().uptimeNanoseconds
            var logits = model.logits(model.forward(tokens: prompt, cache: cache), lastOnly: true)
            let t1 = DispatchTime.now().uptimeNanoseconds
            var sampler = Sampler(.greedy)
            for _ in 0..<decodeTokens {
                let next = logits.withUnsafeBufferPointer { sampler.sample(logits: $0, history: []) }
                logits = model.logits(model.forward(tokens: [next], cache: cache), lastOnly: true)
            }
            let t2 = DispatchTime.now().uptimeNanoseconds
            return (Double(t1 - t0) / 1e9, Double(t2 - t1) / 1e9)
        }
    }

    /// The first `n` tokens of the English fixture text repeated (ids from the model's tokenizer).
    static func promptTokens(_ n: Int) throws -> [Int32] {
        let ids = try SafetensorsFile(path: "Tests/Fixtures/smollm2_reference.safetensors").tensor("prompt.ids").toArray().map { Int32($0) }
        return (0..<n).map { ids[$0 % ids.count] }
    }

    static func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
}

/// Copy bandwidth (bytes read + written per second) of a 256 MiB memcpy split over 2 threads.
enum CopyBandwidth {
    static func measure() -> Double {
        let n = 64 << 20
        let a = Tensor.zeros([n]), b = Tensor.zeros([n])
        let (src, dst) = (UInt(bitPattern: a.basePointer), UInt(bitPattern: b.basePointer))
        let m = Measurement(repeats: 5) {
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                let o = UInt(i * n / 2 * 4)
                memcpy(UnsafeMutableRawPointer(bitPattern: dst + o)!, UnsafeRawPointer(bitPattern: src + o)!, n * 2)
            }
        }
        return 2 * Double(n * 4) / m.median
    }
}

/// llama.cpp measured through llama-cpp-python (Scripts/bench_llamacpp.py) in the project's .venv.
enum LlamaCppPeer {
    struct Result: Decodable { let prefill: Double; let decode: Double }

    static func measure(model: String, prompt: [Int32], decodeTokens: Int, repeats: Int) -> Result? {
        let python = ProcessInfo.processInfo.environment["GRAFT_LLAMA_PYTHON"] ?? ".venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        return lastJSONLine(of: python, ["Scripts/bench_llamacpp.py", model, prompt.map(String.init).joined(separator: ","),
                                         String(decodeTokens), String(repeats)], as: Result.self)
    }
}
