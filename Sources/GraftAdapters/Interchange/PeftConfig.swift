import Foundation
import GraftFormats
import GraftModel

/// PEFT's `adapter_config.json` (formats.md §4.2), read strictly: every key PEFT 0.21 writes is
/// known, and a setting graft cannot honour exactly (another `peft_type`, a bias, modules saved
/// whole, per-layer or per-module ranks, targets it has no layer for, initialisations that
/// rewrite the base) is refused with an error naming the file and the key, instead of loading an
/// adapter that would compute something else. Unknown keys are refused the same way.
public enum PeftConfig {
    /// Keys whose value never changes what the adapter computes at inference.
    static let ignored: Set<String> = [
        "task_type", "auto_mapping", "peft_version", "base_model_name_or_path", "revision", "inference_mode",
        "megatron_config", "megatron_core", "eva_config", "corda_config", "lora_ga_config", "velora_config",
        "qalora_group_size", "monteclora_config", "arrow_config", "kasa_config", "ensure_weight_tying",
        "loftq_config", "layers_pattern", "lora_dropout",
    ]
    /// Keys that must be absent, null, false or empty, with what they would ask for.
    static let unsupported: [String: String] = [
        "modules_to_save": "modules trained and saved whole",
        "layers_to_transform": "adapting only some layers",
        "rank_pattern": "per-module ranks",
        "alpha_pattern": "per-module alphas",
        "exclude_modules": "excluded modules",
        "trainable_token_indices": "trainable token embeddings",
        "alora_invocation_tokens": "activated LoRA",
        "use_qalora": "QA-LoRA",
        "target_parameters": "LoRA on parameters",
        "layer_replication": "layer replication",
        "use_bdlora": "BD-LoRA",
        "fan_in_fan_out": "transposed (Conv1D) weights",
        "lora_bias": "a bias on lora_B",
    ]
    static let handled: Set<String> = ["peft_type", "r", "lora_alpha", "target_modules", "bias", "use_rslora", "use_dora", "init_lora_weights"]

    /// The LoRA settings of the config at `path`.
    public static func read(path: String) throws(FormatError) -> LoRAConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path: path, reason: "no such file") }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws(FormatError) -> LoRAConfig {
        guard case .object(let o) = try JSONValue.parse(data, path: path) else {
            throw .invalid(path: path, field: nil, reason: "must be a JSON object")
        }
        func bad(_ key: String, _ reason: String) -> FormatError { .invalid(path: path, field: key, reason: reason) }
        for key in o.keys.sorted() where !ignored.contains(key) && unsupported[key] == nil && !handled.contains(key) {
            throw bad(key, "is not a key PEFT's LoraConfig has; graft cannot tell what it would change")
        }
        for key in unsupported.keys.sorted() {
            switch o[key] {
            case nil, .null?, .bool(false)?: continue
            case .array(let a)? where a.isEmpty: continue
            case .object(let d)? where d.isEmpty: continue
            case let v?: throw bad(key, "\(unsupported[key]!) is not supported (found \(v.kind)\(v == .bool(true) ? " true" : ""))")
            }
        }
        guard case .string(let type)? = o["peft_type"] else { throw bad("peft_type", "is missing or not a string") }
        guard type == "LORA" else { throw bad("peft_type", "'\(type)' is not LORA; graft reads LoRA adapters only") }
        if let bias = o["bias"], bias != .string("none") {
            throw bad("bias", "must be \"none\" (found \(bias)); graft's adapters carry no biases")
        }
        if case .string(let initName)? = o["init_lora_weights"],
           ["pissa", "olora", "corda", "loftq"].contains(where: initName.hasPrefix) {
            throw bad("init_lora_weights", "'\(initName)' rewrites the base weights; convert the adapter to plain LoRA in PEFT first")
        }
        var rank = 8
        if let v = o["r"] {
            guard case .int(let r) = v, r > 0, r <= 65536 else { throw bad("r", "must be a positive integer, found \(v)") }
            rank = r
        }
        var alpha: Float = 8
        if let v = o["lora_alpha"] {
            guard let a = v.double, a.isFinite, a > 0 else { throw bad("lora_alpha", "must be a positive number, found \(v)") }
            alpha = Float(a)
        }
        func flag(_ key: String) throws(FormatError) -> Bool {
            switch o[key] {
            case nil, .null?: return false
            case .bool(let b)?: return b
            case let v?: throw bad(key, "must be true or false, found \(v.kind)")
            }
        }
        let targets: [LoRATarget]
        switch o["target_modules"] {
        case .string("all-linear")?: targets = LoRATarget.allCases
        case .string(let s)?: throw bad("target_modules", "the regular expression '\(s)' is not supported; list the module names")
        case .array(let items)?:
            var names: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw bad("target_modules", "must hold strings, found \(item.kind)") }
                names.append(s)
            }
            do { targets = try LoRAConfig.targets(named: names) }
            catch { throw bad("target_modules", error.description) }
        default: throw bad("target_modules", "must list the adapted modules")
        }
        return LoRAConfig(rank: rank, alpha: alpha, dropout: 0, targets: targets,
                          rsLoRA: try flag("use_rslora"), dora: try flag("use_dora"))
    }

    /// The config PEFT writes for `lora` (the keys `save_pretrained` needs to load it back).
    public static func encode(_ lora: LoRAConfig, baseModel: String) -> Data {
        let object: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": baseModel,
            "inference_mode": true, "r": lora.rank, "lora_alpha": Double("\(lora.alpha)") ?? 0, "lora_dropout": Double("\(lora.dropout)") ?? 0,
            "target_modules": lora.targets.map(\.rawValue), "bias": "none", "fan_in_fan_out": false,
            "use_rslora": lora.rsLoRA, "use_dora": lora.dora, "modules_to_save": NSNull(), "init_lora_weights": true,
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }
}
