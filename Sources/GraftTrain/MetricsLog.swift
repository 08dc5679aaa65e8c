import Foundation

/// The run's metrics as JSON lines (`metrics.jsonl` in the checkpoint folder): one object per
/// step (`"kind": "train"`) and per evaluation (`"kind": "eval"`), appended as they come.
/// Resuming at step k drops the lines after k, so the log always describes the run the weights
/// came from.
public final class MetricsLog {
    public let path: String
    private var lines: [String] = []

    public init(path: String, resumingAt step: Int?) {
        self.path = path
        if let step, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            lines = text.split(separator: "\n").map(String.init).filter { line in
                guard let data = line.data(using: .utf8),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let s = object["step"] as? Int else { return false }
                return s <= step
            }
        }
        flush()
    }

    public func record(_ event: TrainingEvent) {
        var object: [String: Any]
        switch event {
        case .step(let r):
            object = ["kind": "train", "step": r.step, "loss": Double(r.loss), "lr": Double(r.learningRate),
                      "grad_norm": Double(r.gradientNorm), "tokens": r.tokens, "tokens_per_second": r.tokensPerSecond,
                      "elapsed_seconds": r.elapsedSeconds, "peak_memory_bytes": r.peakMemoryBytes]
        case .evaluation(let e):
            object = ["kind": "eval", "step": e.step, "val_loss": Double(e.loss), "val_perplexity": Double(e.perplexity), "tokens": e.tokens]
        default: return
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        let line = String(decoding: data, as: UTF8.self)
        lines.append(line)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            try? handle.close()
        }
    }

    /// (step, loss) of training steps and of evaluations, for the loss curve.
    public var curves: (train: [(Int, Double)], valid: [(Int, Double)]) {
        var train: [(Int, Double)] = [], valid: [(Int, Double)] = []
        for line in lines {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let s = o["step"] as? Int else { continue }
            if let l = o["loss"] as? Double { train.append((s, l)) }
            if let l = o["val_loss"] as? Double { valid.append((s, l)) }
        }
        return (train, valid)
    }

    private func flush() {
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
