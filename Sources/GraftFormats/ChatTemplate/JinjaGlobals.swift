import Foundation

/// The functions a template can call by name: transformers' `raise_exception`, `strftime_now`,
/// `namespace` and `dict`, and Jinja's `range`. `strftime_now` reads the clock given to the
/// render, so tests (and reproducible training data) can pin the date.
struct JinjaGlobals {
    static let names = ["raise_exception", "strftime_now", "namespace", "dict", "range"]

    let now: Date
    let timeZone: TimeZone

    func call(_ name: String, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        switch name {
        case "raise_exception":
            throw .raised(PythonFormat.str(try args.bind(name, ["message"], required: 1)[0]!))
        case "strftime_now":
            guard case .string(let format) = try args.bind(name, ["format"], required: 1)[0]! else {
                throw .type("strftime() argument 1 must be str")
            }
            return .string(try Strftime.format(format, date: now, timeZone: timeZone))
        case "namespace":
            let attributes = try Self.dictionary(name, args)
            if let bad = attributes.keys.first(where: { $0.hasPrefix("_") }) {
                throw .type("Chat templates cannot store underscore-prefixed attributes on a namespace, but got \(PythonString.repr(bad)). Please rename the attribute.")
            }
            return .namespace(TemplateNamespace(attributes))
        case "dict":
            return .dict(try Self.dictionary(name, args))
        case "range":
            return try Self.range(args)
        default:
            throw .undefined("'\(name)' is undefined")
        }
    }

    /// Python's `dict(mapping_or_pairs, **kwargs)`.
    private static func dictionary(_ function: String, _ args: CallArguments) throws(EvalError) -> OrderedDict<TemplateValue> {
        guard args.positional.count <= 1 else { throw .type("\(function) expected at most 1 argument, got \(args.positional.count)") }
        var d = OrderedDict<TemplateValue>()
        switch args.positional.first {
        case nil: break
        case .dict(let source)?: d = source
        case let source?:
            for pair in try TemplateAccess.iterate(source) {
                guard let kv = pair.sequence, kv.count == 2, case .string(let key) = kv[0] else {
                    throw .type("\(function)() needs a mapping or key/value pairs with string keys")
                }
                d[key] = kv[1]
            }
        }
        for (key, value) in args.keyword { d[key] = value }
        return d
    }

    /// Jinja's sandboxed `range`: at most 100,000 items.
    private static func range(_ args: CallArguments) throws(EvalError) -> TemplateValue {
        guard !args.positional.isEmpty, args.positional.count <= 3, args.keyword.isEmpty else {
            throw .type("range expected 1 to 3 positional arguments, got \(args.positional.count)")
        }
        var bounds: [Int] = []
        for v in args.positional {
            guard let i = v.intValue else { throw .type("'\(v.typeName)' object cannot be interpreted as an integer") }
            bounds.append(i)
        }
        let (start, stop, step) = bounds.count == 1 ? (0, bounds[0], 1) : (bounds[0], bounds[1], bounds.count == 3 ? bounds[2] : 1)
        guard step != 0 else { throw .type("range() arg 3 must not be zero") }
        let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
        guard count <= 100_000 else { throw .type("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).") }
        return .list((0..<count).map { .int(start + $0 * step) })
    }
}
