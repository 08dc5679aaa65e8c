import ArgumentParser
import GraftRuntime

@main
struct Graft: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "LoRA/QLoRA fine-tuning on a CPU.",
        subcommands: [Inspect.self, Tokenize.self, Generate.self, PerplexityCommand.self, Train.self, Eval.self, Compare.self, Adapters.self, Export.self, Import.self, Merge.self, Logits.self, Serve.self, LoadTestCommand.self, Deploy.self, RolloutCommand.self, ToyTrain.self]
    )

    static func main() {
        BLASKernelSelection.relaunchIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
