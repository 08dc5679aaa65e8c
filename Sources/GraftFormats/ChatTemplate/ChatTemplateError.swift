/// A place in a template's text: 1-based line and column, the column counted in Unicode scalars
/// (Jinja itself reports only the line).
public struct TemplateLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// Why a chat template could not be parsed or rendered. Parse errors and runtime errors carry the
/// place in the template at fault; `raised` carries exactly the message the template passed to
/// `raise_exception`, because templates use it to tell the caller what is wrong with the messages.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    /// The text is not Jinja, or uses a construct outside the subset Graft implements.
    case syntax(String, at: TemplateLocation)
    /// A filter that neither Jinja nor transformers defines (checked when the template is parsed, like Jinja).
    case unknownFilter(String, at: TemplateLocation)
    /// A test (`x is name`) that Jinja does not define (checked when the template is parsed).
    case unknownTest(String, at: TemplateLocation)
    /// An undefined value was used where Jinja raises `UndefinedError`; the message is Jinja's,
    /// e.g. `'foo' is undefined` or `'dict object' has no attribute 'bar'`.
    case undefined(String, at: TemplateLocation)
    /// An operation on the wrong kind of value (Python's `TypeError`, `ValueError`, ...).
    case type(String, at: TemplateLocation)
    /// Another error Jinja raises while rendering (its `TemplateRuntimeError`), e.g. setting an
    /// attribute on something that is not a `namespace()`.
    case runtime(String, at: TemplateLocation)
    /// Something Python would do that Graft's interpreter does not (the message names it).
    case unsupported(String, at: TemplateLocation)
    /// The template called `raise_exception(message)`.
    case raised(String)
    /// `JinjaValue(json:)` was given text that is not JSON; the offset is in UTF-8 bytes.
    case invalidJSON(String, offset: Int)

    public var description: String {
        switch self {
        case let .syntax(message, at): return "template syntax error at \(at): \(message)"
        case let .unknownFilter(name, at): return "template error at \(at): no filter named '\(name)'"
        case let .unknownTest(name, at): return "template error at \(at): no test named '\(name)'"
        case let .undefined(message, at): return "template error at \(at): \(message)"
        case let .type(message, at): return "template error at \(at): \(message)"
        case let .runtime(message, at): return "template error at \(at): \(message)"
        case let .unsupported(message, at): return "template error at \(at): not supported: \(message)"
        case let .raised(message): return message
        case let .invalidJSON(message, offset): return "invalid JSON at byte \(offset): \(message)"
        }
    }
}

/// A runtime failure inside a value operation, before the interpreter knows where in the template
/// it happened; `located(at:)` turns it into the public error.
struct EvalError: Error {
    enum Kind { case undefined, type, runtime, unsupported, raised, unknownFilter, unknownTest }
    let kind: Kind
    let message: String

    static func undefined(_ message: String) -> EvalError { EvalError(kind: .undefined, message: message) }
    static func type(_ message: String) -> EvalError { EvalError(kind: .type, message: message) }
    static func runtime(_ message: String) -> EvalError { EvalError(kind: .runtime, message: message) }
    static func unsupported(_ message: String) -> EvalError { EvalError(kind: .unsupported, message: message) }
    static func raised(_ message: String) -> EvalError { EvalError(kind: .raised, message: message) }
    static func unknownFilter(_ name: String) -> EvalError { EvalError(kind: .unknownFilter, message: name) }
    static func unknownTest(_ name: String) -> EvalError { EvalError(kind: .unknownTest, message: name) }

    func located(at location: TemplateLocation) -> ChatTemplateError {
        switch kind {
        case .undefined: return .undefined(message, at: location)
        case .type: return .type(message, at: location)
        case .runtime: return .runtime(message, at: location)
        case .unsupported: return .unsupported(message, at: location)
        case .raised: return .raised(message)
        case .unknownFilter: return .unknownFilter(message, at: location)
        case .unknownTest: return .unknownTest(message, at: location)
        }
    }
}
