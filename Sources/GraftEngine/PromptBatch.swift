import Foundation
import GraftFormats
import GraftModel

/// A file of requests, one JSON object a line (`{"prompt": "…", "adapter": "sql@3:0.5"}` or
/// `{"messages": [...]}`, optional `"max_tokens"`), run through the engine with at most N in
/// flight; results come back in input order, so runs at different concurrencies compare line by
/// line. A line the engine refuses (an unknown adapter, a prompt too long) gets its error in the
/// result and the others go on.
public enum PromptBatch {
    public struct Line: Sendable, Equatable {
        public var prompt: String?
        public var messages: [ChatMessage]?
        public var adapter: String?
        public var maxTokens: Int?
    }

    public struct Outcome: Encodable, Sendable, Equatable {
        public var index: Int
        public var adapter: String?
        public var text: String
        public var finishReason: String
        public var promptTokens: Int
        public var completionTokens: Int
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case index, adapter, text, error
            case finishReason = "finish_reason", promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
        }
    }

    /// Reads the lines of `data`; an error names the file, the line and the field.
    public static func parse(_ data: Data, path: String) throws(FormatError) -> [Line] {
        var lines: [Line] = []
        for (number, text) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let at = "\(path):\(number + 1)"
            guard case .object(let o) = try JSONValue.parse(Data(trimmed.utf8), path: at) else {
                throw .invalid(path: at, field: nil, reason: "each line must be a JSON object")
            }
            for key in o.keys.sorted() where !["prompt", "messages", "adapter", "max_tokens"].contains(key) {
                throw .invalid(path: at, field: key, reason: "is not a request field (prompt, messages, adapter, max_tokens)")
            }
            var line = Line()
            switch (o["prompt"], o["messages"]) {
            case (.string(let p)?, nil): line.prompt = p
            case (nil, .array(let items)?):
                var messages: [ChatMessage] = []
                for item in items {
                    guard case .object(let m) = item, case .string(let role)? = m["role"], case .string(let content)? = m["content"] else {
                        throw .invalid(path: at, field: "messages", reason: "each message needs a string role and content")
                    }
                    messages.append(ChatMessage(role: role, content: content))
                }
                guard !messages.isEmpty else { throw .invalid(path: at, field: "messages", reason: "is empty") }
                line.messages = messages
            case (nil, nil): throw .invalid(path: at, field: "prompt", reason: "give a string prompt or a messages array")
            case (.some, .some): throw .invalid(path: at, field: "messages", reason: "give prompt or messages, not both")
            default: throw .invalid(path: at, field: o["prompt"] != nil ? "prompt" : "messages", reason: "has the wrong type")
            }
            switch o["adapter"] {
            case nil, .null?: break
            case .string(let a)?: line.adapter = a
            default: throw .invalid(path: at, field: "adapter", reason: "must be a string reference")
            }
            switch o["max_tokens"] {
            case nil, .null?: break
            case .int(let n)? where n >= 1: line.maxTokens = n
            case let v?: throw .invalid(path: at, field: "max_tokens", reason: "must be a positive integer, found \(v.kind)")
            }
            lines.append(line)
        }
        return lines
    }

    /// Runs the lines with at most `concurrency` requests in flight.
    public static func run(_ lines: [Line], engine: Engine, sampling: SamplingParameters, maxTokens: Int,
                           concurrency: Int) async -> [Outcome] {
        await withTaskGroup(of: Outcome.self) { group in
            var outcomes: [Outcome?] = Array(repeating: nil, count: lines.count)
            var next = 0
            func launch() {
                let i = next
                next += 1
                group.addTask { await one(lines[i], index: i, engine: engine, sampling: sampling, maxTokens: maxTokens) }
            }
            for _ in 0..<min(max(concurrency, 1), lines.count) { launch() }
            for await outcome in group {
                outcomes[outcome.index] = outcome
                if next < lines.count { launch() }
            }
            return outcomes.map { $0! }
        }
    }

    static func one(_ line: Line, index: Int, engine: Engine, sampling: SamplingParameters, maxTokens: Int) async -> Outcome {
        var outcome = Outcome(index: index, adapter: line.adapter, text: "", finishReason: "error", promptTokens: 0, completionTokens: 0)
        do {
            let lm = engine.language
            let text = try line.messages.map { try lm.chatPrompt(messages: $0) } ?? line.prompt ?? ""
            let prompt = lm.encodePrompt(text)
            var adapters: [(adapter: ServedAdapter, scale: Float)] = []
            if let reference = line.adapter {
                guard let cache = engine.adapters else { throw EngineError.adapter(reference, reason: "the engine has no adapter source") }
                adapters.append(try cache.acquire(reference))
                outcome.adapter = adapters[0].adapter.label + (adapters[0].scale == 1 ? "" : ":\(adapters[0].scale)")
            }
            let (_, events) = try engine.submit(EngineRequest(prompt: prompt, adapters: adapters, sampling: sampling,
                                                              maxTokens: line.maxTokens ?? maxTokens))
            for await event in events {
                switch event {
                case .token(_, let piece): outcome.text += piece
                case let .finished(reason, usage):
                    outcome.finishReason = reason.rawValue
                    outcome.promptTokens = usage.promptTokens
                    outcome.completionTokens = usage.completionTokens
                }
            }
        } catch {
            outcome.error = "\(error)"
        }
        return outcome
    }
}
