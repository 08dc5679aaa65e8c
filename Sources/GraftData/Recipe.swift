import Foundation
import GraftTensor
import TOMLKit

/// A training recipe, read from TOML. Paths are relative to the recipe's folder and stored
/// resolved. Every key is checked: an unknown table or key, a value of the wrong type or out of
/// range is an error naming the key and its line.
///
/// ```toml
/// [model]
/// path = "../models/SmolLM2-135M-Instruct.Q4_1.gguf"
/// quant = "gguf"            # gguf | nf4 | fp4
/// compute_dtype = "float32" # float32 | bfloat16
/// [lora]
/// rank = 8
/// alpha = 16
/// targets = ["q_proj", "v_proj"]   # or "all-linear"
/// [data]
/// train = "../Datasets/sql/train.jsonl"
/// [train]
/// steps = 200
/// [output]
/// adapter = "sql"
/// ```
public struct Recipe: Sendable, Equatable {
    public enum BaseQuantization: String, Sendable, CaseIterable {
        /// The GGUF file's blocks as loaded.
        case gguf
        /// Re-quantized to bitsandbytes NF4 / FP4 with double quantization (formats.md §6).
        case nf4, fp4
    }

    public enum Schedule: String, Sendable, CaseIterable { case constant, linear, cosine }

    /// The arithmetic of the frozen base's products, as bitsandbytes' `bnb_4bit_compute_dtype`.
    public enum ComputeType: String, Sendable, CaseIterable {
        /// Exact: the dequantized weights times float32 activations (what the parity tests hold).
        case float32
        /// Weights and activations rounded to bfloat16, float32 sums, on AMX tiles; about twice
        /// the speed where the CPU has AMX, float32 where it has none.
        case bfloat16
    }

    public struct Model: Sendable, Equatable {
        public var path: String
        public var quant: BaseQuantization = .gguf
        /// Block size of NF4/FP4 re-quantization (bitsandbytes' default 64).
        public var blockSize = 64
        public var computeType: ComputeType = .float32
    }

    public struct LoRA: Sendable, Equatable {
        public var rank = 8
        public var alpha: Float = 16
        public var dropout: Float = 0
        /// Module names (`q_proj` … `down_proj`) or `["all-linear"]`.
        public var targets = ["q_proj", "v_proj"]
        public var rslora = false
        public var dora = false
        /// An adapter to continue training from (a registry reference or a folder): its weights
        /// replace the fresh initialisation, and the new version records it as its parent.
        public var from: String?
    }

    public struct Data: Sendable, Equatable {
        public var train: String
        public var valid: String?
        public var maskPrompt = true
        public var maxLength = 512
        public var packing = true
    }

    public struct Train: Sendable, Equatable {
        public var steps = 200
        public var batchSize = 4
        public var gradAccum = 1
        public var lr: Float = 2e-4
        public var weightDecay: Float = 0
        public var schedule: Schedule = .cosine
        public var warmup = 0
        /// Learning rate at the end of a linear or cosine schedule, as a fraction of `lr`.
        public var minLRRatio: Float = 0
        /// Global gradient-norm limit; 0 turns clipping off.
        public var clip: Float = 1
        /// Activation recomputation: `false` keeps everything, `true` or `"full"` recomputes whole
        /// blocks (as `gradient_checkpointing` does), `"selective"` keeps only the frozen base's
        /// product outputs and recomputes the rest.
        public var recompute: Recomputation = .full
        public var seed: UInt64 = 0
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var eps: Float = 1e-8
    }

    public struct Eval: Sendable, Equatable {
        /// Steps between evaluations; 0 evaluates only at the end.
        public var every = 50
        /// Validation batches per evaluation; 0 means the whole validation set.
        public var batches = 0
    }

    public struct Checkpoint: Sendable, Equatable {
        /// Steps between checkpoints; 0 writes one only at the end (and at `--stop-after`).
        public var every = 50
        public var dir: String
        /// How many checkpoints to keep (the newest).
        public var keep = 3
    }

    public struct Output: Sendable, Equatable {
        public var adapter: String
        /// Where the finished adapter is written (`<dir>/<adapter>/`).
        public var dir: String
    }

    public var model: Model
    public var lora = LoRA()
    public var data: Data
    public var train = Train()
    public var eval = Eval()
    public var checkpoint: Checkpoint
    public var output: Output
    /// The recipe file and its text (saved in checkpoints, so a run records what made it).
    public var path: String
    public var source: String

    /// Reads and validates the recipe at `path`.
    public init(path: String) throws(RecipeError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) }
        catch { throw .unreadable(path: path, reason: (error as NSError).localizedDescription) }
        try self.init(source: text, path: path)
    }

    /// Parses recipe text; relative paths are resolved against `path`'s folder.
    public init(source: String, path: String) throws(RecipeError) {
        let table: TOMLTable
        do { table = try TOMLTable(string: source) }
        catch let error as TOMLParseError {
            throw .syntax(path: path, line: error.source.begin.line, column: error.source.begin.column, reason: error.description)
        } catch { throw .syntax(path: path, line: 1, column: 1, reason: "\(error)") }
        let r = RecipeReader(table: table, lines: RecipeLines(source: source), path: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : folder.appendingPathComponent(p).standardizedFileURL.path
        }
        try r.checkTables(["model", "lora", "data", "train", "eval", "checkpoint", "output"])

        try r.checkKeys("model", ["path", "quant", "block_size", "compute_dtype"])
        model = Model(path: resolve(try r.required("model.path", r.string)))
        if let q = try r.optional("model.quant", r.string) { model.quant = try r.choice("model.quant", q, BaseQuantization.self) }
        if let c = try r.optional("model.compute_dtype", r.string) {
            model.computeType = try r.choice("model.compute_dtype", c, ComputeType.self)
        }
        if let v = try r.optional("model.block_size", r.int) {
            guard [32, 64, 128, 256, 512, 1024, 2048, 4096].contains(v) else {
                throw r.range("model.block_size", "must be one of 32, 64, 128, … 4096 (bitsandbytes' block sizes), found \(v)")
            }
            model.blockSize = v
        }

        try r.checkKeys("lora", ["rank", "alpha", "dropout", "targets", "rslora", "dora", "from"])
        if let v = try r.optional("lora.rank", r.int) {
            guard v >= 1 else { throw r.range("lora.rank", "must be at least 1, found \(v)") }
            lora.rank = v
        }
        if let v = try r.optional("lora.alpha", r.number) {
            guard v > 0 else { throw r.range("lora.alpha", "must be positive, found \(v)") }
            lora.alpha = Float(v)
        }
        if let v = try r.optional("lora.dropout", r.number) {
            guard v >= 0 && v < 1 else { throw r.range("lora.dropout", "must be in [0, 1), found \(v)") }
            lora.dropout = Float(v)
        }
        if let v = try r.optional("lora.targets", r.stringOrStrings) {
            let known = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
            guard !v.isEmpty else { throw r.range("lora.targets", "names no module") }
            for name in v where !(known.contains(name) || (name == "all-linear" && v.count == 1)) {
                throw r.range("lora.targets", "has unknown module '\(name)' (use \(known.joined(separator: ", ")) or \"all-linear\")")
            }
            lora.targets = v
        }
        if let v = try r.optional("lora.rslora", r.bool) { lora.rslora = v }
        if let v = try r.optional("lora.dora", r.bool) { lora.dora = v }
        if let v = try r.optional("lora.from", r.string) {
            guard !v.isEmpty else { throw r.range("lora.from", "names no adapter") }
            lora.from = v
        }

        try r.checkKeys("data", ["train", "valid", "mask_prompt", "max_length", "packing"])
        data = Data(train: resolve(try r.required("data.train", r.string)))
        data.valid = try r.optional("data.valid", r.string).map(resolve)
        if let v = try r.optional("data.mask_prompt", r.bool) { data.maskPrompt = v }
        if let v = try r.optional("data.max_length", r.int) {
            guard v >= 2 else { throw r.range("data.max_length", "must be at least 2 tokens, found \(v)") }
            data.maxLength = v
        }
        if let v = try r.optional("data.packing", r.bool) { data.packing = v }

        try r.checkKeys("train", ["steps", "batch_size", "grad_accum", "lr", "weight_decay", "schedule", "warmup",
                                  "min_lr_ratio", "clip", "recompute", "seed", "beta1", "beta2", "eps"])
        func positiveInt(_ key: String) throws(RecipeError) -> Int? {
            guard let v = try r.optional(key, r.int) else { return nil }
            guard v >= 1 else { throw r.range(key, "must be at least 1, found \(v)") }
            return v
        }
        if let v = try positiveInt("train.steps") { train.steps = v }
        if let v = try positiveInt("train.batch_size") { train.batchSize = v }
        if let v = try positiveInt("train.grad_accum") { train.gradAccum = v }
        if let v = try r.optional("train.lr", r.number) {
            guard v > 0 && v < 1 else { throw r.range("train.lr", "must be in (0, 1), found \(v)") }
            train.lr = Float(v)
        }
        if let v = try r.optional("train.weight_decay", r.number) {
            guard v >= 0 else { throw r.range("train.weight_decay", "must not be negative, found \(v)") }
            train.weightDecay = Float(v)
        }
        if let v = try r.optional("train.schedule", r.string) { train.schedule = try r.choice("train.schedule", v, Schedule.self) }
        if let v = try r.optional("train.warmup", r.int) {
            guard v >= 0 else { throw r.range("train.warmup", "must not be negative, found \(v)") }
            train.warmup = v
        }
        if let v = try r.optional("train.min_lr_ratio", r.number) {
            guard v >= 0 && v <= 1 else { throw r.range("train.min_lr_ratio", "must be in [0, 1], found \(v)") }
            train.minLRRatio = Float(v)
        }
        if let v = try r.optional("train.clip", r.number) {
            guard v >= 0 else { throw r.range("train.clip", "must not be negative (0 turns clipping off), found \(v)") }
            train.clip = Float(v)
        }
        if let v = try r.optional("train.recompute", r.recomputation) { train.recompute = v }
        if let v = try r.optional("train.seed", r.int) {
            guard v >= 0 else { throw r.range("train.seed", "must not be negative, found \(v)") }
            train.seed = UInt64(v)
        }
        if let v = try r.optional("train.beta1", r.number) {
            guard v >= 0 && v < 1 else { throw r.range("train.beta1", "must be in [0, 1), found \(v)") }
            train.beta1 = Float(v)
        }
        if let v = try r.optional("train.beta2", r.number) {
            guard v >= 0 && v < 1 else { throw r.range("train.beta2", "must be in [0, 1), found \(v)") }
            train.beta2 = Float(v)
        }
        if let v = try r.optional("train.eps", r.number) {
            guard v > 0 else { throw r.range("train.eps", "must be positive, found \(v)") }
            train.eps = Float(v)
        }
        if train.warmup >= train.steps && train.schedule != .constant {
            throw r.range("train.warmup", "(\(train.warmup)) must be below train.steps (\(train.steps))")
        }

        try r.checkKeys("eval", ["every", "batches"])
        if let v = try r.optional("eval.every", r.int) {
            guard v >= 0 else { throw r.range("eval.every", "must not be negative (0: only at the end), found \(v)") }
            eval.every = v
        }
        if let v = try r.optional("eval.batches", r.int) {
            guard v >= 0 else { throw r.range("eval.batches", "must not be negative (0: all), found \(v)") }
            eval.batches = v
        }

        try r.checkKeys("output", ["adapter", "dir"])
        let name = try r.required("output.adapter", r.string)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
            throw r.range("output.adapter", "must be a name of letters, digits, '-', '_' or '.', found '\(name)'")
        }
        output = Output(adapter: name, dir: resolve(try r.optional("output.dir", r.string) ?? "../adapters"))

        try r.checkKeys("checkpoint", ["every", "dir", "keep"])
        checkpoint = Checkpoint(dir: resolve(try r.optional("checkpoint.dir", r.string) ?? "../runs/\(name)"))
        if let v = try r.optional("checkpoint.every", r.int) {
            guard v >= 0 else { throw r.range("checkpoint.every", "must not be negative (0: only at the end), found \(v)") }
            checkpoint.every = v
        }
        if let v = try r.optional("checkpoint.keep", r.int) {
            guard v >= 1 else { throw r.range("checkpoint.keep", "must be at least 1, found \(v)") }
            checkpoint.keep = v
        }
        self.path = path
        self.source = source
    }
}
