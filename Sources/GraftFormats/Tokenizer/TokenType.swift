/// `tokenizer.ggml.token_type` values (formats.md §2.1; llama.cpp `llama_token_type`).
enum TokenType: Int32, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6

    /// Values outside the table count as undefined, as in llama.cpp.
    init(fileValue: Int32) { self = TokenType(rawValue: fileValue) ?? .undefined }
}
