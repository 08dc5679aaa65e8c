/// What a training run reports as it goes; the command line turns these into a progress bar
/// or plain lines, and into the metrics log.
public enum TrainingEvent: Sendable {
    /// Before the first step: what is being trained on what.
    case prepared(TrainingSummary)
    /// Resumed from a checkpoint at `step`.
    case resumed(step: Int, path: String)
    case step(StepReport)
    case evaluation(EvaluationReport)
    case checkpoint(step: Int, path: String)
    /// The run ended at `step` (the recipe's last step, or `--stop-after`).
    case finished(step: Int, stoppedEarly: Bool)
}

public struct TrainingSummary: Sendable {
    public var trainExamples: Int
    public var trainTokens: Int
    public var trainTargets: Int
    public var truncated: Int
    public var validExamples: Int
    public var validTruncated: Int
    public var trainableParameters: Int
    public var adaptedLayers: Int
    public var steps: Int
    public var batchesPerEpoch: Int
    /// The arithmetic of the base's products (recipe key model.compute_dtype).
    public var compute: String
}

public struct StepReport: Sendable, Codable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Float
    public var learningRate: Float
    public var gradientNorm: Float
    /// Tokens (not padding) processed in this step, and per second over it.
    public var tokens: Int
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    public var etaSeconds: Double
    public var peakMemoryBytes: Int
}

public struct EvaluationReport: Sendable, Codable {
    public var step: Int
    public var loss: Float
    public var perplexity: Float
    public var tokens: Int
}
