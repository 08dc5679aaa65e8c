extension BPETokenizer {
    /// Reads the vocabulary of a GGUF model (formats.md §2.1): `tokenizer.ggml.model` must be
    /// `"gpt2"` (byte-level BPE). `token_type`, `pre`, the BOS/EOS ids and the add flags are
    /// optional; an absent `add_bos_token` takes llama.cpp's default for the pre-tokenizer (true for
    /// the Llama-3 family, false otherwise), an absent `add_eos_token` is false.
    /// - Throws: `FormatError.invalid` naming the file and the key at fault.
    public init(gguf: GGUFFile) throws(FormatError) {
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw .invalid(path: gguf.path, field: "tokenizer.ggml.model",
                           reason: "is '\(model)'; only byte-level BPE ('gpt2') is supported")
        }
        func optional<T>(_ key: String, _ read: (String) throws(FormatError) -> T) throws(FormatError) -> T? {
            gguf.metadata[key] == nil ? nil : try read(key)
        }
        func tokenID(_ key: String) throws(FormatError) -> Int32? {
            guard let value = try optional(key, gguf.int) else { return nil }
            guard let id = Int32(exactly: value) else {
                throw .invalid(path: gguf.path, field: key, reason: "\(value) is not a token id")
            }
            return id
        }

        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        let types: [Int32]
        if let values = try optional("tokenizer.ggml.token_type", gguf.intArray) {
            types = values.map { Int32(exactly: $0) ?? TokenType.undefined.rawValue }
        } else {
            types = Array(repeating: TokenType.normal.rawValue, count: tokens.count)
        }
        let merges = try gguf.stringArray("tokenizer.ggml.merges")
        let bosID = try tokenID("tokenizer.ggml.bos_token_id")
        let eosID = try tokenID("tokenizer.ggml.eos_token_id")
        let addBOS = try optional("tokenizer.ggml.add_bos_token", gguf.bool)
        let addEOS = try optional("tokenizer.ggml.add_eos_token", gguf.bool)
        do {
            let preTokenizer = try PreTokenizer(name: optional("tokenizer.ggml.pre", gguf.string))
            try self.init(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: preTokenizer,
                          bosID: bosID, eosID: eosID,
                          addBOS: addBOS ?? preTokenizer.addsBOSByDefault, addEOS: addEOS ?? false)
        } catch {
            throw error.located(in: gguf.path)
        }
    }
}

fileprivate extension FormatError {
    /// This error with `path` in place of the placeholder used before the file was known.
    func located(in path: String) -> FormatError {
        switch self {
        case let .invalid(_, field, reason): return .invalid(path: path, field: field, reason: reason)
        case let .io(_, reason): return .io(path: path, reason: reason)
        case let .missing(_, name): return .missing(path: path, name: name)
        }
    }
}
