import ArgumentParser
import Foundation
import GraftAdapters
import GraftData
import GraftFormats
import GraftModel
import GraftTensor
import GraftTrain

/// `graft train RECIPE [--resume] [--steps N] [--stop-after K]`
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a LoRA adapter from a TOML recipe.")
    @Argument(help: "The recipe (.toml); paths in it are relative to its folder.") var recipe: String
    @Flag(help: "Continue from the newest checkpoint in the recipe's checkpoint folder.") var resume = false
    @Option(help: "Override the recipe's step count (the schedule follows).") var steps: Int?
    @Option(help: "Write a checkpoint and stop at step K, as an interruption would (the schedule is unchanged).") var stopAfter: Int?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1") }
    }

    func run() throws {
        let recipe = try Recipe(path: self.recipe)
        var progress = ProgressPrinter()
        progress.line("recipe \(recipe.path): \(recipe.model.quant.rawValue) base \(recipe.model.path)")
        if !resume, let existing = CheckpointFolder(path: recipe.checkpoint.dir, keep: recipe.checkpoint.keep).latest {
            throw TrainingError.runExists(folder: recipe.checkpoint.dir, step: existing.step)
        }
        var start: (weights: [String: Tensor], parent: String)?
        if let from = recipe.lora.from, !resume {
            let lora = LoRAConfig(rank: recipe.lora.rank, alpha: recipe.lora.alpha, targets: try LoRAConfig.targets(named: recipe.lora.targets),
                                  rsLoRA: recipe.lora.rslora, dora: recipe.lora.dora)
            start = try AdapterSource(from).continuation(for: lora, baseSHA256: ContentHash.sha256(path: recipe.model.path))
            progress.line("continuing from \(start!.parent)")
        }
        let session = try TrainingSession(recipe: recipe, steps: steps, initialWeights: start?.weights)
        progress.show(.prepared(session.summary))
        var resumedAt: Int?
        if resume {
            let (step, path) = try session.resumeLatest()
            resumedAt = step
            progress.show(.resumed(step: step, path: path))
        }
        try FileManager.default.createDirectory(atPath: recipe.checkpoint.dir, withIntermediateDirectories: true)
        let log = MetricsLog(path: (recipe.checkpoint.dir as NSString).appendingPathComponent("metrics.jsonl"),
                             resumingAt: resume ? resumedAt : 0)
        var finishedAll = false
        try session.trainer.run(stopAfter: stopAfter, checkpoints: session.checkpoints) { event in
            progress.show(event)
            log.record(event)
            if case .finished(_, let early) = event { finishedAll = !early }
        }
        let curves = log.curves
        let svgPath = (recipe.checkpoint.dir as NSString).appendingPathComponent("loss.svg")
        try AtomicFile.write(Data(LossCurve.svg(train: curves.train, valid: curves.valid,
                                                title: "\(recipe.output.adapter): loss").utf8), to: svgPath)
        progress.line("loss curve: \(svgPath)")
        if finishedAll {
            let dir = (recipe.output.dir as NSString).appendingPathComponent(recipe.output.adapter)
            try AdapterDirectory(path: dir).write(session.adapters, manifest: .init(
                name: recipe.output.adapter, baseSHA256: session.trainer.baseSHA256,
                baseFile: (recipe.model.path as NSString).lastPathComponent, lora: session.adapters.config,
                trainedSteps: session.trainer.step, geometry: BaseGeometry(session.language.model.config)))
            progress.line("adapter: \(dir)")
            let last = { (points: [(Int, Double)]) in points.last?.1 }
            var metrics: [String: Double] = [:]
            metrics["train_loss"] = last(curves.train)
            if let val = last(curves.valid) {
                metrics["val_loss"] = val
                metrics["val_ppl"] = Foundation.exp(val)
            }
            let registry = Registry(root: Registry.defaultRoot())
            let version = try registry.publish(folder: dir, as: recipe.output.adapter, Registry.Draft(
                baseSHA256: session.trainer.baseSHA256, baseFile: (recipe.model.path as NSString).lastPathComponent,
                chatTemplate: session.language.chatTemplate?.source, stopTokens: session.language.stopTokens.sorted(),
                lora: session.adapters.config, recipe: recipe.source, metrics: metrics,
                parent: start?.parent ?? recipe.lora.from.map { from in
                    (try? AdapterSource(from).folder().version?.reference) ?? from
                }))
            progress.line("published: \(version.reference) in \(registry.root)")
        }
    }
}
