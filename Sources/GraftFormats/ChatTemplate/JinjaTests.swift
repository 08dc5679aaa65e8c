/// Jinja's tests, `x is name(args)` (jinja2/tests.py), over template values.
enum JinjaTests {
    static let names: Set<String> = [
        "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false",
        "true", "integer", "float", "lower", "upper", "string", "mapping", "number", "sequence", "iterable",
        "callable", "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan",
        "ge", ">=", "<", "lt", "lessthan", "<=", "le",
    ]

    static func apply(_ name: String, _ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> Bool {
        func other() throws(EvalError) -> TemplateValue { try args.bind(name, ["other"], required: 1)[0]! }
        func noArguments() throws(EvalError) { try args.none(name) }
        switch name {
        case "defined", "undefined":
            try noArguments()
            return value.isUndefined == (name == "undefined")
        case "none":
            try noArguments()
            if case .none = value { return true }
            return false
        case "boolean", "true", "false":
            try noArguments()
            guard case .bool(let b) = value else { return false }
            return name == "boolean" || b == (name == "true")
        case "integer":
            try noArguments()
            if case .int = value { return true }
            return false
        case "float":
            try noArguments()
            if case .double = value { return true }
            return false
        case "number":
            try noArguments()
            return value.number != nil
        case "string":
            try noArguments()
            return value.isString
        case "mapping":
            try noArguments()
            if case .dict = value { return true }
            return false
        case "sequence":
            // len() and __getitem__ both exist: str, list, dict, and Jinja's Undefined.
            try noArguments()
            switch value {
            case .string, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        case "iterable":
            try noArguments()
            switch value {
            case .string, .list, .tuple, .dict, .generator, .undefined: return true
            default: return false
            }
        case "callable":
            try noArguments()
            switch value {
            case .function, .undefined: return true
            default: return false
            }
        case "lower", "upper":
            try noArguments()
            return hasCase(PythonFormat.str(value), upper: name == "upper")
        case "odd", "even":
            try noArguments()
            let remainder = try TemplateOperations.binary(.mod, value, .int(2))
            return TemplateOperations.equal(remainder, .int(name == "odd" ? 1 : 0))
        case "divisibleby":
            let divisor = try args.bind(name, ["num"], required: 1)[0]!
            return TemplateOperations.equal(try TemplateOperations.binary(.mod, value, divisor), .int(0))
        case "sameas":
            return identical(value, try other())
        case "escaped":
            try noArguments()
            return false   // no value here is Markup
        case "filter", "test":
            try noArguments()
            guard case .string(let n) = value else { return false }
            return (name == "filter" ? JinjaFilters.names : names).contains(n)
        case "in":
            return try TemplateOperations.contains(try args.bind(name, ["seq"], required: 1)[0]!, value)
        case "==", "eq", "equalto": return TemplateOperations.equal(value, try other())
        case "!=", "ne": return !TemplateOperations.equal(value, try other())
        case ">", "gt", "greaterthan": return try TemplateOperations.order(.gt, value, try other())
        case ">=", "ge": return try TemplateOperations.order(.gteq, value, try other())
        case "<", "lt", "lessthan": return try TemplateOperations.order(.lt, value, try other())
        case "<=", "le": return try TemplateOperations.order(.lteq, value, try other())
        default:
            throw .unknownTest(name)
        }
    }

    /// Python's `is`: the same singleton (None, True, False) or the same object.
    private static func identical(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.namespace(x), .namespace(y)): return x === y
        case let (.generator(x), .generator(y)): return x === y
        default: return false
        }
    }

    /// `str.islower()` / `str.isupper()`: some cased scalar, and none of the other case (or titlecase).
    private static func hasCase(_ s: String, upper: Bool) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            let p = c.properties
            let isUpper = p.isUppercase, isLower = p.isLowercase
            let isTitle = p.generalCategory == .titlecaseLetter
            if (upper ? isLower : isUpper) || isTitle { return false }
            if upper ? isUpper : isLower { cased = true }
        }
        return cased
    }
}
