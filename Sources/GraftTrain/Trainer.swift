import Foundation
import GraftData
import GraftModel
import GraftTensor

/// The training loop: for each step, `gradAccum` micro-batches forward and backward (the loss
/// of a step is the mean over all its scored tokens, whatever the split), global-norm clipping,
/// one AdamW update at the scheduled rate; evaluation and checkpoints every N steps.
///
/// ```swift
/// let trainer = Trainer(model: model, adapters: adapters, stream: stream, validation: valid,
///                       options: options, optimizer: AdamW(parameters: adapters.parameters),
///                       baseSHA256: hash, recipeSource: recipe.source)
/// try trainer.restore(TrainingCheckpoint.read(path, parameterNames: names), path: path)  // to resume
/// try trainer.run(stopAfter: nil, checkpoints: folder) { event in print(event) }
/// ```
///
/// Everything random (adapter init, dropout, data order) comes from the recipe's seed, and the
/// whole state lives in a checkpoint, so an interrupted and resumed run ends with the same
/// bits as an uninterrupted one.
public final class Trainer {
    public struct Options: Sendable {
        public var steps: Int
        public var gradAccum: Int
        public var schedule: LearningRateSchedule
        public var clip: Float
        public var evalEvery: Int
        public var evalBatches: Int
        public var checkpointEvery: Int

        public init(steps: Int, gradAccum: Int, schedule: LearningRateSchedule, clip: Float, evalEvery: Int,
                    evalBatches: Int, checkpointEvery: Int) {
            self.steps = steps
            self.gradAccum = gradAccum
            self.schedule = schedule
            self.clip = clip
            self.evalEvery = evalEvery
            self.evalBatches = evalBatches
            self.checkpointEvery = checkpointEvery
        }
    }

    public let model: LlamaModel
    public let adapters: LoRAAdapterSet
    public var stream: BatchStream
    public let validation: [Batch]
    public let options: Options
    public var optimizer: AdamW
    public let baseSHA256: String
    public let recipeSource: String
    /// Optimizer steps taken.
    public private(set) var step = 0

    public init(model: LlamaModel, adapters: LoRAAdapterSet, stream: BatchStream, validation: [Batch], options: Options,
                optimizer: AdamW, baseSHA256: String, recipeSource: String) {
        self.model = model
        self.adapters = adapters
        self.stream = stream
        self.validation = validation
        self.options = options
        self.optimizer = optimizer
        self.baseSHA256 = baseSHA256
        self.recipeSource = recipeSource
    }

    /// The summed cross-entropy of a batch's scored tokens (a scalar with history). Logits are
    /// computed for scored positions only: with prompt masking and padding that skips most of the
    /// output head's products (a 49,152-word vocabulary for SmolLM2) and their gradients.
    public func lossSum(_ batch: Batch) -> Tensor {
        let hidden = model.forward(tokens: batch.tokens, batch: batch.rows, positions: batch.positions,
                                   mask: .causalSegments(batch.segments))
        let scored = batch.targets.indices.filter { batch.targets[$0] != Batch.ignored }
        guard !scored.isEmpty, scored.count < batch.targets.count else {
            return crossEntropy(logits: model.logits(hidden), targets: batch.targets, reduction: .sum)
        }
        let rows = embedding(hidden.reshaped([-1, model.config.hiddenSize]), ids: scored.map { Int32($0) })
        return crossEntropy(logits: model.logits(rows), targets: scored.map { batch.targets[$0] }, reduction: .sum)
    }

    /// One optimizer step on `batches` (the micro-batches of this step); returns the loss and
    /// the gradient norm before clipping.
    public func trainStep(_ batches: [Batch], learningRate: Float) -> (loss: Float, gradientNorm: Float) {
        model.dropoutSource?.isTraining = true
        defer { model.dropoutSource?.isTraining = false }
        let scored = batches.reduce(0) { $0 + $1.targetCount }
        var loss: Float = 0
        for batch in batches {
            let l = lossSum(batch) * (1 / Float(max(scored, 1)))
            loss += l.item()
            l.backward()
        }
        let norm = clipGradientNorm(adapters.parameters, maxNorm: options.clip)
        optimizer.update(lr: learningRate)
        return (loss, norm)
    }

    /// Mean loss and perplexity over the validation batches (all, or the first `evalBatches`).
    public func evaluate() -> EvaluationReport {
        let batches = options.evalBatches > 0 ? Array(validation.prefix(options.evalBatches)) : validation
        var sum: Double = 0
        var tokens = 0
        withNoGrad {
            for b in batches {
                sum += Double(lossSum(b).item())
                tokens += b.targetCount
            }
        }
        let loss = Float(sum / Double(max(tokens, 1)))
        return EvaluationReport(step: step, loss: loss, perplexity: Float(Foundation.exp(Double(loss))), tokens: tokens)
    }

    /// The state of the run now, for a checkpoint.
    public func checkpoint() -> TrainingCheckpoint {
        TrainingCheckpoint(
            step: step,
            parameters: adapters.namedParameters.map { ($0.name, $0.tensor.toArray(), $0.tensor.shape) },
            firstMoments: optimizer.firstMoments, secondMoments: optimizer.secondMoments,
            dropoutState: model.dropoutSource?.generator ?? RandomGenerator(seed: 0),
            dataPosition: stream.position, recipeSource: recipeSource, baseSHA256: baseSHA256, lora: adapters.config)
    }

    /// Restores a checkpoint's state; its base hash and LoRA settings must match this run's.
    public func restore(_ c: TrainingCheckpoint, path: String) throws(TrainingError) {
        guard c.baseSHA256 == baseSHA256 else { throw .baseMismatch(checkpoint: path, expected: baseSHA256, found: c.baseSHA256) }
        guard c.lora == adapters.config else { throw .checkpointMismatch(path: path, reason: "its LoRA settings differ from the recipe's") }
        let named = adapters.namedParameters
        guard c.parameters.count == named.count else { throw .checkpointMismatch(path: path, reason: "it holds \(c.parameters.count) adapter tensors, the run has \(named.count)") }
        for (i, (name, tensor)) in named.enumerated() {
            let saved = c.parameters[i]
            guard saved.name == name, saved.shape == tensor.shape else {
                throw .checkpointMismatch(path: path, reason: "tensor \(i) is \(saved.name) \(saved.shape), the run has \(name) \(tensor.shape)")
            }
            tensor.withUnsafeMutableBufferPointer { b in for j in b.indices { b[j] = saved.values[j] } }
        }
        let epochBatches = stream.batches(epoch: c.dataPosition.epoch).count
        guard c.dataPosition.epoch >= 0, c.dataPosition.batch >= 0, c.dataPosition.batch < epochBatches else {
            throw .checkpointMismatch(path: path, reason: "its data position (epoch \(c.dataPosition.epoch), batch \(c.dataPosition.batch)) "
                                      + "is outside this recipe's data (\(epochBatches) batches an epoch): the dataset or batch size changed")
        }
        optimizer.firstMoments = c.firstMoments
        optimizer.secondMoments = c.secondMoments
        optimizer.step = c.step
        model.dropoutSource?.generator = c.dropoutState
        stream.seek(to: c.dataPosition)
        step = c.step
    }

    /// Trains until the last step, or until `stopAfter` (a checkpoint is written there, as if
    /// the run had been interrupted right after it). Calls `report` with every event.
    public func run(stopAfter: Int?, checkpoints: CheckpointFolder?, report: (TrainingEvent) -> Void) throws {
        let start = Date()
        let firstStep = step
        let end = min(options.steps, stopAfter ?? options.steps)
        while step < end {
            let stepStart = Date()
            let batches = (0..<options.gradAccum).map { _ in stream.next() }
            let lr = options.schedule.rate(step)
            let (loss, norm) = trainStep(batches, learningRate: lr)
            step += 1
            guard loss.isFinite else { throw TrainingError.diverged(step: step, loss: loss) }
            let tokens = batches.reduce(0) { $0 + $1.realTokens }
            let elapsed = Date().timeIntervalSince(start)
            let perStep = elapsed / Double(step - firstStep)
            report(.step(StepReport(step: step, totalSteps: options.steps, loss: loss, learningRate: lr, gradientNorm: norm,
                                    tokens: tokens, tokensPerSecond: Double(tokens) / Date().timeIntervalSince(stepStart),
                                    elapsedSeconds: elapsed, etaSeconds: perStep * Double(options.steps - step),
                                    peakMemoryBytes: ProcessMemory.peakResidentBytes())))
            let last = step == options.steps
            if !validation.isEmpty && ((options.evalEvery > 0 && step % options.evalEvery == 0) || last) {
                report(.evaluation(evaluate()))
            }
            if let checkpoints, (options.checkpointEvery > 0 && step % options.checkpointEvery == 0) || last || step == stopAfter {
                report(.checkpoint(step: step, path: try checkpoints.save(checkpoint())))
            }
        }
        report(.finished(step: step, stoppedEarly: step < options.steps))
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case baseMismatch(checkpoint: String, expected: String, found: String)
    case checkpointMismatch(path: String, reason: String)
    case diverged(step: Int, loss: Float)
    case nothingToResume(folder: String)
    case runExists(folder: String, step: Int)

    public var description: String {
        switch self {
        case .baseMismatch(let path, let expected, let found):
            "\(path): the checkpoint was trained on a base with SHA-256 \(found), this recipe's model is \(expected)"
        case .checkpointMismatch(let path, let reason): "\(path): cannot resume: \(reason)"
        case .diverged(let step, let loss): "training diverged at step \(step): loss is \(loss)"
        case .nothingToResume(let folder): "--resume: no checkpoint in \(folder)"
        case .runExists(let folder, let step):
            "\(folder) already holds a run (checkpoint at step \(step)): pass --resume to continue it, or remove the folder to start over"
        }
    }
}
