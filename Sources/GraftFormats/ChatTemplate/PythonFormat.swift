/// Python's `str()` and `repr()` of template values, which is what `{{ x }}`, `~`, `|string` and
/// `|join` print: `True`, `None`, `1.0`, `['a', 1]`, `{'k': None}`.
enum PythonFormat {
    /// `str(x)` as Jinja prints it (an undefined value prints as "").
    static func str(_ value: TemplateValue) -> String {
        switch value {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr(value)
        }
    }

    static func repr(_ value: TemplateValue) -> String {
        switch value {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return floatRepr(d)
        case .string(let s): return PythonString.repr(s)
        case .list(let items): return "[" + items.map(repr).joined(separator: ", ") + "]"
        case .tuple(let items): return "(" + items.map(repr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .dict(let d): return "{" + d.pairs.map { PythonString.repr($0) + ": " + repr($1) }.joined(separator: ", ") + "}"
        case .namespace(let ns): return "<Namespace " + repr(.dict(ns.attributes)) + ">"
        case .generator(let g): return "<generator object \(g.name)>"
        case .function(.global(let name)): return "<function \(name)>"
        case .function(.method(let receiver, let name)): return "<built-in method \(name) of \(receiver.typeName) object>"
        case .function(.macro(let m)): return "<Macro \(PythonString.repr(m.definition.name))>"
        }
    }

    /// `repr(float)`: the shortest digits that round-trip, in fixed notation when the decimal
    /// exponent is in [-4, 16), otherwise as `1e+16`, `1.5e-05`; always with a `.0` or exponent.
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift's description also prints the shortest round-trip digits; only the layout differs.
        var text = d.description
        let negative = text.hasPrefix("-")
        if negative { text.removeFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(parts[0] + (parts.count > 1 ? parts[1] : ""))
        var point = parts[0].count + exponent   // digits[0..<point] is the integer part
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        if digits == ["0"] { return negative ? "-0.0" : "0.0" }
        let sign = negative ? "-" : ""
        let scientific = point - 1
        if scientific < -4 || scientific >= 16 {
            let mantissa = digits.count == 1 ? String(digits) : String(digits[0]) + "." + String(digits[1...])
            let e = abs(scientific) < 10 ? "0\(abs(scientific))" : "\(abs(scientific))"
            return sign + mantissa + "e" + (scientific < 0 ? "-" : "+") + e
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
        if point >= digits.count { return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + String(digits[..<point]) + "." + String(digits[point...])
    }
}
