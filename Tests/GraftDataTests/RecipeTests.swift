import Foundation
import GraftTensor
@testable import GraftData
import Testing

/// Recipes: the issue's example parses to the documented values, paths resolve against the
/// recipe's folder, and every kind of mistake is an error naming the key and its line.
@Suite struct RecipeTests {
    static let example = """
    [model]
    path = "../models/SmolLM2-135M-Instruct.Q4_1.gguf"
    quant = "gguf"            # gguf | nf4 | fp4
    [lora]
    rank = 8
    alpha = 16
    dropout = 0.05
    targets = ["q_proj", "v_proj"]   # or "all-linear"
    rslora = false
    dora = false
    [data]
    train = "../Datasets/NAME/train.jsonl"
    valid = "../Datasets/NAME/valid.jsonl"
    mask_prompt = true
    max_length = 512
    packing = true
    [train]
    steps = 200
    batch_size = 4
    grad_accum = 1
    lr = 2e-4
    weight_decay = 0.0
    schedule = "cosine"       # constant | linear | cosine
    warmup = 10
    clip = 1.0
    recompute = true
    seed = 0
    [eval]
    every = 50
    [checkpoint]
    every = 50
    dir = "../runs/NAME"
    keep = 3
    [output]
    adapter = "NAME"
    """

    func parse(_ text: String) throws(RecipeError) -> Recipe { try Recipe(source: text, path: "/work/r/Recipes/x.toml") }

    func error(_ text: String) -> RecipeError? {
        do { _ = try parse(text); return nil } catch { return error }
    }

    @Test func issueExampleParses() throws {
        let r = try parse(Self.example)
        #expect(r.model.path == "/work/r/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        #expect(r.model.quant == .gguf && r.model.computeType == .float32)
        let bf16 = try parse(Self.example.replacingOccurrences(of: "quant = \"gguf\"", with: "quant = \"gguf\"\ncompute_dtype = \"bfloat16\""))
        #expect(bf16.model.computeType == .bfloat16)
        #expect(r.lora == Recipe.LoRA(rank: 8, alpha: 16, dropout: 0.05, targets: ["q_proj", "v_proj"], rslora: false, dora: false))
        #expect(r.data.train == "/work/r/Datasets/NAME/train.jsonl" && r.data.valid == "/work/r/Datasets/NAME/valid.jsonl")
        #expect(r.data.maskPrompt && r.data.maxLength == 512 && r.data.packing)
        #expect(r.train.steps == 200 && r.train.batchSize == 4 && r.train.gradAccum == 1 && r.train.lr == 2e-4)
        #expect(r.train.schedule == .cosine && r.train.warmup == 10 && r.train.clip == 1 && r.train.recompute == .full && r.train.seed == 0)
        #expect(r.eval.every == 50 && r.checkpoint.every == 50 && r.checkpoint.keep == 3)
        #expect(r.checkpoint.dir == "/work/r/runs/NAME" && r.output.adapter == "NAME")
    }

    @Test func unknownKeyNamesKeyAndLine() {
        let text = Self.example.replacingOccurrences(of: "warmup = 10", with: "warmup_steps = 10")
        #expect(error(text) == .unknownKey(path: "/work/r/Recipes/x.toml", key: "train.warmup_steps", line: 24,
                                           known: ["steps", "batch_size", "grad_accum", "lr", "weight_decay", "schedule", "warmup",
                                                   "min_lr_ratio", "clip", "recompute", "seed", "beta1", "beta2", "eps"]))
        let table = error(Self.example + "\n[optimizer]\nname = \"adamw\"")
        #expect(table?.description == "/work/r/Recipes/x.toml:36: unknown table [optimizer]", "\(String(describing: table))")
    }

    @Test func wrongTypeNamesKeyAndLine() {
        let e = error(Self.example.replacingOccurrences(of: "steps = 200", with: "steps = \"200\""))
        #expect(e?.description == "/work/r/Recipes/x.toml:18: 'train.steps' must be an integer, found a string (\"200\")")
        let f = error(Self.example.replacingOccurrences(of: "packing = true", with: "packing = 1"))
        #expect(f?.description == "/work/r/Recipes/x.toml:16: 'data.packing' must be true or false, found an integer (1)")
    }

    @Test func outOfRangeValues() {
        for (from, to, key) in [("rank = 8", "rank = 0", "lora.rank"), ("dropout = 0.05", "dropout = 1.5", "lora.dropout"),
                                ("lr = 2e-4", "lr = -1.0", "train.lr"), ("schedule = \"cosine\"", "schedule = \"step\"", "train.schedule"),
                                ("quant = \"gguf\"", "quant = \"int8\"", "model.quant"), ("keep = 3", "keep = 0", "checkpoint.keep"),
                                ("targets = [\"q_proj\", \"v_proj\"]", "targets = [\"q_proj\", \"lm_head\"]", "lora.targets"),
                                ("warmup = 10", "warmup = 300", "train.warmup"),
                                ("quant = \"gguf\"", "quant = \"gguf\"\ncompute_dtype = \"float16\"", "model.compute_dtype")] {
            guard case .outOfRange(_, let k, _, _)? = error(Self.example.replacingOccurrences(of: from, with: to)) else {
                Issue.record("\(to) was accepted")
                continue
            }
            #expect(k == key)
        }
    }

    @Test func missingRequiredKeyAndSyntaxErrors() {
        #expect(error(Self.example.replacingOccurrences(of: "adapter = \"NAME\"", with: "")) == .missing(path: "/work/r/Recipes/x.toml", key: "output.adapter"))
        guard case .syntax(_, let line, _, _)? = error("[model]\npath = \"x\"\nrank = = 3") else {
            Issue.record("bad TOML was accepted")
            return
        }
        #expect(line == 3)
        #expect(throws: RecipeError.self) { try Recipe(path: "/nonexistent/recipe.toml") }
    }

    /// `train.recompute`: booleans (true is full, as before policies existed) or a policy's name; anything else names
    /// the key, its line and the accepted values.
    @Test func recomputationPolicies() throws {
        for (value, expected) in [("false", Recomputation.none), ("true", .full), ("\"selective\"", .selective),
                                  ("\"full\"", .full), ("\"none\"", .none)] {
            let r = try parse(Self.example.replacingOccurrences(of: "recompute = true", with: "recompute = \(value)"))
            #expect(r.train.recompute == expected, "recompute = \(value)")
        }
        let e = error(Self.example.replacingOccurrences(of: "recompute = true", with: "recompute = \"some\""))
        #expect(e?.description.hasPrefix("/work/r/Recipes/x.toml:26: 'train.recompute' must be one of \"none\", \"selective\", \"full\"") == true,
                "\(String(describing: e))")
        let f = error(Self.example.replacingOccurrences(of: "recompute = true", with: "recompute = 2"))
        #expect(f?.description == "/work/r/Recipes/x.toml:26: 'train.recompute' must be true, false, \"selective\" or \"full\", found an integer (2)",
                "\(String(describing: f))")
    }

    @Test func allLinearTargets() throws {
        let r = try parse(Self.example.replacingOccurrences(of: "targets = [\"q_proj\", \"v_proj\"]", with: "targets = \"all-linear\""))
        #expect(r.lora.targets == ["all-linear"])
    }
}
