import Foundation

/// Jinja's filters, `x | name(args)` (jinja2/filters.py), with transformers' `tojson`. The
/// sequence filters that return generators in Jinja (`select`, `map`, `reverse`, `items`, ...)
/// return generators here too, so `| length` on them fails and `| list` is needed, as in Jinja.
enum JinjaFilters {
    static let names: Set<String> = [
        "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "first", "float", "indent", "int", "items", "join", "last",
        "length", "list", "lower", "map", "reject", "rejectattr", "replace", "reverse", "select", "selectattr",
        "string", "title", "tojson", "trim", "upper",
    ]

    static func apply(_ name: String, _ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        switch name {
        case "trim":
            let chars = try args.bind(name, ["chars"])[0].orNone.map(PythonFormat.str)
            return .string(PythonString.strip(PythonFormat.str(value), chars, .both))
        case "upper": try args.none(name); return .string(PythonString.upper(PythonFormat.str(value)))
        case "lower": try args.none(name); return .string(PythonString.lower(PythonFormat.str(value)))
        case "capitalize": try args.none(name); return .string(PythonString.capitalize(PythonFormat.str(value)))
        case "title": try args.none(name); return .string(title(PythonFormat.str(value)))
        case "replace":
            let a = try args.bind(name, ["old", "new", "count"], required: 2)
            let count = try a[2].orNone.map { v throws(EvalError) in
                guard let i = v.intValue else { throw .type("'\(v.typeName)' object cannot be interpreted as an integer") }
                return i
            } ?? -1
            return .string(PythonString.replace(PythonFormat.str(value), PythonFormat.str(a[0]!), PythonFormat.str(a[1]!), count: count))
        case "string": try args.none(name); return .string(PythonFormat.str(value))
        case "length", "count": try args.none(name); return .int(try TemplateAccess.length(value))
        case "list": try args.none(name); return .list(try TemplateAccess.iterate(value))
        case "first", "last": try args.none(name); return try firstOrLast(value, first: name == "first")
        case "join": return try join(value, args)
        case "default", "d":
            let a = try args.bind(name, ["default_value", "boolean"])
            let useDefault = value.isUndefined || (a[1]?.isTruthy == true && !value.isTruthy)
            return useDefault ? a[0] ?? .string("") : value
        case "tojson": return try toJSON(value, args)
        case "items":
            try args.none(name)
            if value.isUndefined { return .generator(TemplateGenerator("do_items") { [] }) }
            guard case .dict(let d) = value else { throw .type("Can only get item pairs from a mapping.") }
            return .generator(TemplateGenerator("do_items") { d.pairs.map { .tuple([.string($0), $1]) } })
        case "reverse": try args.none(name); return try reverse(value)
        case "select", "reject", "selectattr", "rejectattr":
            return try selectOrReject(value, args, name: name, keep: name.hasPrefix("select"), attribute: name.hasSuffix("attr"))
        case "map": return try map(value, args)
        case "attr":
            let attribute = try args.bind(name, ["name"], required: 1)[0]!
            guard case .string(let n) = attribute else { return .undefined("\(value.objectTypeRepr) has no attribute \(PythonFormat.repr(attribute))") }
            return try TemplateAccess.attribute(value, n)
        case "abs":
            try args.none(name)
            switch value.number {
            case .int(let i)?:
                guard i != Int.min else { throw .unsupported("integers beyond 64 bits") }
                return .int(abs(i))
            case .double(let d)?: return .double(abs(d))
            case nil: throw .type("bad operand type for abs(): '\(value.typeName)'")
            }
        case "int": return try toInt(value, args)
        case "dictsort": return try dictsort(value, args)
        case "indent": return try indent(value, args)
        case "float":
            let fallback = try args.bind(name, ["default"])[0] ?? .double(0)
            try value.requireDefined()   // float(Undefined) raises UndefinedError
            switch value {
            case .double: return value
            case .int, .bool: return .double(value.number!.asDouble)
            case .string(let s): return pythonFloat(s).map { .double($0) } ?? fallback
            default: return fallback
            }
        default:
            throw .unknownFilter(name)
        }
    }
}
