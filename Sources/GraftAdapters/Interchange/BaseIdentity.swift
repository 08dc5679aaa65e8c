import Foundation
import GraftFormats
import GraftModel

/// What an adapter carries about the base it was trained on, so it is never applied to another
/// one: the base file's SHA-256 and name, its sizes, and its chat template and stop tokens.
/// Graft writes it into every export (safetensors `__metadata__`, GGUF keys) and reads it back,
/// so importing graft's own exports needs no base at hand.
public struct BaseIdentity: Sendable, Equatable {
    public var sha256: String
    public var file: String
    public var geometry: BaseGeometry
    public var chatTemplate: String?
    public var stopTokens: [Int32]

    public init(sha256: String, file: String, geometry: BaseGeometry, chatTemplate: String?, stopTokens: [Int32]) {
        self.sha256 = sha256
        self.file = file
        self.geometry = geometry
        self.chatTemplate = chatTemplate
        self.stopTokens = stopTokens
    }

    /// Reads the identity of a base model file (hashing it, reading its config and template).
    public init(model path: String) throws {
        try self.init(language: LanguageModel(path: path, forDecoding: false), path: path)
    }

    /// The identity of a model already loaded from `path` (only the hash is computed).
    public init(language lm: LanguageModel, path: String) throws {
        self.init(sha256: try ContentHash.sha256(path: path), file: (path as NSString).lastPathComponent,
                  geometry: BaseGeometry(lm.model.config), chatTemplate: lm.chatTemplate?.source,
                  stopTokens: lm.stopTokens.sorted())
    }

    /// String key/values (safetensors metadata; GGUF string keys) under `prefix`.
    func strings(prefix: String) -> [String: String] {
        var out = [prefix + "base_sha256": sha256, prefix + "base_file": file,
                   prefix + "stop_tokens": stopTokens.map(String.init).joined(separator: ",")]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        if let json = try? encoder.encode(geometry) { out[prefix + "base_geometry"] = String(decoding: json, as: UTF8.self) }
        return out
    }

    /// The identity from `strings(prefix:)`, or nil when the source names no base hash (it was
    /// not written by graft). A graft key with a bad value is an error naming it.
    static func from(strings: [String: String], prefix: String, chatTemplate: String?, file: String) throws(FormatError) -> BaseIdentity? {
        guard let sha = strings[prefix + "base_sha256"] else { return nil }
        guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
            throw .invalid(path: file, field: prefix + "base_sha256", reason: "is not a SHA-256 in hex")
        }
        guard let json = strings[prefix + "base_geometry"], let data = json.data(using: .utf8),
              let geometry = try? JSONDecoder().decode(BaseGeometry.self, from: data) else {
            throw .invalid(path: file, field: prefix + "base_geometry", reason: "is missing or not the base's sizes")
        }
        try geometry.validate(file: file, field: prefix + "base_geometry")
        var stops: [Int32] = []
        for part in (strings[prefix + "stop_tokens"] ?? "").split(separator: ",") {
            guard let t = Int32(part), t >= 0 else { throw .invalid(path: file, field: prefix + "stop_tokens", reason: "'\(part)' is not a token id") }
            stops.append(t)
        }
        return BaseIdentity(sha256: sha.lowercased(), file: strings[prefix + "base_file"] ?? "", geometry: geometry,
                            chatTemplate: chatTemplate, stopTokens: stops)
    }
}
