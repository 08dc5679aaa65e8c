import ArgumentParser
import Foundation
import GraftTensor
import GraftTrain

/// `graft toy-train`: trains a tiny character transformer and prints its loss falling.
struct ToyTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toy-train",
        abstract: "Train a tiny transformer on a toy text with the tensor core and print the loss."
    )

    @Option(help: "Number of AdamW steps.") var steps = 300
    @Option(help: "Learning rate.") var lr: Float = 1e-2
    @Option(help: "Random seed (initialisation and batches).") var seed: UInt64 = 0
    @Option(help: "Print every N steps.") var every = 25

    func run() throws {
        guard steps > 0, every > 0 else { throw ValidationError("--steps and --every must be positive") }
        var task = ToyTask(seed: seed)
        print("toy task: \(task.vocabulary.count)-character vocabulary, uniform loss \(task.uniformLoss)")
        var window: [Float] = []
        for step in 1...steps {
            window.append(task.trainStep(lr: lr))
            if step % every == 0 || step == 1 {
                let mean = window.reduce(0, +) / Float(window.count)
                print(String(format: "step %4d  loss %.4f", step, mean))
                window.removeAll()
            }
        }
    }
}
