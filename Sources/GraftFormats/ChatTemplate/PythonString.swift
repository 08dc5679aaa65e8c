/// Python's `str` operations, done on Unicode scalars as Python does (Swift's `String` compares and
/// counts grapheme clusters under canonical equivalence, which would make `"\r\n"` one character
/// and `"é" == "e\u{301}"`). Chat templates see these through methods (`.strip()`, `.split()`),
/// filters (`trim`, `length`) and operators (`in`, `==`, slices).
enum PythonString {
    typealias Scalars = [Unicode.Scalar]

    static func scalars(_ s: String) -> Scalars { Array(s.unicodeScalars) }

    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    static func equal(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    static func less(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    static func count(_ s: String) -> Int { s.unicodeScalars.count }

    /// `str.isspace()` for one scalar: general category Zs, or bidirectional class WS, B or S.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    // MARK: strip

    enum Side { case both, left, right }

    /// `str.strip(chars)` / `lstrip` / `rstrip`; `chars == nil` strips whitespace.
    static func strip(_ s: String, _ chars: String?, _ side: Side) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let strip: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isSpace(c) }
        let v = scalars(s)
        var lo = 0, hi = v.count
        if side != .right { while lo < hi, strip(v[lo]) { lo += 1 } }
        if side != .left { while hi > lo, strip(v[hi - 1]) { hi -= 1 } }
        return string(v[lo..<hi])
    }

    // MARK: search

    /// The scalar offset of the first occurrence of `needle` at or after `from`, or nil.
    static func find(_ needle: Scalars, in hay: Scalars, from: Int = 0) -> Int? {
        if needle.isEmpty { return from <= hay.count ? from : nil }
        guard hay.count >= needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func contains(_ hay: String, _ needle: String) -> Bool { find(scalars(needle), in: scalars(hay)) != nil }

    static func hasPrefix(_ s: String, _ prefix: String) -> Bool { s.unicodeScalars.starts(with: prefix.unicodeScalars) }

    static func hasSuffix(_ s: String, _ suffix: String) -> Bool {
        s.unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed())
    }

    /// `str.count(sub)`: non-overlapping occurrences; an empty `sub` counts len + 1.
    static func occurrences(_ needle: String, in hay: String) -> Int {
        let n = scalars(needle), h = scalars(hay)
        if n.isEmpty { return h.count + 1 }
        var count = 0, i = 0
        while let j = find(n, in: h, from: i) { count += 1; i = j + n.count }
        return count
    }

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` between scalars, like Python.
    static func replace(_ s: String, _ old: String, _ new: String, count limit: Int = -1) -> String {
        let h = scalars(s), o = scalars(old), n = scalars(new)
        var out: Scalars = [], i = 0, done = 0
        if o.isEmpty {
            for c in h {
                if limit < 0 || done < limit { out += n; done += 1 }
                out.append(c)
            }
            if limit < 0 || done < limit { out += n }
            return string(out)
        }
        while limit < 0 || done < limit, let j = find(o, in: h, from: i) {
            out += h[i..<j]
            out += n
            i = j + o.count
            done += 1
        }
        out += h[i...]
        return string(out)
    }

    // MARK: split

    /// `str.split(sep, maxsplit)`; `sep == nil` splits on runs of whitespace and drops empty ends.
    static func split(_ s: String, _ sep: String?, maxSplit: Int = -1) -> [String] {
        let v = scalars(s)
        guard let sep else {
            var parts: [String] = [], i = 0, splits = 0
            while true {
                while i < v.count, isSpace(v[i]) { i += 1 }
                if i == v.count { break }
                if maxSplit >= 0, splits == maxSplit {
                    parts.append(string(v[i...]))   // Python keeps the rest as is, trailing spaces included
                    break
                }
                var j = i
                while j < v.count, !isSpace(v[j]) { j += 1 }
                parts.append(string(v[i..<j]))
                splits += 1
                i = j
            }
            return parts
        }
        let p = scalars(sep)
        var parts: [String] = [], i = 0
        while maxSplit < 0 || parts.count < maxSplit, let j = find(p, in: v, from: i) {
            parts.append(string(v[i..<j]))
            i = j + p.count
        }
        parts.append(string(v[i...]))
        return parts
    }

    /// `str.rsplit(sep, maxsplit)`.
    static func rsplit(_ s: String, _ sep: String?, maxSplit: Int = -1) -> [String] {
        if maxSplit < 0 { return split(s, sep) }
        let reversed = string(s.unicodeScalars.reversed())
        let reversedSep = sep.map { string($0.unicodeScalars.reversed()) }
        return split(reversed, reversedSep, maxSplit: maxSplit).reversed().map { string($0.unicodeScalars.reversed()) }
    }

    /// `str.splitlines()`: splits at \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, U+2028 and U+2029; no empty last line.
    static func splitLines(_ s: String) -> [String] {
        let v = scalars(s)
        var lines: [String] = [], start = 0, i = 0
        while i < v.count {
            switch v[i].value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(string(v[start..<i]))
                i += v[i] == "\r" && i + 1 < v.count && v[i + 1] == "\n" ? 2 : 1
                start = i
            default:
                i += 1
            }
        }
        if start < v.count { lines.append(string(v[start...])) }
        return lines
    }

    // MARK: case

    static func upper(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars { out += c.properties.uppercaseMapping }
        return out
    }

    /// `str.lower()`, including Python's final-sigma rule (Σ at the end of a word becomes ς).
    static func lower(_ s: String) -> String {
        let v = scalars(s)
        return v.indices.map { lowerScalar(v, $0) }.joined()
    }

    /// `str.title()`: titlecase after an uncased scalar, lowercase after a cased one.
    static func title(_ s: String) -> String {
        let v = scalars(s)
        var out = "", previousCased = false
        for i in v.indices {
            out += previousCased ? lowerScalar(v, i) : v[i].properties.titlecaseMapping
            previousCased = v[i].properties.isCased
        }
        return out
    }

    /// `str.capitalize()` (Python ≥ 3.8): the first scalar titlecased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        let v = scalars(s)
        return v.indices.map { $0 == 0 ? v[0].properties.titlecaseMapping : lowerScalar(v, $0) }.joined()
    }

    /// The lowercase of `v[i]` in its context (CPython's `lower_ucs4`).
    private static func lowerScalar(_ v: Scalars, _ i: Int) -> String {
        v[i] == "\u{3A3}" && finalSigma(v, i) ? "\u{3C2}" : v[i].properties.lowercaseMapping
    }

    /// CPython's `handle_capital_sigma`: preceded by a cased letter and not followed by one,
    /// skipping case-ignorable scalars on both sides.
    private static func finalSigma(_ v: Scalars, _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, v[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, v[j].properties.isCased else { return false }
        j = i + 1
        while j < v.count, v[j].properties.isCaseIgnorable { j += 1 }
        return j == v.count || !v[j].properties.isCased
    }

    // MARK: repr

    /// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`, with escapes for
    /// backslash, quotes, control and other non-printable scalars.
    static func repr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\": out += "\\" + String(c)
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default:
                if isPrintable(c) { out.unicodeScalars.append(c) } else { out += hexEscape(c) }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// Python's `\xhh`, `\uhhhh` or `\Uhhhhhhhh` form of a scalar (as `repr` and backslashreplace write it).
    static func hexEscape(_ c: Unicode.Scalar) -> String {
        let hex = String(c.value, radix: 16)
        if c.value < 0x100 { return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex }
        if c.value < 0x10000 { return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex }
        return "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// `str.isprintable()` for one scalar: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs other than space.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
            return false
        case .spaceSeparator:
            return c == " "
        default:
            return true
        }
    }
}
