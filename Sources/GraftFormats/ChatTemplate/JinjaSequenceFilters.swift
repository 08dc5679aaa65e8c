/// The filters over sequences: picking (`first`, `last`), joining, reversing, selecting,
/// mapping and sorting. Those Jinja implements as generators return generators here too.
extension JinjaFilters {
    static func firstOrLast(_ value: TemplateValue, first: Bool) throws(EvalError) -> TemplateValue {
        let items: [TemplateValue]
        switch value {
        case .generator(let g):
            guard first else { throw .type("'generator' object is not reversible") }
            items = try g.drain()
        case .string, .list, .tuple, .dict, .undefined:
            items = try TemplateAccess.iterate(value)
        default:
            // `first` iterates, `last` calls reversed(): their errors differ as in Python.
            throw .type(first ? "'\(value.typeName)' object is not iterable" : "'\(value.typeName)' object is not reversible")
        }
        guard let item = first ? items.first : items.last else {
            return .undefined("No \(first ? "first" : "last") item, sequence was empty.")
        }
        return item
    }

    static func join(_ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let a = try args.bind("join", ["d", "attribute"])
        var items = try TemplateAccess.iterate(value)
        if let attribute = a[1].orNone { items = try items.map { item throws(EvalError) in try attributeGetter(attribute)(item) } }
        return .string(items.map(PythonFormat.str).joined(separator: a[0].map(PythonFormat.str) ?? ""))
    }

    static func reverse(_ value: TemplateValue) throws(EvalError) -> TemplateValue {
        switch value {
        case .string(let s): return .string(PythonString.string(s.unicodeScalars.reversed()))
        case .list, .tuple, .dict, .undefined:
            let items = try TemplateAccess.iterate(value)
            return .generator(TemplateGenerator("reversed") { items.reversed() })
        case .generator:
            // reversed() refuses a generator; Jinja falls back to a reversed list.
            return .list(try TemplateAccess.iterate(value).reversed())
        default:
            throw .runtime("argument must be iterable")
        }
    }

    /// Jinja's `make_attrgetter`: dotted parts looked up as items (`environment.getitem`),
    /// parts made of digits as integer indices.
    static func attributeGetter(_ attribute: TemplateValue, default fallback: TemplateValue? = nil) throws(EvalError) -> (TemplateValue) throws(EvalError) -> TemplateValue {
        let parts: [TemplateValue]
        if case .string(let path) = attribute {
            parts = path.split(separator: ".", omittingEmptySubsequences: false).map { part in
                if let i = Int(part), part.allSatisfy(\.isASCII) { return .int(i) }
                return .string(String(part))
            }
        } else {
            parts = [attribute]
        }
        return { item throws(EvalError) in
            var v = item
            for part in parts {
                v = try TemplateAccess.item(v, part)
                if let fallback, v.isUndefined { return fallback }
            }
            return v
        }
    }

    static func selectOrReject(_ value: TemplateValue, _ args: CallArguments, name: String, keep: Bool, attribute: Bool) throws(EvalError) -> TemplateValue {
        var positional = args.positional
        var getter: (TemplateValue) throws(EvalError) -> TemplateValue = { $0 }
        if attribute {
            guard !positional.isEmpty else { throw .type("\(name)() missing required argument 'attr'") }
            getter = try attributeGetter(positional.removeFirst())
        }
        let test: String?
        if positional.isEmpty { test = nil } else {
            guard case .string(let t) = positional.removeFirst() else { throw .type("\(name)() test name must be a string") }
            test = t
        }
        let testArgs = CallArguments(positional: positional, keyword: args.keyword)
        if let test, !JinjaTests.names.contains(test) { throw .unknownTest(test) }
        return .generator(TemplateGenerator("select_or_reject") { () throws(EvalError) in
            guard value.isTruthy else { return [] }
            var kept: [TemplateValue] = []
            for item in try TemplateAccess.iterate(value) {
                let subject = try getter(item)
                let passed = try test.map { t throws(EvalError) in try JinjaTests.apply(t, subject, testArgs) } ?? subject.isTruthy
                if passed == keep { kept.append(item) }
            }
            return kept
        })
    }

    /// `map(attribute='x', default=…)` or `map('filter', args…)`.
    static func map(_ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let transform: (TemplateValue) throws(EvalError) -> TemplateValue
        if args.positional.isEmpty, let attribute = args.keyword.first(where: { $0.name == "attribute" })?.value {
            let fallback = args.keyword.first(where: { $0.name == "default" })?.value
            if let extra = args.keyword.first(where: { $0.name != "attribute" && $0.name != "default" }) {
                throw .type("Unexpected keyword argument '\(extra.name)'")
            }
            transform = try attributeGetter(attribute, default: fallback)
        } else {
            guard case .string(let filter)? = args.positional.first else { throw .type("map requires a filter argument") }
            guard names.contains(filter) else { throw .unknownFilter(filter) }
            let filterArgs = CallArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            transform = { item throws(EvalError) in try apply(filter, item, filterArgs) }
        }
        return .generator(TemplateGenerator("sync_do_map") { () throws(EvalError) in
            guard value.isTruthy else { return [] }
            return try TemplateAccess.iterate(value).map { item throws(EvalError) in try transform(item) }
        })
    }

    /// `dictsort(case_sensitive=False, by='key', reverse=False)`: the (key, value) pairs sorted,
    /// strings compared lowercased unless case-sensitive (Python's stable `sorted`).
    static func dictsort(_ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let a = try args.bind("dictsort", ["case_sensitive", "by", "reverse"])
        guard case .dict(let d) = value else { throw .type("'\(value.typeName)' object has no attribute 'items'") }
        let position: Int
        switch a[1].map(PythonFormat.str) ?? "key" {
        case "key": position = 0
        case "value": position = 1
        default: throw .runtime("You can only sort by either \"key\" or \"value\"")
        }
        let caseSensitive = a[0]?.isTruthy ?? false, reverse = a[2]?.isTruthy ?? false
        func sortKey(_ pair: TemplateValue) -> TemplateValue {
            let v = pair.sequence![position]
            if !caseSensitive, case .string(let s) = v { return .string(PythonString.lower(s)) }
            return v
        }
        let pairs: [TemplateValue] = d.pairs.map { .tuple([.string($0), $1]) }
        return .list(try stableSorted(pairs) { x, y throws(EvalError) in
            try TemplateOperations.order(.lt, sortKey(reverse ? y : x), sortKey(reverse ? x : y))
        })
    }

    /// A stable merge sort with a comparison that can fail (Python's `sorted`).
    static func stableSorted(_ items: [TemplateValue], by less: (TemplateValue, TemplateValue) throws(EvalError) -> Bool) throws(EvalError) -> [TemplateValue] {
        guard items.count > 1 else { return items }
        let middle = items.count / 2
        let left = try stableSorted(Array(items[..<middle]), by: less), right = try stableSorted(Array(items[middle...]), by: less)
        var out: [TemplateValue] = []
        var i = 0, j = 0
        while i < left.count, j < right.count {
            if try less(right[j], left[i]) { out.append(right[j]); j += 1 } else { out.append(left[i]); i += 1 }
        }
        return out + left[i...] + right[j...]
    }
}
