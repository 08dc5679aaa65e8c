/// Why the engine refused a request. Each case names the request parameter at fault.
public enum EngineError: Error, Equatable, CustomStringConvertible, Sendable {
    case emptyPrompt
    case promptTooLong(tokens: Int, context: Int)
    case maxTokens(Int)
    case tokenOutOfVocabulary(Int32, vocabulary: Int)
    case adapter(String, reason: String)
    case tooLargeForMemory(tokens: Int, capacity: Int)
    case stopped
    case kvBudget(bytes: Int, block: Int, memory: UInt64)

    public var description: String {
        switch self {
        case .emptyPrompt: "prompt: the prompt has no tokens"
        case let .promptTooLong(tokens, context): "prompt: \(tokens) tokens leave no room to generate in the context of \(context)"
        case let .maxTokens(n): "max_tokens: must be at least 1, found \(n)"
        case let .tokenOutOfVocabulary(id, vocabulary): "prompt: token id \(id) is outside the vocabulary (0..<\(vocabulary))"
        case let .adapter(label, reason): "adapter '\(label)': \(reason)"
        case let .tooLargeForMemory(tokens, capacity): "max_tokens: the request needs \(tokens) tokens of KV cache, more than the engine's \(capacity)"
        case .stopped: "the engine has stopped"
        case let .kvBudget(bytes, block, memory):
            "kv budget: \(bytes) bytes must hold at least one block (\(block) bytes) and fit in this machine's \(memory) bytes of memory"
        }
    }
}
