/// Jinja's attribute and item lookup (`x.name`, `x[key]`, slices), iteration and `len`, as the
/// sandboxed environment transformers uses does them. A missing key or index gives an undefined
/// value carrying Jinja's message; only using that value raises.
enum TemplateAccess {
    /// `x.name`: a method of str/dict/list first (Python attributes win), then the item.
    static func attribute(_ object: TemplateValue, _ name: String) throws(EvalError) -> TemplateValue {
        try object.requireDefined()
        if let method = JinjaMethods.attribute(object, name) { return method }
        switch object {
        case .dict(let d): if let v = d[name] { return v }
        case .namespace(let ns): if let v = ns.attributes[name] { return v }
        default: break
        }
        return .undefined("\(object.objectTypeRepr) has no attribute \(PythonString.repr(name))")
    }

    /// `x[key]`: the item first, then (for a string key) the attribute.
    static func item(_ object: TemplateValue, _ key: TemplateValue) throws(EvalError) -> TemplateValue {
        try object.requireDefined()
        switch (object, key) {
        case let (.dict(d), .string(k)):
            if let v = d[k] { return v }
        case let (.namespace(ns), .string(k)):
            if let v = ns.attributes[k] { return v }
        case let (.list(items), i) where i.isIntLike, let (.tuple(items), i) where i.isIntLike:
            if let j = index(i.intValue!, count: items.count) { return items[j] }
        case let (.string(s), i) where i.isIntLike:
            let scalars = PythonString.scalars(s)
            if let j = index(i.intValue!, count: scalars.count) { return .string(String(scalars[j])) }
        default: break
        }
        if case .string(let name) = key, let method = JinjaMethods.attribute(object, name) { return method }
        // Jinja quotes the type for a missing attribute but not for a missing element.
        if key.isString { return .undefined("\(object.objectTypeRepr) has no attribute \(PythonFormat.repr(key))") }
        return .undefined("\(object.objectTypeName) has no element \(PythonFormat.repr(key))")
    }

    private static func index(_ i: Int, count: Int) -> Int? {
        let j = i < 0 ? i + count : i
        return j >= 0 && j < count ? j : nil
    }

    /// `x[start:stop:step]` on a list, tuple or string, with Python's clamping of out-of-range
    /// bounds. Jinja compiles slices to plain Python subscripts, so other values fail as in Python
    /// — unless Jinja folded the slice at compile time (`lenient`, see `JinjaConstantFolding`),
    /// where its `getitem` turns those type errors into an undefined value.
    static func slice(_ object: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?,
                      lenient: Bool = false) throws(EvalError) -> TemplateValue {
        try object.requireDefined()
        func typeError(_ message: String) -> EvalError? { lenient ? nil : .type(message) }
        let undefined = TemplateValue.undefined("\(object.objectTypeName) has no element slice")
        switch object {
        case .list, .tuple, .string: break
        case .dict: if let e = typeError("unhashable type: 'slice'") { throw e } else { return undefined }
        default: if let e = typeError("'\(object.typeName)' object is not subscriptable") { throw e } else { return undefined }
        }
        var bounds: [Int?] = []
        for v in [start, stop, step] {
            guard let v = v.orNone else { bounds.append(nil); continue }
            guard let i = v.intValue else {
                if let e = typeError("slice indices must be integers or None or have an __index__ method") { throw e }
                return undefined
            }
            bounds.append(i)
        }
        let (lo, hi, by) = (bounds[0], bounds[1], bounds[2] ?? 1)
        guard by != 0 else { throw .type("slice step cannot be zero") }
        func pick<T>(_ items: [T]) -> [T] {
            let n = items.count
            func adjust(_ v: Int?, _ defaultValue: Int) -> Int {
                guard var v else { return defaultValue }
                if v < 0 { v += n; if v < 0 { v = by < 0 ? -1 : 0 } }
                else if v >= n { v = by < 0 ? n - 1 : n }
                return v
            }
            var i = adjust(lo, by > 0 ? 0 : n - 1)
            let end = adjust(hi, by > 0 ? n : -1)
            var out: [T] = []
            while by > 0 ? i < end : i > end { out.append(items[i]); i += by }
            return out
        }
        switch object {
        case .list(let items): return .list(pick(items))
        case .tuple(let items): return .tuple(pick(items))
        case .string(let s): return .string(PythonString.string(pick(PythonString.scalars(s))))
        default: return undefined
        }
    }

    /// The items a `for` loop (or a filter) walks: list items, string scalars, dict keys.
    static func iterate(_ value: TemplateValue) throws(EvalError) -> [TemplateValue] {
        switch value {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .dict(let d): return d.keys.map { .string($0) }
        case .generator(let g): return try g.drain()
        default: throw .type("'\(value.typeName)' object is not iterable")
        }
    }

    /// Python's `len(x)` (an undefined value has length 0).
    static func length(_ value: TemplateValue) throws(EvalError) -> Int {
        switch value {
        case .undefined: return 0
        case .string(let s): return PythonString.count(s)
        case .list(let items), .tuple(let items): return items.count
        case .dict(let d): return d.count
        default: throw .type("object of type '\(value.typeName)' has no len()")
        }
    }
}

extension TemplateValue {
    var isString: Bool {
        if case .string = self { return true }
        return false
    }
}
