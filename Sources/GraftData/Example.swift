import GraftFormats

/// One training example in one of the three JSONL shapes users already have (mlx-lm, TRL):
/// `{"text"}`, `{"prompt", "completion"}` or `{"messages": [{"role", "content"}]}`.
public enum Example: Sendable, Equatable {
    case text(String)
    case completion(prompt: String, completion: String)
    case chat([ChatMessage])

    /// The shape, as detected from a line's keys.
    public enum Shape: String, Sendable {
        case text, completion = "prompt/completion", chat = "messages"
    }

    public var shape: Shape {
        switch self {
        case .text: .text
        case .completion: .completion
        case .chat: .chat
        }
    }
}
