import Foundation
import GraftData
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor
@testable import GraftTrain
import Testing
import GraftTestSupport

/// Interrupt-and-resume ends with the same bits as an uninterrupted run (with dropout on, so
/// the random stream must be restored too), and a kill in the middle of writing a checkpoint
/// leaves the previous one intact.
@Suite(.serialized) struct ResumeTests {
    func finalWeights(_ session: TrainingSession) -> [[UInt32]] {
        session.adapters.parameters.map { $0.toArray().map(\.bitPattern) }
    }

    @Test func resumedRunIsBitIdentical() throws {
        let run = try ScratchRun(steps: 5)
        defer { run.remove() }
        let recipe = try Recipe(path: run.recipePath)

        let straight = try TrainingSession(recipe: recipe)
        try straight.trainer.run(stopAfter: nil, checkpoints: nil) { _ in }
        let expected = finalWeights(straight)

        let first = try TrainingSession(recipe: recipe)
        try first.trainer.run(stopAfter: 2, checkpoints: first.checkpoints) { _ in }
        #expect(first.trainer.step == 2)
        #expect(first.checkpoints.latest?.step == 2)

        let second = try TrainingSession(recipe: recipe)
        let resumed = try second.resumeLatest()
        #expect(resumed.step == 2)
        try second.trainer.run(stopAfter: nil, checkpoints: second.checkpoints) { _ in }
        #expect(second.trainer.step == 5)
        #expect(finalWeights(second) == expected, "resumed weights differ from the uninterrupted run's")
        // The optimizer state matches too.
        #expect(second.trainer.optimizer.firstMoments == straight.trainer.optimizer.firstMoments)
    }

    @Test func checkpointCarriesEverythingNeeded() throws {
        let run = try ScratchRun(steps: 2)
        defer { run.remove() }
        let session = try TrainingSession(recipe: try Recipe(path: run.recipePath))
        try session.trainer.run(stopAfter: nil, checkpoints: session.checkpoints) { _ in }
        let path = try #require(session.checkpoints.latest?.path)
        let names = session.adapters.namedParameters.map(\.name)
        let c = try TrainingCheckpoint.read(path, parameterNames: names)
        #expect(c.step == 2 && c.parameters.count == names.count && c.firstMoments.count == names.count)
        #expect(c.baseSHA256 == (try ContentHash.sha256(path: Models.smolLM2)))
        #expect(c.recipeSource.contains("[lora]"))
        #expect(c.dataPosition == session.trainer.stream.position)
        // Another base is refused.
        var other = c
        other.baseSHA256 = String(repeating: "0", count: 64)
        #expect(throws: TrainingError.self) { try session.trainer.restore(other, path: path) }
    }

    @Test func killDuringCheckpointLeavesThePreviousOne() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Models.graftBinary), "build graft first (make test does)")
        let run = try ScratchRun(steps: 3)
        defer { run.remove() }
        // Steps 1 and 2 with a checkpoint at 2, as an interruption would leave them.
        let first = try launch(["train", run.recipePath, "--stop-after", "2"], environment: [:])
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        let folder = CheckpointFolder(path: run.checkpointDir, keep: 3)
        #expect(folder.latest?.step == 2)

        // Resume; the final checkpoint's write pauses half-way; kill the process there.
        let second = try launch(["train", run.recipePath, "--resume"], environment: ["GRAFT_CHECKPOINT_PAUSE_MS": "20000"])
        let deadline = Date().addingTimeInterval(120)
        var marker: String?
        while marker == nil && Date() < deadline && second.isRunning {
            marker = (try? FileManager.default.contentsOfDirectory(atPath: run.checkpointDir))?.first { $0.hasSuffix(".writing") }
            usleep(50_000)
        }
        #expect(marker != nil, "the checkpoint write never started")
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()
        #expect(second.terminationReason == .uncaughtSignal)

        // Only the step-2 checkpoint counts as complete, and it loads.
        #expect(folder.checkpoints().map(\.step) == [2])
        let session = try TrainingSession(recipe: try Recipe(path: run.recipePath))
        let resumed = try session.resumeLatest()
        #expect(resumed.step == 2)
        // Training goes on from it to the end; the next save clears the half-written file.
        try session.trainer.run(stopAfter: nil, checkpoints: session.checkpoints) { _ in }
        #expect(folder.checkpoints().map(\.step) == [2, 3])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.checkpointDir).filter { $0.hasPrefix(".step-") && !$0.hasSuffix(".writing") }
        #expect(leftovers.isEmpty)
    }

    func launch(_ arguments: [String], environment: [String: String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Models.graftBinary)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}

/// Gradient accumulation gives the gradient of the whole batch (the loss of a step is the mean
/// over all its scored tokens, however the rows are split), and an NF4 base trains.
@Suite(.serialized) struct AccumulationTests {
    @Test func twoMicroBatchesEqualOneBatch() throws {
        let run = try ScratchRun(steps: 2, dropout: 0)
        defer { run.remove() }
        let session = try TrainingSession(recipe: try Recipe(path: run.recipePath))
        let batch = session.trainer.stream.batches(epoch: 0)[0]
        #expect(batch.rows == 2)
        func row(_ r: Int) -> Batch {
            let range = (r * batch.length)..<((r + 1) * batch.length)
            return Batch(rows: 1, length: batch.length, tokens: Array(batch.tokens[range]), targets: Array(batch.targets[range]),
                         positions: Array(batch.positions[range]), segments: Array(batch.segments[range]), realTokens: 0)
        }
        let params = session.adapters.parameters
        // Adapters start with B = 0, which leaves A without gradient: give B a value first.
        var g = RandomGenerator(seed: 9)
        for p in params where p.shape[1] == session.adapters.config.rank {
            p.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = 0.01 * g.nextNormal() } }
        }
        (session.trainer.lossSum(batch) * (1 / Float(batch.targetCount))).backward()
        let whole = params.map { $0.grad!.toArray() }
        params.forEach { $0.zeroGrad() }
        for r in 0..<2 { (session.trainer.lossSum(row(r)) * (1 / Float(batch.targetCount))).backward() }
        var worst: Float = 0
        for (p, w) in zip(params, whole) {
            let scale = max(w.map(abs).max()!, 1e-12)
            worst = max(worst, zip(p.grad!.toArray(), w).map { abs($0 - $1) }.max()! / scale)
        }
        #expect(worst < 1e-4, "accumulated vs whole-batch gradient: \(worst)")
    }

    @Test func nf4BaseTrains() throws {
        let run = try ScratchRun(steps: 3, extra: "", dropout: 0)
        defer { run.remove() }
        let text = try String(contentsOfFile: run.recipePath, encoding: .utf8)
            .replacingOccurrences(of: "[model]\n", with: "[model]\nquant = \"nf4\"\n")
        try text.write(toFile: run.recipePath, atomically: true, encoding: .utf8)
        let recipe = try Recipe(path: run.recipePath)
        #expect(recipe.model.quant == .nf4)
        let session = try TrainingSession(recipe: recipe)
        let q = try #require(session.language.model.weights.blocks[0].q as? GraftModel.LoRALinear)
        #expect((q.base as? GraftModel.FrozenLinear)?.weight is FourBitMatrix)
        // Steps on one batch: its loss must fall.
        let batch = session.trainer.stream.batches(epoch: 0)[0]
        let losses = (0..<4).map { _ in session.trainer.trainStep([batch], learningRate: 2e-3).loss }
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(losses[3] < losses[0], "NF4 training loss did not fall: \(losses)")
    }
}
