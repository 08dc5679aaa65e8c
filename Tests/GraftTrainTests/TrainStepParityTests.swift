import Foundation
import GraftData
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor
@testable import GraftTrain
import Testing
import GraftTestSupport

/// One training step on a tiny Llama equals torch + PEFT (Scripts/make_train_fixtures.py): the
/// loss, every LoRA gradient, and the LoRA weights after three AdamW steps. The model is the
/// GGUF F32 file (Q/K rows permuted for adjacent-pair RoPE), so lora_B rows of q_proj/k_proj are
/// mapped through the same permutation on the way in and out.
@Suite struct TrainStepParityTests {
    let fixture: SafetensorsFile
    let model: LlamaModel

    init() throws {
        fixture = try SafetensorsFile(path: Fixtures.path("tiny_llama/train_step.safetensors"))
        model = try LlamaModel(path: Fixtures.path("tiny_llama/model.gguf"))
    }

    /// GGUF-order rows for a q/k lora_B (or its gradient) given in HF order.
    func toGGUF(_ name: String, _ t: Tensor) -> Tensor {
        let heads = name.contains("q_proj") ? model.config.headCount : name.contains("k_proj") ? model.config.kvHeadCount : 0
        guard heads > 0, name.contains("lora_B") else { return t }
        let p = RoPERowOrder.ggufFromHF(heads: heads, headDim: model.config.headDim)
        let cols = t.shape[1], v = t.toArray()
        return Tensor(p.flatMap { v[($0 * cols)..<(($0 + 1) * cols)] }, shape: t.shape)
    }

    func setUp() throws -> (LoRAAdapterSet, Batch) {
        var weights: [String: Tensor] = [:]
        for name in fixture.names where name.hasPrefix("init.") {
            let key = String(name.dropFirst(5))
            weights[key] = toGGUF(key, try fixture.tensor(name))
        }
        let adapters = try model.attachLoRA(LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases), weights: weights)
        let ids = try fixture.tensor("input_ids"), labels = try fixture.tensor("labels")
        let (rows, t) = (ids.shape[0], ids.shape[1])
        let tokens = ids.toArray().map { Int32($0) }, l = labels.toArray().map { Int32($0) }
        // transformers shifts labels: position i predicts labels[i + 1].
        var targets = [Int32](repeating: Batch.ignored, count: rows * t)
        for r in 0..<rows { for i in 0..<(t - 1) { targets[r * t + i] = l[r * t + i + 1] } }
        let batch = Batch(rows: rows, length: t, tokens: tokens, targets: targets,
                          positions: (0..<rows).flatMap { _ in (0..<t).map(Int32.init) },
                          segments: [Int32](repeating: 0, count: rows * t), realTokens: rows * t)
        return (adapters, batch)
    }

    func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(b.map(abs).max() ?? 0, 1e-6)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    @Test(arguments: Recomputation.allCases)
    func oneStepEqualsTorchPEFT(recompute: Recomputation) throws {
        let (adapters, batch) = try setUp()
        model.recomputation = recompute
        let trainer = Trainer(model: model, adapters: adapters, stream: BatchStream(examples: [TokenizedExample(tokens: [1, 2], isTarget: [true, true])], packer: Packer(length: 4, packing: false, padToken: 0), batchSize: 1, seed: 0),
                              validation: [], options: .init(steps: 3, gradAccum: 1, schedule: .init(shape: .constant, peak: 1e-2, warmup: 0, totalSteps: 3),
                                                             clip: 0, evalEvery: 0, evalBatches: 0, checkpointEvery: 0),
                              optimizer: AdamW(parameters: adapters.parameters, weightDecay: 0.01), baseSHA256: "", recipeSource: "")
        let loss = trainer.lossSum(batch) * (1 / Float(batch.targetCount))
        let expected = try fixture.tensor("loss").item()
        #expect(abs(loss.item() - expected) / expected <= 1e-5, "loss \(loss.item()) vs torch \(expected)")
        loss.backward()
        var worst: Float = 0
        for (name, tensor) in adapters.namedParameters {
            let reference = toGGUF(name, try fixture.tensor("grad.\(name)"))
            worst = max(worst, maxRelative(tensor.grad!.toArray(), reference.toArray()))
        }
        #expect(worst <= 1e-4, "worst LoRA gradient error \(worst) (relative to each tensor's largest)")
        for p in adapters.parameters { p.zeroGrad() }
    }

    /// Keeping the base's products through recomputation (selective) hands the second run the
    /// very results it would have computed: gradients equal full recomputation's and no
    /// recomputation's bit for bit.
    @Test func recomputationPoliciesGiveIdenticalGradients() throws {
        let (adapters, batch) = try setUp()
        defer { model.recomputation = .none }
        var gradients: [Recomputation: [[Float]]] = [:]
        for policy in Recomputation.allCases {
            model.recomputation = policy
            let loss = crossEntropy(logits: model.logits(model.forward(tokens: batch.tokens, batch: batch.rows, positions: batch.positions,
                                                                       mask: .causalSegments(batch.segments))),
                                    targets: batch.targets)
            loss.backward()
            gradients[policy] = adapters.parameters.map { $0.grad!.toArray() }
            for p in adapters.parameters { p.zeroGrad() }
        }
        #expect(gradients[.selective]! == gradients[.full]!)
        #expect(gradients[.selective]! == gradients[.none]!)
    }

    @Test func threeAdamWStepsEqualTorchPEFT() throws {
        let (adapters, batch) = try setUp()
        var optimizer = AdamW(parameters: adapters.parameters, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01)
        let torchLosses = try fixture.tensor("losses").toArray()
        for step in 0..<3 {
            let loss = crossEntropy(logits: model.logits(model.forward(tokens: batch.tokens, batch: batch.rows, positions: batch.positions,
                                                                       mask: .causalSegments(batch.segments))),
                                    targets: batch.targets)
            #expect(abs(loss.item() - torchLosses[step]) / torchLosses[step] <= 1e-5)
            loss.backward()
            optimizer.update(lr: 1e-2)
        }
        var worst: Float = 0
        for (name, tensor) in adapters.namedParameters {
            let reference = toGGUF(name, try fixture.tensor("after3.\(name)")).toArray()
            worst = max(worst, zip(tensor.toArray(), reference).map { abs($0 - $1) }.max()!)
        }
        #expect(worst <= 1e-5, "worst LoRA weight difference after 3 steps: \(worst)")
    }

    /// QLoRA's bfloat16 compute follows the float32 path: over 30 AdamW steps on the fixture batch
    /// both losses fall by more than half and stay within 2% of each other at every step (the
    /// bfloat16 products differ by ~2⁻⁹ relative per term). Without AMX both are float32: equal.
    @Test func bfloat16TrainingFollowsFloat32() throws {
        func losses(_ kernels: KernelMode) throws -> [Float] {
            let model = try LlamaModel(path: Fixtures.path("tiny_llama/model.gguf"))
            model.kernels = kernels
            let adapters = model.attachLoRA(LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases), seed: 3)
            let (_, batch) = try setUp()
            var optimizer = AdamW(parameters: adapters.parameters, weightDecay: 0)
            return (0..<30).map { _ in
                let loss = crossEntropy(logits: model.logits(model.forward(tokens: batch.tokens, batch: batch.rows, positions: batch.positions,
                                                                           mask: .causalSegments(batch.segments))),
                                        targets: batch.targets)
                loss.backward()
                optimizer.update(lr: 1e-2)
                return loss.item()
            }
        }
        let (exact, bf16) = (try losses(.exact), try losses(.bfloat16))
        #expect(exact.last! < 0.5 * exact.first! && bf16.last! < 0.5 * bf16.first!, "float32 \(exact), bfloat16 \(bf16)")
        let worst = zip(exact, bf16).map { abs($0 - $1) / $0 }.max()!
        #expect(worst < 0.02, "largest relative loss difference \(worst): float32 \(exact), bfloat16 \(bf16)")
        if BFloat16Compute.isAvailable { #expect(worst > 0, "bfloat16 products must differ from float32 somewhere") }
        else { #expect(worst == 0) }
    }
}
