import Foundation
import GraftEngine
import GraftFormats
import GraftModel

/// A `/v1/chat/completions` or `/v1/completions` body, read and checked: the prompt (chat
/// messages, text or token ids), the model and adapter mix, sampling, limits and streaming.
/// Sampling defaults follow vLLM's (temperature 1, top_p 1, no top_k, no min_p).
struct GenerationRequest: Sendable {
    enum Kind: Sendable { case chat, completion }
    enum Prompt: Sendable {
        case messages([ChatMessage])
        case text(String)
        case tokens([Int32])
    }

    var kind: Kind
    var model: String
    var prompt: Prompt
    /// The `adapters` extension: several adapters with scales (replaces the adapter `model` names).
    var adapters: [(model: String, scale: Float)]
    var maxTokens: Int?
    var sampling = SamplingParameters()
    var stop: [String] = []
    var stream = false
    var includeUsage = false
    var user: String?
    /// vLLM's extension: generate `max_tokens` tokens whatever the model says (load tests).
    var ignoreEOS = false

    /// The most stop strings a request may give (OpenAI allows 4; vLLM more).
    static let maxStops = 16

    init(_ kind: Kind, body: Data, maxTokensLimit: Int) throws(APIError) {
        let f = try RequestFields(body)
        self.kind = kind
        model = try f.requiredString("model")
        switch kind {
        case .chat: prompt = try Self.messages(f)
        case .completion: prompt = try Self.completionPrompt(f)
        }
        adapters = try Self.adapterMix(f)
        let completionTokens = try f.int("max_completion_tokens", in: 1...maxTokensLimit)
        if let completionTokens { maxTokens = completionTokens } else { maxTokens = try f.int("max_tokens", in: 1...maxTokensLimit) }
        sampling.temperature = Float(try f.number("temperature", in: 0...2) ?? 1)
        sampling.topP = Float(try f.number("top_p", in: 0...1) ?? 1)
        guard sampling.topP > 0 else { throw .invalid("top_p", "'top_p' must be above 0") }
        let topK = try f.int("top_k", in: -1...1_000_000) ?? -1
        sampling.topK = max(0, topK)
        sampling.minP = Float(try f.number("min_p", in: 0...1) ?? 0)
        sampling.repetitionPenalty = Float(try f.number("repetition_penalty", in: 0.01...10) ?? 1)
        if let seed = try f.int("seed", in: Int.min...Int.max) { sampling.seed = UInt64(bitPattern: Int64(seed)) }
        else { sampling.seed = UInt64.random(in: 0...UInt64.max) }
        for key in ["frequency_penalty", "presence_penalty"] {
            if let v = try f.number(key, in: -2...2), v != 0 {
                throw .invalid(key, "'\(key)' is not supported by this server; use 'repetition_penalty'", code: "unsupported_parameter")
            }
        }
        if let n = try f.int("n", in: 1...128), n != 1 { throw .invalid("n", "'n' must be 1 (one choice per request)", code: "unsupported_parameter") }
        if try f.bool("logprobs") == true || f["top_logprobs"] != nil {
            throw .invalid("logprobs", "log probabilities are not supported by this server", code: "unsupported_parameter")
        }
        if kind == .completion {
            if try f.bool("echo") == true { throw .invalid("echo", "'echo' is not supported by this server", code: "unsupported_parameter") }
            if let best = try f.int("best_of", in: 1...128), best != 1 { throw .invalid("best_of", "'best_of' must be 1", code: "unsupported_parameter") }
            if let suffix = try f.string("suffix"), !suffix.isEmpty { throw .invalid("suffix", "'suffix' is not supported by this server", code: "unsupported_parameter") }
        }
        stop = try f.strings("stop", maxCount: Self.maxStops)
        stream = try f.bool("stream") ?? false
        if let options = try f.object("stream_options") {
            includeUsage = try options.bool("include_usage") ?? false
        }
        user = try f.string("user")
        ignoreEOS = try f.bool("ignore_eos") ?? false
    }

    static func messages(_ f: RequestFields) throws(APIError) -> Prompt {
        guard let value = f["messages"] else { throw .invalid("messages", "'messages' is required") }
        guard case .array(let items) = value, !items.isEmpty else {
            throw .invalid("messages", "'messages' must be a non-empty array of {\"role\", \"content\"}")
        }
        var messages: [ChatMessage] = []
        for (i, item) in items.enumerated() {
            let param = "messages[\(i)]"
            guard case .object(let o) = item else { throw .invalid(param, "'\(param)' must be an object, found \(item.kind)") }
            let m = RequestFields(object: o, prefix: param)
            guard let role = try m.string("role") else { throw .invalid(m.name("role"), "'\(m.name("role"))' is required") }
            guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
                throw .invalid("\(param).role", "'\(param).role' must be system, developer, user, assistant or tool, found '\(role)'")
            }
            let content: String
            switch m["content"] {
            case .string(let s)?: content = s
            case .array(let parts)?:
                var text = ""
                for (j, part) in parts.enumerated() {
                    guard case .object(let p) = part, case .string("text")? = p["type"], case .string(let t)? = p["text"] else {
                        throw .invalid("\(param).content[\(j)]", "only text parts ({\"type\": \"text\", \"text\": …}) are supported")
                    }
                    text += t
                }
                content = text
            case nil: content = ""
            case let other?: throw .invalid("\(param).content", "'\(param).content' must be a string or an array of text parts, found \(other.kind)")
            }
            messages.append(ChatMessage(role: role == "developer" ? "system" : role, content: content))
        }
        return .messages(messages)
    }

    static func completionPrompt(_ f: RequestFields) throws(APIError) -> Prompt {
        guard let value = f["prompt"] else { throw .invalid("prompt", "'prompt' is required") }
        switch value {
        case .string(let s): return .text(s)
        case .array(let items):
            if items.count == 1, case .string(let s) = items[0] { return .text(s) }
            var ids: [Int32] = []
            for (i, item) in items.enumerated() {
                guard case .int(let id) = item else {
                    throw .invalid("prompt", "'prompt' must be a string or an array of token ids (one prompt per request); item \(i) is \(item.kind)")
                }
                guard let id32 = Int32(exactly: id) else { throw .invalid("prompt", "token id \(id) is outside the vocabulary") }
                ids.append(id32)
            }
            return .tokens(ids)
        default: throw .invalid("prompt", "'prompt' must be a string or an array of token ids, found \(value.kind)")
        }
    }

    /// `"adapters": [{"model": "sql@3", "scale": 0.7}, …]`.
    static func adapterMix(_ f: RequestFields) throws(APIError) -> [(model: String, scale: Float)] {
        guard let value = f["adapters"] else { return [] }
        guard case .array(let items) = value else { throw .invalid("adapters", "'adapters' must be an array of {\"model\", \"scale\"}, found \(value.kind)") }
        guard items.count <= 8 else { throw .invalid("adapters", "at most 8 adapters a request, found \(items.count)") }
        var out: [(String, Float)] = []
        for (i, item) in items.enumerated() {
            let param = "adapters[\(i)]"
            guard case .object(let o) = item else { throw .invalid(param, "'\(param)' must be an object, found \(item.kind)") }
            let a = RequestFields(object: o, prefix: param)
            let model = try a.string("model")
            guard let model else { throw .invalid("\(param).model", "'\(param).model' is required") }
            let scale = try a.number("scale", in: -16...16) ?? 1
            out.append((model, Float(scale)))
        }
        return out
    }
}
