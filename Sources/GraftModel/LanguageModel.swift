import GraftFormats
import GraftTensor

/// Everything needed to talk to a GGUF model: the network, its tokenizer, its chat template and
/// the tokens that end a turn. This is what the command line and (later) the server load.
public struct LanguageModel {
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    /// nil when the file has no `tokenizer.chat_template`.
    public let chatTemplate: ChatTemplate?
    /// EOS and, when the template ends turns with another special token, that one too.
    public let stopTokens: Set<Int32>

    /// - forDecoding: give the projections the decode kernel's layout (`prepareForDecoding`);
    ///   off for training, which never decodes and keeps the memory.
    public init(path: String, forDecoding: Bool = true) throws {
        let file = try GGUFFile(path: path)
        model = try LlamaModel(gguf: file)
        if forDecoding { model.prepareForDecoding() }
        tokenizer = try BPETokenizer(gguf: file)
        if let source = file.metadata["tokenizer.chat_template"]?.stringValue {
            chatTemplate = try ChatTemplate(source: source)
        } else {
            chatTemplate = nil
        }
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw FormatError.invalid(path: path, field: "tokenizer.ggml.tokens",
                                      reason: "\(tokenizer.vocabularySize) tokens, more than the model's \(model.config.vocabularySize) embedding rows")
        }
        var stops = Set<Int32>()
        if let eos = tokenizer.eosID { stops.insert(eos) }
        for name in ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            guard let value = file.metadata[name] else { continue }
            guard let id = value.intValue.flatMap({ Int32(exactly: $0) }), id >= 0, Int(id) < tokenizer.vocabularySize else {
                throw FormatError.invalid(path: path, field: name, reason: "\(value) is not a token id of the \(tokenizer.vocabularySize)-token vocabulary")
            }
            stops.insert(id)
        }
        for token in ["<|im_end|>", "<|eot_id|>", "<|end|>"] { if let id = tokenizer.id(of: token) { stops.insert(id) } }
        stopTokens = stops
    }

    /// The prompt text for one user message, rendered with the model's template and the
    /// generation prompt (as `apply_chat_template(add_generation_prompt=True)` would).
    public func chatPrompt(_ user: String) throws -> String {
        try chatPrompt(messages: [ChatMessage(role: "user", content: user)])
    }

    /// The prompt text for a conversation, ending with the generation prompt.
    public func chatPrompt(messages: [ChatMessage]) throws -> String {
        guard let chatTemplate else {
            throw FormatError.invalid(path: model.file?.path ?? "<model>", field: "tokenizer.chat_template",
                                      reason: "the model has no chat template")
        }
        let bos = tokenizer.bosID.map { tokenizer.decode([$0]) } ?? ""
        let eos = tokenizer.eosID.map { tokenizer.decode([$0]) } ?? ""
        return try chatTemplate.render(messages: messages, addGenerationPrompt: true, bosToken: bos, eosToken: eos)
    }

    /// Prompt ids: BOS first when the tokenizer asks for it (SmolLM2 does not).
    public func encodePrompt(_ text: String) -> [Int32] {
        var ids = tokenizer.encode(text, parseSpecial: true)
        if tokenizer.addBOS, let bos = tokenizer.bosID, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }
}
