/// A value handed to a chat template: the JSON-shaped data transformers passes to Jinja (messages,
/// tools, documents, `date_string`, ...). Objects keep their insertion order, because templates
/// iterate them (`tool.items()`) and serialize them (`tojson`), and Python dicts are ordered.
public enum JinjaValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case object(JinjaObject)
}

/// A string-keyed, insertion-ordered mapping (a Python dict as `json.load` builds it). Keys compare
/// by Unicode scalars, as Python compares strings, not by Swift's canonical equivalence.
public struct JinjaObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    var storage = OrderedDict<JinjaValue>()

    public init() {}

    /// Builds an object from pairs in order; a repeated key keeps its first position and last value.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JinjaValue) { storage = OrderedDict(pairs) }

    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self.init(elements) }

    public var count: Int { storage.count }
    public var keys: [String] { storage.keys }

    /// Setting an existing key keeps its position; setting nil removes the key.
    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set { storage[key] = newValue }
    }

    /// The entries in insertion order.
    public var entries: [(key: String, value: JinjaValue)] { storage.pairs.map { (key: $0.0, value: $0.1) } }

    /// Equal when both hold the same keys with equal values, in any order (as Python dicts compare).
    public static func == (a: JinjaObject, b: JinjaObject) -> Bool {
        a.count == b.count && a.storage.pairs.allSatisfy { key, value in b[key] == value }
    }
}

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self = .object(JinjaObject(elements)) }
}
