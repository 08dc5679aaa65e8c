import Foundation
import GraftData
import GraftFormats
import GraftTensor
@testable import GraftTrain
import Testing

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
