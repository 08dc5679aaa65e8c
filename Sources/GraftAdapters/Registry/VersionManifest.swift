import Foundation
import GraftModel

/// What the registry records of one version of an adapter: enough to use it on the right base
/// with the right chat template, to reproduce it, and to compare it with other versions.
public struct VersionManifest: Codable, Equatable, Sendable {
    public var format = "graft-registry-1"
    public var name: String
    public var version: Int
    /// ISO 8601, UTC.
    public var created: String
    /// SHA-256 and file name of the base model the adapter was trained on.
    public var baseSHA256: String
    public var baseFile: String
    /// The base's chat template and stop token ids, so a server renders prompts as training did.
    public var chatTemplate: String?
    public var stopTokens: [Int32]
    public var lora: LoRAConfig
    /// The recipe's TOML text, verbatim.
    public var recipe: String?
    /// Final training and validation figures (e.g. "train_loss", "val_loss", "val_ppl").
    public var metrics: [String: Double]
    /// Evaluation results stored later (`graft eval`), by name.
    public var eval: [String: Double]
    /// `NAME@VERSION` this one continued training from, if any.
    public var parent: String?
    /// The adapter's files (`adapter.safetensors`, `adapter.json`) by name → blob SHA-256.
    public var files: [String: String]

    /// The manifest of version `version` of `name`, from what its publisher said.
    public init(name: String, version: Int, created: String, draft: Registry.Draft, files: [String: String]) {
        self.name = name
        self.version = version
        self.created = created
        baseSHA256 = draft.baseSHA256
        baseFile = draft.baseFile
        chatTemplate = draft.chatTemplate
        stopTokens = draft.stopTokens
        lora = draft.lora
        recipe = draft.recipe
        metrics = draft.metrics
        eval = [:]
        parent = draft.parent
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case format, name, version, created, lora, recipe, metrics, eval, parent, files
        case baseSHA256 = "base_sha256", baseFile = "base_file", chatTemplate = "chat_template", stopTokens = "stop_tokens"
    }

    /// `NAME@VERSION`.
    public var reference: String { "\(name)@\(version)" }
}
