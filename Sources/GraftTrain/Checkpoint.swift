import Foundation
import GraftData
import GraftFormats
import GraftModel
import GraftTensor
#if canImport(Glibc)
import Glibc
#endif

/// Everything a run needs to continue exactly where it stopped: the adapter weights, AdamW's
/// moments and step count, the dropout stream, the position in the data, plus the recipe and
/// the base model's SHA-256 so a checkpoint is never resumed onto another base. Stored as HDF5:
///
///     /adapter/<PEFT key>            Float32, the key's shape
///     /optimizer/m/<PEFT key>, /optimizer/v/<PEFT key>
///     /state/step                    Int64[1]   optimizer steps taken
///     /state/rng                     UInt64[4]  the dropout generator's state
///     /state/data_position           Int64[2]   epoch, batch within the epoch
///     attributes: format, recipe, base_sha256, lora (JSON)
public struct TrainingCheckpoint {
    public static let format = "graft-checkpoint-1"

    public var step: Int
    public var parameters: [(name: String, values: [Float], shape: [Int])]
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]
    public var dropoutState: RandomGenerator
    public var dataPosition: BatchStream.Position
    public var recipeSource: String
    public var baseSHA256: String
    public var lora: LoRAConfig

    /// Writes atomically: to a temporary file in the same folder, flushed to disk, then renamed
    /// over `path`, so a crash at any moment leaves either the old file or the new one.
    public func write(to path: String) throws(FormatError) {
        try AtomicFile.replace(path) { (temp) throws(FormatError) in
            let f = try HDF5File.create(temp)
            try f.setAttribute("format", Self.format)
            try f.setAttribute("recipe", recipeSource)
            try f.setAttribute("base_sha256", baseSHA256)
            let loraJSON = (try? JSONEncoder().encode(lora)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            try f.setAttribute("lora", loraJSON)
            try f.write("state/step", int64s: [Int64(step)])
            try f.write("state/rng", uint64s: [dropoutState.state.0, dropoutState.state.1, dropoutState.state.2, dropoutState.state.3])
            try f.write("state/data_position", int64s: [Int64(dataPosition.epoch), Int64(dataPosition.batch)])
            for (i, p) in parameters.enumerated() {
                try f.write("adapter/\(p.name)", floats: p.values, shape: p.shape)
                try f.write("optimizer/m/\(p.name)", floats: firstMoments[i], shape: p.shape)
                // A test hook: a pause in the middle of the write, so a test can kill the process here.
                if i == parameters.count / 2, let ms = ProcessInfo.processInfo.environment["GRAFT_CHECKPOINT_PAUSE_MS"].flatMap(Int.init) {
                    FileManager.default.createFile(atPath: temp + ".writing", contents: nil)
                    usleep(UInt32(ms) * 1000)
                }
                try f.write("optimizer/v/\(p.name)", floats: secondMoments[i], shape: p.shape)
            }
            try f.close()
        }
    }

    /// Reads and checks a checkpoint written by `write`, with the adapter and optimizer tensors
    /// of `parameterNames` (the run's PEFT keys, in its order); a missing or misshapen tensor is
    /// an error naming it.
    public static func read(_ path: String, parameterNames: [String]) throws(FormatError) -> TrainingCheckpoint {
        let f = try HDF5File.open(path)
        let format = try f.attribute("format")
        guard format == Self.format else {
            throw .invalid(path: path, field: "format", reason: "'\(format)' is not a Graft checkpoint (\(Self.format))")
        }
        let loraText = try f.attribute("lora")
        guard let lora = try? JSONDecoder().decode(LoRAConfig.self, from: Data(loraText.utf8)) else {
            throw .invalid(path: path, field: "lora", reason: "unreadable LoRA configuration")
        }
        let step = try f.int64s("state/step")
        let rng = try f.uint64s("state/rng")
        let position = try f.int64s("state/data_position")
        guard step.count == 1, rng.count == 4, position.count == 2 else {
            throw .invalid(path: path, field: "state", reason: "state vectors have the wrong length")
        }
        var checkpoint = TrainingCheckpoint(
            step: Int(step[0]), parameters: [], firstMoments: [], secondMoments: [],
            dropoutState: RandomGenerator(state: (rng[0], rng[1], rng[2], rng[3])),
            dataPosition: BatchStream.Position(epoch: Int(position[0]), batch: Int(position[1])),
            recipeSource: try f.attribute("recipe"), baseSHA256: try f.attribute("base_sha256"), lora: lora)
        for name in parameterNames {
            let (values, shape) = try f.floats("adapter/\(name)")
            let m = try f.floats("optimizer/m/\(name)"), v = try f.floats("optimizer/v/\(name)")
            guard m.shape == shape, v.shape == shape else {
                throw .invalid(path: path, field: name, reason: "optimizer moments do not match the weight's shape \(shape)")
            }
            checkpoint.parameters.append((name, values, shape))
            checkpoint.firstMoments.append(m.values)
            checkpoint.secondMoments.append(v.values)
        }
        return checkpoint
    }
}

/// The checkpoints of one run: `step-000050.h5` files in a folder, the newest `keep` kept.
public struct CheckpointFolder {
    public let path: String
    public let keep: Int

    public init(path: String, keep: Int) {
        self.path = path
        self.keep = keep
    }

    public func file(step: Int) -> String {
        (path as NSString).appendingPathComponent(String(format: "step-%06d.h5", step))
    }

    /// Completed checkpoints, oldest first (temporary files of interrupted writes are ignored).
    public func checkpoints() -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), name.hasSuffix(".h5"), let step = Int(name.dropFirst(5).dropLast(3)) else { return nil }
            return (step, (path as NSString).appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    public var latest: (step: Int, path: String)? { checkpoints().last }

    /// Writes a checkpoint, then deletes the oldest beyond `keep` and leftovers of interrupted writes.
    public func save(_ checkpoint: TrainingCheckpoint) throws(FormatError) -> String {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        catch { throw .io(path: path, reason: "cannot create the checkpoint folder: \(error.localizedDescription)") }
        let target = file(step: checkpoint.step)
        try checkpoint.write(to: target)
        for old in checkpoints().dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix(".step-") {
            try? FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
        }
        return target
    }
}
