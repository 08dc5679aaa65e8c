import Foundation
import GraftFormats

/// The prompts a load test sends, in turn: a JSONL file with one `{"prompt": "…"}` or
/// `{"messages": [{"role", "content"}, …]}` a line (the format of `graft generate --prompts`),
/// or a built-in set of short questions.
public enum PromptSet {
    public struct Prompt: Sendable, Equatable {
        public var messages: [ChatMessage]
        public init(messages: [ChatMessage]) { self.messages = messages }
        public init(_ user: String) { messages = [ChatMessage(role: "user", content: user)] }
    }

    public static let builtIn: [Prompt] = [
        "List the names of employees hired in 2015.",
        "Which departments have more than ten employees?",
        "Show the average salary by department, highest first.",
        "Find customers who placed no orders last year.",
        "Explain in two sentences what a database index is.",
        "Write a short poem about the sea.",
        "What is the capital of France, and what river runs through it?",
        "Give three tips for writing clear emails.",
        "Count the orders shipped to Denver in March.",
        "Summarize the plot of a heist movie in three sentences.",
        "Which products were never ordered?",
        "Describe how a bicycle gear works.",
    ].map(Prompt.init)

    /// Reads a JSONL file; errors name the file and line.
    public static func load(path: String) throws(FormatError) -> [Prompt] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalid(path: path, field: nil, reason: "cannot read the file")
        }
        var prompts: [Prompt] = []
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let place = "\(path):\(i + 1)"
            let value = try JSONValue.parse(Data(trimmed.utf8), path: place)
            guard case .object(let o) = value else { throw .invalid(path: place, field: nil, reason: "each line must be a JSON object") }
            if case .string(let text)? = o["prompt"] {
                prompts.append(Prompt(text))
            } else if case .array(let items)? = o["messages"] {
                var messages: [ChatMessage] = []
                for item in items {
                    guard case .object(let m) = item, case .string(let role)? = m["role"], case .string(let content)? = m["content"] else {
                        throw .invalid(path: place, field: "messages", reason: "each message needs a string 'role' and 'content'")
                    }
                    messages.append(ChatMessage(role: role, content: content))
                }
                guard !messages.isEmpty else { throw .invalid(path: place, field: "messages", reason: "no messages") }
                prompts.append(Prompt(messages: messages))
            } else {
                throw .invalid(path: place, field: nil, reason: "needs a string 'prompt' or an array 'messages'")
            }
        }
        guard !prompts.isEmpty else { throw .invalid(path: path, field: nil, reason: "no prompts in the file") }
        return prompts
    }
}
