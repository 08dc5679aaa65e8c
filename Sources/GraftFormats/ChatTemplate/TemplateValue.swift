import Foundation

/// A value while a template renders: `JinjaValue`'s data plus what exists only inside Jinja
/// (undefined values, generators, namespaces, functions). It follows Python's data model, because
/// Jinja evaluates templates as Python: `1 == 1.0`, `True + 1 == 2`, empty containers are false.
enum TemplateValue {
    /// Jinja's default `Undefined`: prints as "", iterates as empty, is false, and raises (with
    /// this message, e.g. `'x' is undefined`) on arithmetic, attribute access and calls.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([TemplateValue])
    /// A Python tuple: from `(a, b)`, `a, b`, and the pairs of `dict.items()`. It differs from a
    /// list in how it prints (`('a', 1)`) and in equality (a tuple never equals a list).
    case tuple([TemplateValue])
    case dict(OrderedDict<TemplateValue>)
    /// What Jinja's `select`, `map`, `reverse`, ... return: always true, no `len`, single pass.
    case generator(TemplateGenerator)
    case namespace(TemplateNamespace)
    indirect case function(TemplateFunction)

    init(_ value: JinjaValue) {
        switch value {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .integer(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(TemplateValue.init))
        case .object(let o): self = .dict(OrderedDict(o.storage.pairs.map { ($0, TemplateValue($1)) }))
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's `bool(x)`.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.unicodeScalars.isEmpty
        case .list(let l), .tuple(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        case .generator, .namespace, .function: return true
        }
    }

    /// Python's `type(x).__name__`, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .generator: return "generator"
        case .namespace: return "Namespace"
        case .function(.macro): return "Macro"
        case .function: return "builtin_function_or_method"
        }
    }

    /// Jinja's `object_type_repr`: `dict object`, `None`.
    var objectTypeName: String {
        if case .none = self { return "None" }
        return "\(typeName) object"
    }

    /// `objectTypeName` in quotes, as Jinja's "has no attribute" messages print it.
    var objectTypeRepr: String { "'\(objectTypeName)'" }

    /// The number a bool, int or float stands for in arithmetic (Python's bool is an int).
    var number: Number? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        default: return nil
        }
    }

    enum Number {
        case int(Int)
        case double(Double)

        var asDouble: Double {
            switch self {
            case .int(let i): return Double(i)
            case .double(let d): return d
            }
        }
    }

    /// The type name when the value cannot be a dict key in Python (lists, dicts, tuples holding them).
    var unhashableType: String? {
        switch self {
        case .list, .dict: return typeName
        case .tuple(let items): return items.lazy.compactMap(\.unhashableType).first
        default: return nil
        }
    }

    /// The items of a list or tuple.
    var sequence: [TemplateValue]? {
        switch self {
        case .list(let items), .tuple(let items): return items
        default: return nil
        }
    }

    /// Throws Jinja's `UndefinedError` when the value is undefined; otherwise does nothing.
    func requireDefined() throws(EvalError) {
        if case .undefined(let message) = self { throw .undefined(message) }
    }
}

/// A lazily computed, single-pass sequence, like the Python generators Jinja's filters return.
final class TemplateGenerator {
    let name: String
    private var produce: (() throws(EvalError) -> [TemplateValue])?

    init(_ name: String, _ produce: @escaping () throws(EvalError) -> [TemplateValue]) {
        self.name = name
        self.produce = produce
    }

    /// The remaining items; a second call returns none, as a consumed generator does.
    func drain() throws(EvalError) -> [TemplateValue] {
        guard let produce else { return [] }
        self.produce = nil
        return try produce()
    }
}

/// `namespace(...)`: the one mutable object templates have, so `{% set ns.x = … %}` inside a loop
/// is seen after it (plain `set` in a loop body is local to one iteration).
final class TemplateNamespace {
    var attributes: OrderedDict<TemplateValue>

    init(_ attributes: OrderedDict<TemplateValue>) { self.attributes = attributes }
}

/// A callable: one of the globals transformers defines, a method bound to a value (`s.strip`),
/// or a macro the template defined.
enum TemplateFunction {
    case global(String)
    case method(TemplateValue, String)
    case macro(TemplateMacro)
}

/// A macro with the scopes it was defined in (other than the template's top level, which it reads
/// as it is when called, as Jinja macros read the template context).
struct TemplateMacro {
    let definition: JinjaMacro
    let enclosingScopes: [[String: TemplateValue]]
}
