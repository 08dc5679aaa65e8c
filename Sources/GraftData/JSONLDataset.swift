import Foundation
import GraftFormats

/// Examples read from a JSONL file: one JSON object per line (blank lines are skipped). The
/// shape is taken from the first example, and every other line must have the same shape; any
/// line that is not valid JSON, has another shape, or has a field of the wrong type stops the
/// load with the file and line named, before any training starts.
public struct JSONLDataset: Sendable {
    public let path: String
    public let shape: Example.Shape
    public let examples: [Example]
    /// The line each example came from (1-based), for errors found later (e.g. in the template).
    public let lines: [Int]

    public init(path: String) throws(DatasetError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) }
        catch { throw .unreadable(path: path, reason: (error as NSError).localizedDescription) }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String) throws(DatasetError) {
        self.path = path
        var examples: [Example] = []
        var lines: [Int] = []
        var shape: Example.Shape?
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = rawLine.drop { $0 == 32 || $0 == 9 || $0 == 13 }
            if trimmed.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let example = try Self.parse(Data(rawLine), path: path, line: lineNumber)
            if let shape, example.shape != shape {
                throw .malformed(path: path, line: lineNumber,
                                 reason: "a \(example.shape.rawValue) example in a \(shape.rawValue) file (the first example sets the shape; one shape per file)")
            }
            shape = example.shape
            examples.append(example)
            lines.append(lineNumber)
        }
        guard let shape else { throw .empty(path: path) }
        self.shape = shape
        self.examples = examples
        self.lines = lines
    }

    static func parse(_ line: Data, path: String, line n: Int) throws(DatasetError) -> Example {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: line) }
        catch { throw .malformed(path: path, line: n, reason: "not valid JSON (\(Self.reason(error)))") }
        guard let dict = object as? [String: Any] else {
            throw .malformed(path: path, line: n, reason: "expected a JSON object, found \(Self.kind(object))")
        }
        func string(_ key: String) throws(DatasetError) -> String {
            guard let value = dict[key] else { throw .malformed(path: path, line: n, reason: "missing \"\(key)\"") }
            guard let s = value as? String else {
                throw .malformed(path: path, line: n, reason: "\"\(key)\" must be a string, found \(Self.kind(value))")
            }
            return s
        }
        let keys = Set(dict.keys)
        if keys.contains("messages") {
            guard let list = dict["messages"] as? [Any] else {
                throw .malformed(path: path, line: n, reason: "\"messages\" must be an array, found \(Self.kind(dict["messages"]!))")
            }
            guard !list.isEmpty else { throw .malformed(path: path, line: n, reason: "\"messages\" is empty") }
            var messages: [ChatMessage] = []
            for (i, item) in list.enumerated() {
                guard let m = item as? [String: Any] else {
                    throw .malformed(path: path, line: n, reason: "messages[\(i)] must be an object, found \(Self.kind(item))")
                }
                guard let role = m["role"] as? String else {
                    throw .malformed(path: path, line: n, reason: "messages[\(i)] needs a string \"role\"")
                }
                guard ["system", "user", "assistant"].contains(role) else {
                    throw .malformed(path: path, line: n, reason: "messages[\(i)] has role \"\(role)\" (expected system, user or assistant)")
                }
                guard let content = m["content"] as? String else {
                    throw .malformed(path: path, line: n, reason: "messages[\(i)] needs a string \"content\"")
                }
                messages.append(ChatMessage(role: role, content: content))
            }
            guard messages.contains(where: { $0.role == "assistant" }) else {
                throw .malformed(path: path, line: n, reason: "the conversation has no assistant message to learn from")
            }
            return .chat(messages)
        }
        if keys.contains("prompt") || keys.contains("completion") {
            return .completion(prompt: try string("prompt"), completion: try string("completion"))
        }
        if keys.contains("text") {
            let text = try string("text")
            guard !text.isEmpty else { throw .malformed(path: path, line: n, reason: "\"text\" is empty") }
            return .text(text)
        }
        throw .malformed(path: path, line: n,
                         reason: "unknown shape with keys \(keys.sorted()); expected {\"text\"}, {\"prompt\", \"completion\"} or {\"messages\"}")
    }

    static func kind(_ v: Any) -> String {
        switch v {
        case is String: "a string"
        case is NSNumber: "a number"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        case is NSNull: "null"
        default: "\(type(of: v))"
        }
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}
