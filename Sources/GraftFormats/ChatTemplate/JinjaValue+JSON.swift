extension JinjaValue {
    /// Parses JSON text, keeping the order of object keys (Foundation's JSON decoders do not,
    /// and templates serialize and iterate objects in order). Numbers without a fraction or
    /// exponent become integers, as Python's `json.loads` makes them.
    public init(json text: String) throws(ChatTemplateError) {
        var parser = JSONValueParser(bytes: Array(text.utf8))
        parser.skipSpace()
        self = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { throw parser.fail("unexpected text after the value") }
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
private struct JSONValueParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ message: String) -> ChatTemplateError { .invalidJSON(message, offset: position) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    private mutating func expect(_ c: UInt8) throws(ChatTemplateError) {
        guard current == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        position += 1
    }

    private mutating func literal(_ word: String, _ value: JinjaValue) throws(ChatTemplateError) -> JinjaValue {
        let w = Array(word.utf8)
        guard bytes.count - position >= w.count, Array(bytes[position..<(position + w.count)]) == w else { throw fail("invalid literal") }
        position += w.count
        return value
    }

    mutating func value(depth: Int) throws(ChatTemplateError) -> JinjaValue {
        guard depth < 512 else { throw fail("nesting deeper than 512 levels") }
        switch current {
        case UInt8(ascii: "{"):
            position += 1
            var object = JinjaObject()
            skipSpace()
            if current == UInt8(ascii: "}") { position += 1; return .object(object) }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                object[key] = try value(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                return .object(object)
            }
        case UInt8(ascii: "["):
            position += 1
            var items: [JinjaValue] = []
            skipSpace()
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"))
                return .array(items)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case let c? where c == UInt8(ascii: "-") || (0x30...0x39).contains(c): return try number()
        default: throw fail("expected a JSON value")
        }
    }

    private mutating func number() throws(ChatTemplateError) -> JinjaValue {
        let start = position
        func digits() -> Int {
            let s = position
            while let c = current, (0x30...0x39).contains(c) { position += 1 }
            return position - s
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let intStart = position
        let intDigits = digits()
        guard intDigits > 0, !(intDigits > 1 && bytes[intStart] == 0x30) else { throw fail("invalid number") }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("invalid number") }
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw fail("invalid number") }
            isInteger = false
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger {
            guard let i = Int(text) else { throw fail("integer \(text) does not fit in 64 bits") }
            return .integer(i)
        }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }

    private mutating func hex4() throws(ChatTemplateError) -> UInt32 {
        guard bytes.count - position >= 4, let v = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        position += 4
        return v
    }

    private mutating func string() throws(ChatTemplateError) -> String {
        position += 1   // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flush() { scalars.append(contentsOf: String(decoding: bytes[runStart..<position], as: UTF8.self).unicodeScalars) }
        while true {
            guard let c = current else { throw fail("unterminated string") }
            if c == UInt8(ascii: "\"") { flush(); position += 1; return String(scalars) }
            if c < 0x20 { throw fail("control character in string") }
            guard c == UInt8(ascii: "\\") else { position += 1; continue }
            flush()
            position += 1
            guard let e = current else { throw fail("unterminated string") }
            position += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v) {
                    guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(v) else { throw fail("unpaired surrogate in \\u escape") }
                scalars.append(scalar)
            default:
                throw fail("invalid escape")
            }
            runStart = position
        }
    }
}
