import Foundation

/// Shows training events on a stream: a live one-line bar redrawn in place when the stream is
/// a terminal, plain lines (one per step) when it is a file or a pipe.
public struct ProgressPrinter {
    public let live: Bool
    private let handle: FileHandle
    private var barShown = false

    public init(handle: FileHandle = .standardError, live: Bool? = nil) {
        self.handle = handle
        self.live = live ?? (isatty(handle.fileDescriptor) != 0)
    }

    public mutating func show(_ event: TrainingEvent) {
        switch event {
        case .prepared(let s):
            line("train: \(s.trainExamples) examples, \(s.trainTokens) tokens (\(s.trainTargets) scored), \(s.truncated) truncated; "
                 + "valid: \(s.validExamples) examples, \(s.validTruncated) truncated")
            line("adapters: \(s.adaptedLayers) layers, \(s.trainableParameters) trainable parameters; "
                 + "\(s.steps) steps, \(s.batchesPerEpoch) batches per epoch; base products in \(s.compute)")
        case .resumed(let step, let path):
            line("resumed at step \(step) from \(path)")
        case .step(let r):
            if live {
                let width = 24
                let filled = Int(Double(width) * Double(r.step) / Double(max(r.totalSteps, 1)))
                let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
                write("\r\u{1B}[2K[\(bar)] \(r.step)/\(r.totalSteps) loss \(fmt(r.loss, 4)) lr \(sci(r.learningRate)) "
                      + "\(Int(r.tokensPerSecond)) tok/s ETA \(duration(r.etaSeconds)) mem \(r.peakMemoryBytes >> 20) MiB")
                barShown = true
            } else {
                line("step \(r.step)/\(r.totalSteps) loss \(fmt(r.loss, 4)) lr \(sci(r.learningRate)) grad_norm \(fmt(r.gradientNorm, 3)) "
                     + "tok/s \(Int(r.tokensPerSecond)) elapsed \(duration(r.elapsedSeconds)) eta \(duration(r.etaSeconds)) "
                     + "peak_mem \(r.peakMemoryBytes >> 20) MiB")
            }
        case .evaluation(let e):
            line("eval step \(e.step): val_loss \(fmt(e.loss, 4)) val_ppl \(fmt(e.perplexity, 3)) (\(e.tokens) tokens)")
        case .checkpoint(let step, let path):
            line("checkpoint step \(step): \(path)")
        case .finished(let step, let early):
            line(early ? "stopped at step \(step) (resume with --resume)" : "finished at step \(step)")
        }
    }

    /// A whole line, ending the live bar's line first.
    public mutating func line(_ text: String) {
        if barShown { write("\n"); barShown = false }
        write(text + "\n")
    }

    private func write(_ s: String) { handle.write(Data(s.utf8)) }
}

func fmt(_ x: Float, _ digits: Int) -> String { String(format: "%.\(digits)f", Double(x)) }
func sci(_ x: Float) -> String { String(format: "%.2e", Double(x)) }
func duration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", t / 60 % 60))m" : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
}
