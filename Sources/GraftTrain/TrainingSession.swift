import Foundation
import GraftData
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor

/// A recipe turned into a ready `Trainer`: the base loaded (and re-quantized when the recipe
/// asks for NF4/FP4), its SHA-256 taken, adapters attached from the seed, the datasets read,
/// checked, tokenized and packed. Every input problem surfaces here, before the first step.
public struct TrainingSession {
    public let recipe: Recipe
    public let language: LanguageModel
    public let adapters: LoRAAdapterSet
    public let trainer: Trainer
    public let summary: TrainingSummary
    public let checkpoints: CheckpointFolder

    /// - steps: overrides the recipe's step count (the schedule follows the new count).
    /// `initialWeights`: the adapter to continue from, by PEFT key (as `LoRAAdapterSet`
    /// names them), instead of PEFT's initialisation from the recipe's seed.
    public init(recipe: Recipe, steps: Int? = nil, initialWeights: [String: Tensor]? = nil) throws {
        self.recipe = recipe
        guard FileManager.default.fileExists(atPath: recipe.model.path) else {
            throw FormatError.io(path: recipe.model.path, reason: "the model file does not exist (recipe key model.path)")
        }
        language = try LanguageModel(path: recipe.model.path, forDecoding: false)
        let model = language.model
        switch recipe.model.quant {
        case .gguf: break
        case .nf4: model.requantize(.nf4, blockSize: recipe.model.blockSize)
        case .fp4: model.requantize(.fp4, blockSize: recipe.model.blockSize)
        }
        let baseHash = try ContentHash.sha256(path: recipe.model.path)
        model.kernels = recipe.model.computeType == .bfloat16 ? .bfloat16 : .exact
        model.recomputation = recipe.train.recompute
        let dropout = DropoutSource(seed: recipe.train.seed &+ 0xD0)
        model.dropoutSource = dropout
        let lora = LoRAConfig(rank: recipe.lora.rank, alpha: recipe.lora.alpha, dropout: recipe.lora.dropout,
                              targets: try LoRAConfig.targets(named: recipe.lora.targets), rsLoRA: recipe.lora.rslora,
                              dora: recipe.lora.dora)
        if let initialWeights {
            adapters = try model.attachLoRA(lora, weights: initialWeights, dropout: dropout)
        } else {
            adapters = model.attachLoRA(lora, seed: recipe.train.seed, dropout: dropout)
        }

        let encoder = ExampleEncoder(tokenizer: language.tokenizer, template: language.chatTemplate,
                                     maskPrompt: recipe.data.maskPrompt, maxLength: recipe.data.maxLength)
        let train = try encoder.encode(JSONLDataset(path: recipe.data.train))
        var valid: (examples: [TokenizedExample], summary: ExampleEncoder.Summary) = ([], .init())
        if let path = recipe.data.valid { valid = try encoder.encode(JSONLDataset(path: path)) }
        let packer = Packer(length: recipe.data.maxLength, packing: recipe.data.packing,
                            padToken: language.tokenizer.eosID ?? 0)
        let stream = BatchStream(examples: train.examples, packer: packer, batchSize: recipe.train.batchSize, seed: recipe.train.seed)
        let validRows = packer.rows(valid.examples)
        let validation = stride(from: 0, to: validRows.count, by: recipe.train.batchSize).map {
            packer.batch(Array(validRows[$0..<min($0 + recipe.train.batchSize, validRows.count)]))
        }
        let totalSteps = steps ?? recipe.train.steps
        let schedule = LearningRateSchedule(shape: LearningRateSchedule.Shape(rawValue: recipe.train.schedule.rawValue)!,
                                            peak: recipe.train.lr, warmup: recipe.train.warmup, totalSteps: totalSteps,
                                            minRatio: recipe.train.minLRRatio)
        let optimizer = AdamW(parameters: adapters.parameters, beta1: recipe.train.beta1, beta2: recipe.train.beta2,
                              eps: recipe.train.eps, weightDecay: recipe.train.weightDecay)
        let options = Trainer.Options(steps: totalSteps, gradAccum: recipe.train.gradAccum, schedule: schedule,
                                      clip: recipe.train.clip, evalEvery: recipe.eval.every, evalBatches: recipe.eval.batches,
                                      checkpointEvery: recipe.checkpoint.every)
        trainer = Trainer(model: model, adapters: adapters, stream: stream, validation: validation, options: options,
                          optimizer: optimizer, baseSHA256: baseHash, recipeSource: recipe.source)
        checkpoints = CheckpointFolder(path: recipe.checkpoint.dir, keep: recipe.checkpoint.keep)
        summary = TrainingSummary(trainExamples: train.summary.examples, trainTokens: train.summary.tokens,
                                  trainTargets: train.summary.targets, truncated: train.summary.truncated,
                                  validExamples: valid.summary.examples, validTruncated: valid.summary.truncated,
                                  trainableParameters: adapters.parameterCount, adaptedLayers: adapters.layers.count,
                                  steps: totalSteps, batchesPerEpoch: stream.batches(epoch: 0).count,
                                  compute: Self.describe(recipe.model.computeType))
    }

    /// How the base's products run, for the summary: bfloat16 without AMX says it runs float32.
    static func describe(_ compute: Recipe.ComputeType) -> String {
        switch compute {
        case .float32: return "float32"
        case .bfloat16 where BFloat16Compute.isAvailable: return "bfloat16 (\(BFloat16Compute.engine!.rawValue))"
        case .bfloat16: return "float32 (bfloat16 asked, but this CPU has neither AMX nor AVX512-BF16)"
        }
    }

    /// Continues from the newest checkpoint in the recipe's checkpoint folder.
    public func resumeLatest() throws -> (step: Int, path: String) {
        guard let latest = checkpoints.latest else { throw TrainingError.nothingToResume(folder: checkpoints.path) }
        let c = try TrainingCheckpoint.read(latest.path, parameterNames: adapters.namedParameters.map(\.name))
        try trainer.restore(c, path: latest.path)
        return latest
    }
}
