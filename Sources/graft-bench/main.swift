import Foundation
import GraftRuntime
import GraftQuant
import GraftTensor

/// `graft-bench [tensor|kernels|model|engine|train|load|fuzz] [--repeats N]`: benchmarks that print ratios against a
/// peer measured in the same run (`make bench` runs tensor, kernels, model, engine, train and load), and the 100,000-case
/// GGUF fuzzer (`make fuzz`).
BLASKernelSelection.relaunchIfNeeded()
var args = Array(CommandLine.arguments.dropFirst())
var repeats = 15
if let i = args.firstIndex(of: "--repeats"), i + 1 < args.count, let r = Int(args[i + 1]), r > 0 {
    repeats = r
    args.removeSubrange(i...(i + 1))
}
let suites = args.isEmpty ? ["tensor", "kernels", "model", "engine", "train", "load"] : args
// Every figure below came from this machine and build (workers print only their JSON line).
if suites.first != "train-worker" { for line in CPUInfo.current.summary { print(line) } }
for suite in suites {
    switch suite {
    case "tensor": TensorBench.run(repeats: repeats)
    case "kernels": KernelBench.run(repeats: repeats)
    case "fuzz":
        do {
            try FuzzBench.run(cases: 100_000, seed: 2026)
            try FuzzBench.runAdapters(cases: 100_000, seed: 2026)
        } catch {
            FileHandle.standardError.write(Data("graft-bench: fuzz: \(error) (run `make model` first)\n".utf8))
            exit(1)
        }
    case "model":
        do { try ModelBench.run(repeats: max(3, repeats / 3)) } catch {
            FileHandle.standardError.write(Data("graft-bench: model: \(error) (run `make model` first)\n".utf8))
            exit(1)
        }
    case "load":
        do { try LoadBench.run(duration: ProcessInfo.processInfo.environment["GRAFT_LOAD_SECONDS"].flatMap(Double.init) ?? 10) } catch {
            FileHandle.standardError.write(Data("graft-bench: load: \(error) (run `make model` and `make peers` first)\n".utf8))
            exit(1)
        }
    case "engine":
        do { try EngineBench.run(repeats: max(2, repeats / 5)) } catch {
            FileHandle.standardError.write(Data("graft-bench: engine: \(error) (run `make model` first)\n".utf8))
            exit(1)
        }
    case "train":
        do { try TrainBench.run(steps: 5, rounds: 3) } catch {
            FileHandle.standardError.write(Data("graft-bench: train: \(error) (run `make model` first)\n".utf8))
            exit(1)
        }
    case "train-worker":
        // The measured process of the train suite: graft-bench train-worker STEPS RECOMPUTE(none|selective|full) KERNELS
        guard args.count == 4, let steps = Int(args[1]), let recompute = Recomputation(rawValue: args[2]),
              let kernels = KernelMode(rawValue: args[3]) else { exit(2) }
        do { try TrainBench.work(steps: steps, recompute: recompute, kernels: kernels) } catch { exit(1) }
        exit(0)
    default:
        FileHandle.standardError.write(Data("graft-bench: unknown suite '\(suite)'; known: tensor, kernels, model, engine, train, fuzz\n".utf8))
        exit(2)
    }
}
