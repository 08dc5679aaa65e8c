/// Python's `json.dumps`, as transformers' `tojson` filter calls it:
/// `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
/// Without an indent the separators are `", "` and `": "`; with one, items go on their own
/// lines and the item separator loses its space. Floats print as Python's `repr`.
struct PythonJSON {
    var ensureASCII = false
    /// nil: one line. Otherwise the text repeated per nesting level (`indent=4` is four spaces).
    var indent: String? = nil
    var itemSeparator = ", "
    var keySeparator = ": "
    var sortKeys = false

    func dumps(_ value: TemplateValue) throws(EvalError) -> String {
        var out = ""
        try encode(value, level: 0, into: &out)
        return out
    }

    private func encode(_ value: TemplateValue, level: Int, into out: inout String) throws(EvalError) {
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" }
            else { out += PythonFormat.floatRepr(d) }
        case .string(let s): out += quote(s)
        case .list(let items), .tuple(let items):
            try container("[", "]", items.count, level, &out) { i, level, out throws(EvalError) in
                try encode(items[i], level: level, into: &out)
            }
        case .dict(let d):
            var order = Array(d.keys.indices)
            if sortKeys { order.sort { PythonString.less(d.keys[$0], d.keys[$1]) } }
            try container("{", "}", d.count, level, &out) { i, level, out throws(EvalError) in
                out += quote(d.keys[order[i]]) + keySeparator
                try encode(d.values[order[i]], level: level, into: &out)
            }
        case .undefined, .generator, .namespace, .function:
            throw .type("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private func container(_ open: String, _ close: String, _ count: Int, _ level: Int, _ out: inout String,
                           _ element: (Int, Int, inout String) throws(EvalError) -> Void) throws(EvalError) {
        guard count > 0 else { out += open + close; return }
        out += open
        let inner = indent.map { "\n" + String(repeating: $0, count: level + 1) }
        for i in 0..<count {
            if i > 0 { out += itemSeparator }
            if let inner { out += inner }
            try element(i, level + 1, &out)
        }
        if let indent { out += "\n" + String(repeating: indent, count: level) }
        out += close
    }

    /// A JSON string: `"` `\` and control characters escaped (and all non-ASCII with ensure_ascii).
    private func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += hex4(0xD800 | (v >> 10)) + hex4(0xDC00 | (v & 0x3FF))
                    } else {
                        out += hex4(c.value)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    private func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - h.count) + h
    }
}
