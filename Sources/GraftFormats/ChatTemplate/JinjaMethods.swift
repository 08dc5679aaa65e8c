/// Python methods of strings, dicts and lists that templates call (`content.strip()`,
/// `tool.items()`). Every Python method name resolves, so `x.items is defined` is true as in
/// Jinja; the ones Graft does not implement fail when called, and the mutating ones are blocked
/// the way Jinja's immutable sandbox blocks them.
enum JinjaMethods {
    private static let stringMethods: Set<String> = [
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
        "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
        "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
        "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
        "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
        "title", "translate", "upper", "zfill",
    ]
    private static let dictMethods: Set<String> = ["copy", "fromkeys", "get", "items", "keys", "values"]
    private static let dictMutators: Set<String> = ["clear", "pop", "popitem", "setdefault", "update"]
    private static let listMethods: Set<String> = ["copy", "count", "index"]
    private static let tupleMethods: Set<String> = ["count", "index"]
    private static let listMutators: Set<String> = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"]

    /// The bound method `object.name`, nil when the object has no such method.
    static func attribute(_ object: TemplateValue, _ name: String) -> TemplateValue? {
        let (methods, mutators): (Set<String>, Set<String>)
        switch object {
        case .string: (methods, mutators) = (stringMethods, [])
        case .dict: (methods, mutators) = (dictMethods, dictMutators)
        case .list: (methods, mutators) = (listMethods, listMutators)
        case .tuple: (methods, mutators) = (tupleMethods, [])
        default: return nil
        }
        if methods.contains(name) { return .function(.method(object, name)) }
        if mutators.contains(name) {
            return .undefined("access to attribute '\(name)' of '\(object.typeName)' object is unsafe.")
        }
        return nil
    }

    static func call(_ receiver: TemplateValue, _ name: String, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let qualified = "\(receiver.typeName).\(name)"
        switch receiver {
        case .string(let s): return try callString(s, name, qualified, args)
        case .dict(let d): return try callDict(d, name, qualified, args)
        case .list(let l), .tuple(let l): return try callList(l, name, qualified, args)
        default: throw .unsupported(qualified)
        }
    }

    private static func text(_ v: TemplateValue?, _ function: String) throws(EvalError) -> String? {
        guard let v = v.orNone else { return nil }
        guard case .string(let s) = v else { throw .type("\(function)() argument must be str or None, not \(v.typeName)") }
        return s
    }

    private static func integer(_ v: TemplateValue?, _ function: String, default d: Int) throws(EvalError) -> Int {
        guard let v else { return d }
        guard let i = v.intValue else { throw .type("'\(v.typeName)' object cannot be interpreted as an integer") }
        return i
    }

    private static func callString(_ s: String, _ name: String, _ f: String, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try text(try args.bind(f, ["chars"])[0], f)
            return .string(PythonString.strip(s, chars, name == "strip" ? .both : name == "lstrip" ? .left : .right))
        case "split", "rsplit":
            let a = try args.bind(f, ["sep", "maxsplit"])
            let sep = try text(a[0], f)
            if sep?.unicodeScalars.isEmpty == true { throw .type("empty separator") }
            let max = try integer(a[1], f, default: -1)
            let parts = name == "split" ? PythonString.split(s, sep, maxSplit: max) : PythonString.rsplit(s, sep, maxSplit: max)
            return .list(parts.map { .string($0) })
        case "startswith", "endswith":
            let prefix = try args.bind(f, ["prefix"], required: 1)[0]!
            let candidates: [TemplateValue]
            if case .tuple(let l) = prefix { candidates = l } else { candidates = [prefix] }
            for candidate in candidates {
                guard case .string(let p) = candidate else {
                    throw .type("\(name) first arg must be str or a tuple of str, not \(candidate.typeName)")
                }
                if name == "startswith" ? PythonString.hasPrefix(s, p) : PythonString.hasSuffix(s, p) { return .bool(true) }
            }
            return .bool(false)
        case "upper", "lower", "title", "capitalize":
            try args.none(f)
            switch name {
            case "upper": return .string(PythonString.upper(s))
            case "lower": return .string(PythonString.lower(s))
            case "title": return .string(PythonString.title(s))
            default: return .string(PythonString.capitalize(s))
            }
        case "replace":
            let a = try args.bind(f, ["old", "new", "count"], required: 2)
            guard let old = try text(a[0], f), let new = try text(a[1], f) else { throw .type("replace() arguments must be str") }
            return .string(PythonString.replace(s, old, new, count: try integer(a[2], f, default: -1)))
        case "find", "count":
            guard let sub = try text(try args.bind(f, ["sub"], required: 1)[0], f) else { throw .type("\(f)() argument must be str") }
            if name == "count" { return .int(PythonString.occurrences(sub, in: s)) }
            return .int(PythonString.find(PythonString.scalars(sub), in: PythonString.scalars(s)) ?? -1)
        case "removeprefix", "removesuffix":
            guard let affix = try text(try args.bind(f, ["affix"], required: 1)[0], f) else { throw .type("\(f)() argument must be str") }
            let n = PythonString.count(affix)
            if name == "removeprefix", PythonString.hasPrefix(s, affix) { return .string(PythonString.string(s.unicodeScalars.dropFirst(n))) }
            if name == "removesuffix", PythonString.hasSuffix(s, affix), n > 0 { return .string(PythonString.string(s.unicodeScalars.dropLast(n))) }
            return .string(s)
        case "splitlines":
            try args.none(f)
            return .list(PythonString.splitLines(s).map { .string($0) })
        case "join":
            let items = try TemplateAccess.iterate(try args.bind(f, ["iterable"], required: 1)[0]!)
            var parts: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let part) = item else { throw .type("sequence item \(i): expected str instance, \(item.typeName) found") }
                parts.append(part)
            }
            return .string(parts.joined(separator: s))
        default:
            throw .unsupported(f)
        }
    }

    private static func callList(_ l: [TemplateValue], _ name: String, _ f: String, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        switch name {
        case "copy":
            try args.none(f)
            return .list(l)
        case "count":
            let x = try args.bind(f, ["value"], required: 1)[0]!
            return .int(l.count { TemplateOperations.equal($0, x) })
        case "index":
            let x = try args.bind(f, ["value"], required: 1)[0]!
            guard let i = l.firstIndex(where: { TemplateOperations.equal($0, x) }) else {
                throw .type("\(PythonFormat.repr(x)) is not in list")
            }
            return .int(i)
        default:
            throw .unsupported(f)
        }
    }

    /// `items()`, `keys()` and `values()` return lists (Python returns views, which iterate and
    /// test alike but print as `dict_items([...])`).
    private static func callDict(_ d: OrderedDict<TemplateValue>, _ name: String, _ f: String, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        switch name {
        case "items":
            try args.none(f)
            return .list(d.pairs.map { .tuple([.string($0), $1]) })
        case "keys":
            try args.none(f)
            return .list(d.keys.map { .string($0) })
        case "values":
            try args.none(f)
            return .list(d.values)
        case "get":
            let a = try args.bind(f, ["key", "default"], required: 1)
            if let unhashable = a[0]!.unhashableType { throw .type("unhashable type: '\(unhashable)'") }
            if case .string(let key) = a[0]!, let v = d[key] { return v }
            return a[1] ?? .none
        case "copy":
            try args.none(f)
            return .dict(d)
        default:
            throw .unsupported(f)
        }
    }
}
