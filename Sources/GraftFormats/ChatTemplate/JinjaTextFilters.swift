import Foundation

/// The filters that format or convert one value: `title`, `indent`, `tojson`, `int`, `float`.
extension JinjaFilters {
    /// Jinja's `title`: each word's first scalar uppercased and the rest lowercased, where words
    /// begin after spaces, `-`, `(`, `{`, `[` or `<`.
    static func title(_ s: String) -> String {
        let separators: Set<Unicode.Scalar> = ["-", "(", "{", "[", "<"]
        func isSeparator(_ c: Unicode.Scalar) -> Bool { PythonString.isSpace(c) || separators.contains(c) }
        let v = PythonString.scalars(s)
        var out = "", i = 0
        while i < v.count {
            if isSeparator(v[i]) { out.unicodeScalars.append(v[i]); i += 1; continue }
            var j = i
            while j < v.count, !isSeparator(v[j]) { j += 1 }
            out += PythonString.upper(String(v[i])) + PythonString.lower(PythonString.string(v[(i + 1)..<j]))
            i = j
        }
        return out
    }

    /// `indent(width=4, first=False, blank=False)`: every line after the first (and the first
    /// with `first`) prefixed; blank lines only with `blank`.
    static func indent(_ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let a = try args.bind("indent", ["width", "first", "blank"])
        let prefix: String
        switch a[0] {
        case nil: prefix = "    "
        case .string(let s)?: prefix = s
        case let w?:
            guard let n = w.intValue else { throw .type("can't multiply sequence by non-int of type '\(w.typeName)'") }
            prefix = String(repeating: " ", count: max(0, n))
        }
        try value.requireDefined()
        guard case .string(let text) = value else {
            throw .type("unsupported operand type(s) for +=: '\(value.typeName)' and 'str'")
        }
        let lines = PythonString.splitLines(text + "\n")
        var result: String
        if a[2]?.isTruthy == true {
            result = lines.joined(separator: "\n" + prefix)
        } else {
            result = lines.first ?? ""
            if lines.count > 1 { result += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : prefix + $0 }.joined(separator: "\n") }
        }
        if a[1]?.isTruthy == true { result = prefix + result }
        return .string(result)
    }

    static func toJSON(_ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let a = try args.bind("tojson", ["ensure_ascii", "indent", "separators", "sort_keys"])
        var encoder = PythonJSON()
        encoder.ensureASCII = a[0]?.isTruthy ?? false
        switch a[1].orNone {
        case nil: break
        case .string(let s)?: encoder.indent = s
        case let v? where v.isIntLike: encoder.indent = String(repeating: " ", count: max(0, v.intValue!))
        case let v?: throw .type("indent must be an int or a string, not \(v.typeName)")
        }
        if encoder.indent != nil { encoder.itemSeparator = "," }
        if let separators = a[2].orNone {
            guard let pair = separators.sequence, pair.count == 2, case .string(let item) = pair[0], case .string(let key) = pair[1] else {
                throw .type("separators must be a pair of strings")
            }
            encoder.itemSeparator = item
            encoder.keySeparator = key
        }
        encoder.sortKeys = a[3]?.isTruthy ?? false
        return .string(try encoder.dumps(value))
    }

    /// Jinja's `int` filter: ints and floats truncate, strings parse as Python's `int(s, base)` and
    /// then `int(float(s))`, anything else gives the default.
    static func toInt(_ value: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        let a = try args.bind("int", ["default", "base"])
        let fallback = a[0] ?? .int(0)
        let base = a[1]?.intValue ?? 10
        try value.requireDefined()   // int(Undefined) raises UndefinedError
        switch value {
        case .int, .bool: return .int(value.intValue!)
        case .double(let d):
            guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else { return fallback }
            return .int(i)
        case .string(let s):
            let text = PythonString.strip(s, nil, .both)
            if let i = pythonInt(text, base: base) { return .int(i) }
            if let d = pythonFloat(text), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
            return fallback
        default:
            return fallback
        }
    }

    /// Python's `int(text, base)`: base 0 or 2–36, a sign, a `0x`/`0o`/`0b` prefix matching the
    /// base, single underscores between digits (or right after the prefix).
    static func pythonInt(_ text: String, base: Int) -> Int? {
        guard base == 0 || (2...36).contains(base) else { return nil }
        var body = Substring(text)
        var negative = false
        if let sign = body.first, sign == "+" || sign == "-" { negative = sign == "-"; body = body.dropFirst() }
        var radix = base
        let prefixes: [Int: String] = [16: "0x", 8: "0o", 2: "0b"]
        if let (prefixRadix, _) = prefixes.first(where: { body.lowercased().hasPrefix($0.value) }), base == 0 || base == prefixRadix {
            radix = prefixRadix
            body = body.dropFirst(2)
            if body.hasPrefix("_") { body = body.dropFirst() }
        } else if base == 0 {
            radix = 10
            // Base 0 rejects leading zeros in a nonzero decimal, as Python literals do.
            if body.hasPrefix("0"), body.contains(where: { $0 != "0" && $0 != "_" }) { return nil }
        }
        guard !body.isEmpty, !body.hasPrefix("_"), !body.hasSuffix("_"), !body.contains("__") else { return nil }
        guard let magnitude = Int(body.replacingOccurrences(of: "_", with: ""), radix: radix) else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// Python's `float(text)` for decimal text, `inf` and `nan` (surrounding whitespace stripped).
    static func pythonFloat(_ s: String) -> Double? {
        let text = PythonString.strip(s, nil, .both)
        let lowered = text.lowercased()
        let unsigned = lowered.hasPrefix("-") || lowered.hasPrefix("+") ? String(lowered.dropFirst()) : lowered
        if ["inf", "infinity", "nan"].contains(unsigned) {
            let v = unsigned == "nan" ? Double.nan : Double.infinity
            return lowered.hasPrefix("-") ? -v : v
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE_".contains($0)) }),
              !text.hasPrefix("_"), !text.hasSuffix("_"), !text.contains("__") else { return nil }
        return Double(text.replacingOccurrences(of: "_", with: ""))
    }
}
