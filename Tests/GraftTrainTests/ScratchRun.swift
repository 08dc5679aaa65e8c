import Foundation
import GraftTestSupport

/// A scratch folder with a small recipe on SmolLM2 and a text dataset, for end-to-end runs.
struct ScratchRun {
    let folder: String
    var recipePath: String { folder + "/recipe.toml" }
    var checkpointDir: String { folder + "/runs" }

    init(steps: Int, extra: String = "", dropout: Double = 0.1) throws {
        folder = NSTemporaryDirectory() + "graft-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lines = (0..<16).map { i in
            "{\"messages\": [{\"role\": \"user\", \"content\": \"What is \(i) plus \(i)?\"}, {\"role\": \"assistant\", \"content\": \"\(i) plus \(i) is \(2 * i).\"}]}"
        }
        try lines.joined(separator: "\n").write(toFile: folder + "/train.jsonl", atomically: true, encoding: .utf8)
        try lines.prefix(4).joined(separator: "\n").write(toFile: folder + "/valid.jsonl", atomically: true, encoding: .utf8)
        let recipe = """
        [model]
        path = "\(Models.smolLM2)"
        [lora]
        rank = 4
        alpha = 8
        dropout = \(dropout)
        targets = ["q_proj", "v_proj", "down_proj"]
        [data]
        train = "train.jsonl"
        valid = "valid.jsonl"
        max_length = 48
        [train]
        steps = \(steps)
        batch_size = 2
        lr = 1e-3
        warmup = 1
        seed = 5
        \(extra)
        [eval]
        every = 0
        batches = 1
        [checkpoint]
        every = 0
        dir = "runs"
        [output]
        adapter = "scratch"
        dir = "adapters"
        """
        try recipe.write(toFile: recipePath, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
