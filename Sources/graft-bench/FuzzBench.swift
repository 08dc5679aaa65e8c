import Foundation
import GraftFormats
import GraftAdapters
import GraftModel

/// The GGUF fuzzer at full size: mutated tiny models (parsed, loaded and run) and, for one case in
/// a hundred, mutated headers of the real SmolLM2 file (parsed and loaded). Every case must end
/// in an error or a working model; a crash ends the process, so finishing is the result.
enum FuzzBench {
    static func run(cases: Int, seed: UInt64) throws {
        print("== GGUF fuzzing: \(cases) cases, seed \(seed) ==")
        let tiny = SyntheticLlama.writer().encoded()
        let tinyHeader = try GGUFFile(mapping: MappedFile(copying: tiny)).dataOffset
        var real = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ModelBench.modelPath)))
        let realHeader = try GGUFFile(path: ModelBench.modelPath).dataOffset
        var tinyBuffer = tiny
        var tinyMutator = GGUFMutator(seed: seed, hotBytes: tinyHeader)
        var realMutator = GGUFMutator(seed: seed ^ 0x5EED, hotBytes: realHeader)
        var outcomes: [String: Int] = [:]
        let start = Date()
        for i in 0..<cases {
            let useReal = i % 100 == 99
            let outcome: ModelFuzzing.Outcome = useReal
                ? real.withUnsafeMutableBytes { raw in
                    let (length, undo) = realMutator.mutate(raw)
                    defer { for (j, b) in undo.reversed() { raw[j] = b } }
                    return ModelFuzzing.exercise(UnsafeRawBufferPointer(rebasing: raw[0..<length]), runForward: false)
                }
                : tinyBuffer.withUnsafeMutableBytes { raw in
                    let (length, undo) = tinyMutator.mutate(raw)
                    defer { for (j, b) in undo.reversed() { raw[j] = b } }
                    return ModelFuzzing.exercise(UnsafeRawBufferPointer(rebasing: raw[0..<length]), runForward: true)
                }
            outcomes["\(useReal ? "real" : "tiny") \(outcome)", default: 0] += 1
            if (i + 1) % 10_000 == 0 {
                print("  \(i + 1) cases, \(String(format: "%.0f", Date().timeIntervalSince(start)))s")
            }
        }
        precondition(tinyBuffer == tiny, "mutations were not undone")
        print("no crash in \(cases) cases (\(String(format: "%.0f", Date().timeIntervalSince(start)))s): "
              + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// The adapter readers (PEFT safetensors, adapter_config.json, LoRA GGUF) on `cases`
    /// mutated files, a third each.
    static func runAdapters(cases: Int, seed: UInt64) throws {
        print("== adapter reader fuzzing: \(cases) cases, seed \(seed) ==")
        let start = Date()
        let counts = try AdapterFuzzing().run(cases: cases, seed: seed) { done in
            print("  \(done) cases, \(String(format: "%.0f", Date().timeIntervalSince(start)))s")
        }
        print("no crash in \(cases) cases (\(String(format: "%.0f", Date().timeIntervalSince(start)))s): "
              + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
}
