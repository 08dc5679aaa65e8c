/// Jinja's operator tokens.
enum JinjaOperator: String, Sendable {
    case add = "+", sub = "-", div = "/", floorDiv = "//", mul = "*", pow = "**", mod = "%", tilde = "~"
    case lbracket = "[", rbracket = "]", lparen = "(", rparen = ")", lbrace = "{", rbrace = "}"
    case eq = "==", ne = "!=", gt = ">", gteq = ">=", lt = "<", lteq = "<="
    case assign = "=", dot = ".", colon = ":", pipe = "|", comma = ",", semicolon = ";"
}

struct JinjaToken: Sendable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String), string(String), integer(Int), float(Double)
        case op(JinjaOperator)
        case eof
    }

    let kind: Kind
    let location: TemplateLocation
}

/// Splits template text into tokens exactly as Jinja's lexer does under transformers' settings
/// (`trim_blocks=True`, `lstrip_blocks=True`, default delimiters, `keep_trailing_newline=False`):
///
/// - line breaks (`\r\n`, `\r`, `\n`) become `\n`, and one trailing newline of the template is dropped;
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all whitespace after;
/// - trim_blocks: a newline right after `%}` or `#}` is dropped (`+%}` keeps it);
/// - lstrip_blocks: spaces and tabs between the start of a line and `{%` or `{#` are dropped (`{%+` keeps them);
/// - `{% raw %}…{% endraw %}` passes its text through untouched.
struct JinjaLexer {
    private let s: [Unicode.Scalar]
    private let lineStarts: [Int]
    private var pos = 0
    /// Whether the last match ended a line (Jinja's `line_starting`); lstrip_blocks needs it for a
    /// tag whose text before it holds no newline.
    private var lineStarting = true
    private var tokens: [JinjaToken] = []

    static func tokenize(_ source: String) throws(ChatTemplateError) -> [JinjaToken] {
        var lexer = JinjaLexer(source: source)
        try lexer.run()
        lexer.tokens.append(JinjaToken(kind: .eof, location: lexer.location(lexer.s.count)))
        return lexer.tokens
    }

    private init(source: String) {
        var normalized: [Unicode.Scalar] = []
        var previousCR = false
        for c in source.unicodeScalars {
            if c == "\n", previousCR { previousCR = false; continue }
            previousCR = c == "\r"
            normalized.append(previousCR ? "\n" : c)
        }
        if normalized.last == "\n" { normalized.removeLast() }
        s = normalized
        lineStarts = [0] + normalized.indices.filter { normalized[$0] == "\n" }.map { $0 + 1 }
    }

    func location(_ offset: Int) -> TemplateLocation {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return TemplateLocation(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    private func fail(_ message: String, at offset: Int) -> ChatTemplateError {
        .syntax(message, at: location(offset))
    }

    private func at(_ i: Int, _ text: String) -> Bool {
        var j = i
        for c in text.unicodeScalars {
            guard j < s.count, s[j] == c else { return false }
            j += 1
        }
        return true
    }

    private func skipSpaces(from i: Int) -> Int {
        var j = i
        while j < s.count, PythonString.isSpace(s[j]) { j += 1 }
        return j
    }

    // MARK: text between tags

    private enum TagKind { case variable, block, comment, raw }

    private mutating func run() throws(ChatTemplateError) {
        while pos < s.count {
            guard let open = nextTag(from: pos) else {
                emitText(pos..<s.count, sign: nil, kind: nil)
                return
            }
            let signOffset = open + 2
            let sign: Unicode.Scalar? = signOffset < s.count && (s[signOffset] == "-" || s[signOffset] == "+") ? s[signOffset] : nil
            let kind: TagKind
            var rawEnd: Int? = nil
            switch s[open + 1] {
            case "{": kind = .variable
            case "#": kind = .comment
            default:
                rawEnd = matchRawBegin(at: open)
                kind = rawEnd == nil ? .block : .raw
            }
            emitText(pos..<open, sign: sign, kind: kind)
            lineStarting = false
            let afterOpener = signOffset + (sign == nil ? 0 : 1)
            switch kind {
            case .comment: try skipComment(opener: open, from: afterOpener)
            case .raw: try lexRaw(opener: open, from: rawEnd!)
            case .variable, .block:
                tokens.append(JinjaToken(kind: kind == .block ? .blockBegin : .variableBegin, location: location(open)))
                pos = afterOpener
                try lexTag(block: kind == .block)
            }
        }
    }

    private func nextTag(from i: Int) -> Int? {
        var j = i
        while j + 1 < s.count {
            if s[j] == "{", s[j + 1] == "{" || s[j + 1] == "%" || s[j + 1] == "#" { return j }
            j += 1
        }
        return nil
    }

    /// Emits the text before a tag after whitespace control: `-` strips all trailing whitespace;
    /// otherwise lstrip_blocks drops a whitespace-only tail of the last line before a block or comment.
    private mutating func emitText(_ range: Range<Int>, sign: Unicode.Scalar?, kind: TagKind?) {
        var end = range.upperBound
        if sign == "-" {
            while end > range.lowerBound, PythonString.isSpace(s[end - 1]) { end -= 1 }
        } else if sign != "+", let kind, kind != .variable {
            var lineStart = end
            while lineStart > range.lowerBound, s[lineStart - 1] != "\n" { lineStart -= 1 }
            let atLineStart = lineStart > range.lowerBound || lineStarting
            if atLineStart, lineStart < end, s[lineStart..<end].allSatisfy(PythonString.isSpace) { end = lineStart }
        }
        if end > range.lowerBound {
            tokens.append(JinjaToken(kind: .text(PythonString.string(s[range.lowerBound..<end])), location: location(range.lowerBound)))
        }
    }

    // MARK: comments and raw blocks

    private mutating func skipComment(opener: Int, from start: Int) throws(ChatTemplateError) {
        var j = start
        while j < s.count {
            if at(j, "+#}") { pos = j + 3; break }
            if at(j, "-#}") { pos = skipSpaces(from: j + 3); break }
            if at(j, "#}") { pos = j + 2 + (at(j + 2, "\n") ? 1 : 0); break }
            j += 1
        }
        guard j < s.count else { throw fail("missing end of comment tag '#}'", at: opener) }
        lineStarting = s[pos - 1] == "\n"
    }

    /// `{%[-+]? raw (-%}\s*|%})` at `i` (no trim_blocks newline here, as in Jinja); returns its end.
    private func matchRawBegin(at i: Int) -> Int? {
        var j = i + 2
        if j < s.count, s[j] == "-" || s[j] == "+" { j += 1 }
        j = skipSpaces(from: j)
        guard at(j, "raw") else { return nil }
        j = skipSpaces(from: j + 3)
        if at(j, "-%}") { return skipSpaces(from: j + 3) }
        if at(j, "%}") { return j + 2 }
        return nil
    }

    private mutating func lexRaw(opener: Int, from start: Int) throws(ChatTemplateError) {
        lineStarting = s[start - 1] == "\n"
        var j = start
        while let tag = nextTag(from: j) {
            j = tag + 1
            guard s[tag + 1] == "%" else { continue }
            var k = tag + 2
            let sign: Unicode.Scalar? = k < s.count && (s[k] == "-" || s[k] == "+") ? s[k] : nil
            if sign != nil { k += 1 }
            k = skipSpaces(from: k)
            guard at(k, "endraw") else { continue }
            k = skipSpaces(from: k + 6)
            let end: Int
            if at(k, "+%}") { end = k + 3 }
            else if at(k, "-%}") { end = skipSpaces(from: k + 3) }
            else if at(k, "%}") { end = k + 2 + (at(k + 2, "\n") ? 1 : 0) }
            else { continue }
            emitText(start..<tag, sign: sign, kind: .raw)
            pos = end
            lineStarting = s[end - 1] == "\n"
            return
        }
        throw fail("missing '{% endraw %}' for this raw block", at: opener)
    }

    // MARK: inside {{ }} and {% %}

    private mutating func lexTag(block: Bool) throws(ChatTemplateError) {
        var balance: [(closer: Unicode.Scalar, at: Int)] = []
        while pos < s.count {
            if balance.isEmpty, let end = matchTagEnd(block: block) {
                tokens.append(JinjaToken(kind: block ? .blockEnd : .variableEnd, location: location(pos)))
                pos = end
                lineStarting = s[end - 1] == "\n"
                return
            }
            let start = pos
            let c = s[pos]
            if PythonString.isSpace(c) {
                pos = skipSpaces(from: pos)
                continue
            }
            let kind: JinjaToken.Kind
            if let (end, value) = matchFloat() {
                kind = .float(value); pos = end
            } else if let (end, value) = try matchInteger() {
                kind = .integer(value); pos = end
            } else if c == "_" || c.properties.isXIDStart {
                var j = pos + 1
                while j < s.count, s[j].properties.isXIDContinue { j += 1 }
                kind = .name(PythonString.string(s[pos..<j])); pos = j
            } else if c == "'" || c == "\"" {
                kind = .string(try lexString(quote: c))
            } else if let op = matchOperator() {
                switch op {
                case .lbrace: balance.append(("}", start))
                case .lparen: balance.append((")", start))
                case .lbracket: balance.append(("]", start))
                case .rbrace, .rparen, .rbracket:
                    guard let open = balance.popLast() else { throw fail("unexpected '\(op.rawValue)'", at: start) }
                    guard String(open.closer) == op.rawValue else {
                        throw fail("unexpected '\(op.rawValue)', expected '\(open.closer)'", at: start)
                    }
                default: break
                }
                kind = .op(op); pos += op.rawValue.unicodeScalars.count
            } else {
                throw fail("unexpected character \(PythonString.repr(String(c)))", at: start)
            }
            tokens.append(JinjaToken(kind: kind, location: location(start)))
        }
        // Unclosed tag: Jinja's lexer just stops here; the parser reports the missing end.
    }

    private func matchTagEnd(block: Bool) -> Int? {
        if block {
            if at(pos, "+%}") { return pos + 3 }
            if at(pos, "-%}") { return skipSpaces(from: pos + 3) }
            if at(pos, "%}") { return pos + 2 + (at(pos + 2, "\n") ? 1 : 0) }
        } else {
            if at(pos, "-}}") { return skipSpaces(from: pos + 3) }
            if at(pos, "}}") { return pos + 2 }
        }
        return nil
    }

    private func isDigit(_ i: Int, radix: Int = 10) -> Bool {
        guard i < s.count, s[i].isASCII else { return false }
        return Int(String(s[i]), radix: radix) != nil
    }

    /// `(\d+_)*\d+` at `i`: digits with single underscores between them; returns the end.
    private func digitRun(at i: Int) -> Int? {
        guard isDigit(i) else { return nil }
        var j = i + 1
        while true {
            if isDigit(j) { j += 1 }
            else if j < s.count, s[j] == "_", isDigit(j + 1) { j += 2 }
            else { return j }
        }
    }

    /// Jinja's float rule: `D(.D)?e[+-]?D` or `D.D`, not right after a dot.
    private func matchFloat() -> (Int, Double)? {
        guard pos == 0 || s[pos - 1] != ".", let intEnd = digitRun(at: pos) else { return nil }
        func exponent(at i: Int) -> Int? {
            guard i < s.count, s[i] == "e" || s[i] == "E" else { return nil }
            var j = i + 1
            if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
            return digitRun(at: j)
        }
        let fractionEnd = intEnd < s.count && s[intEnd] == "." ? digitRun(at: intEnd + 1) : nil
        guard let end = fractionEnd.flatMap(exponent(at:)) ?? exponent(at: intEnd) ?? fractionEnd else { return nil }
        let text = PythonString.string(s[pos..<end].filter { $0 != "_" })
        return Double(text).map { (end, $0) }
    }

    /// Jinja's integer rule: `0b…`, `0o…`, `0x…`, `[1-9](_?\d)*` or `0(_?0)*`.
    private func matchInteger() throws(ChatTemplateError) -> (Int, Int)? {
        guard isDigit(pos) else { return nil }
        func run(from i: Int, radix: Int, allowed: (Int) -> Bool) -> Int? {
            var j = i, any = false
            while true {
                if j < s.count, s[j] == "_", allowed(j + 1) { j += 2; any = true }
                else if allowed(j) { j += 1; any = true }
                else { return any ? j : nil }
            }
        }
        var end: Int, radix = 10, digitsStart = pos
        if s[pos] == "0", pos + 1 < s.count, let prefixRadix = ["b": 2, "B": 2, "o": 8, "O": 8, "x": 16, "X": 16][Character(s[pos + 1])],
           let e = run(from: pos + 2, radix: prefixRadix, allowed: { isDigit($0, radix: prefixRadix) }) {
            end = e; radix = prefixRadix; digitsStart = pos + 2
        } else if s[pos] == "0" {
            end = pos + 1
            while true {
                if end < s.count, s[end] == "0" { end += 1 }
                else if end + 1 < s.count, s[end] == "_", s[end + 1] == "0" { end += 2 }
                else { break }
            }
        } else {
            end = run(from: pos, radix: 10, allowed: { isDigit($0) })!
        }
        let digits = PythonString.string(s[digitsStart..<end].filter { $0 != "_" })
        guard let value = Int(digits, radix: radix) else { throw fail("integer literal \(digits) does not fit in 64 bits", at: pos) }
        return (end, value)
    }

    private func matchOperator() -> JinjaOperator? {
        for op in ["//", "**", "==", "!=", ">=", "<="] where at(pos, op) { return JinjaOperator(rawValue: op) }
        return JinjaOperator(rawValue: String(s[pos]))
    }

    // MARK: string literals

    /// A quoted string, unescaped like Jinja: Python's `unicode-escape` codec applied to the text
    /// with non-ASCII scalars backslash-escaped first.
    private mutating func lexString(quote: Unicode.Scalar) throws(ChatTemplateError) -> String {
        let start = pos
        var j = pos + 1
        while j < s.count, s[j] != quote { j += s[j] == "\\" ? 2 : 1 }
        guard j < s.count else { throw fail("unterminated string literal", at: start) }
        pos = j + 1
        return try unescape(s[(start + 1)..<j], at: start)
    }

    private func unescape(_ body: ArraySlice<Unicode.Scalar>, at start: Int) throws(ChatTemplateError) -> String {
        var out = String.UnicodeScalarView()
        var i = body.startIndex
        func hex(_ count: Int, _ name: String) throws(ChatTemplateError) -> Unicode.Scalar {
            let digits = body[(i + 2)..<min(i + 2 + count, body.endIndex)]
            guard digits.count == count, let value = UInt32(PythonString.string(digits), radix: 16) else {
                throw fail("truncated \(name) escape in string literal", at: start)
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw fail("\(name) escape names a surrogate or a value past U+10FFFF, which Swift strings cannot hold", at: start)
            }
            return scalar
        }
        while i < body.endIndex {
            let c = body[i]
            guard c == "\\", i + 1 < body.endIndex else { out.append(c); i += 1; continue }
            let e = body[i + 1]
            var width = 2
            switch e {
            case "\n": break
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "x": out.append(try hex(2, "\\xXX")); width = 4
            case "u": out.append(try hex(4, "\\uXXXX")); width = 6
            case "U": out.append(try hex(8, "\\UXXXXXXXX")); width = 10
            case "0"..."7":
                var value: UInt32 = 0, k = i + 1
                while k < body.endIndex, k < i + 4, ("0"..."7").contains(body[k]) { value = value * 8 + body[k].value - 48; k += 1 }
                out.append(Unicode.Scalar(value)!)
                width = k - i
            case "N": throw fail("\\N{…} escapes are not supported", at: start)
            default:
                // Python keeps unknown escapes; a non-ASCII scalar after the backslash was turned into
                // its own \x/\u escape by backslashreplace, which now appears as literal text.
                out.append("\\")
                if e.isASCII { out.append(e) } else { out.append(contentsOf: PythonString.hexEscape(e).unicodeScalars.dropFirst()) }
            }
            i += width
        }
        return String(out)
    }
}
