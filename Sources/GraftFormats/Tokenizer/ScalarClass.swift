/// The character classes llama.cpp's pre-tokenizer regexes test (`\p{L}`, `\p{N}`, `\s`, `\p{P}`),
/// for one code point. llama.cpp takes them from tables generated from the Unicode database
/// (src/unicode-data.cpp): `\p{L}` and `\p{N}` are the general categories L* and N*, `\s` is the
/// White_Space property (25 code points: tab to carriage return, space, U+0085, U+00A0, U+1680,
/// U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). Swift's Unicode properties give the
/// same sets once code points assigned after llama.cpp's Unicode version are treated as unassigned
/// (checked against llama.cpp's table for every code point).
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// The Unicode version of llama.cpp's src/unicode-data.cpp (its newest assignments are 15.1's);
    /// later code points are unassigned there, so none of their classes apply.
    static let llamaCppUnicodeVersion: Unicode.Version = (major: 15, minor: 1)

    static let letter = ScalarClass(rawValue: 1 << 0)
    static let number = ScalarClass(rawValue: 1 << 1)
    static let whitespace = ScalarClass(rawValue: 1 << 2)
    static let punctuation = ScalarClass(rawValue: 1 << 3)

    /// The classes of one code point; ASCII comes from a table, the rest from the general category.
    static func of(_ scalar: UInt32) -> ScalarClass {
        if scalar < 0x80 { return ascii[Int(scalar)] }
        guard let s = Unicode.Scalar(scalar) else { return [] }
        let properties = s.properties
        guard let age = properties.age, age <= llamaCppUnicodeVersion else { return [] }
        var result: ScalarClass = properties.isWhitespace ? .whitespace : []
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            result.insert(.punctuation)
        default:
            break
        }
        return result
    }

    private static let ascii: [ScalarClass] = (0..<128).map { value in
        let c = UInt8(value)
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case 0x09...0x0D, 0x20: return .whitespace
        default:
            // ASCII punctuation (general category P*): !"#%&'()*,-./:;?@[\]_{}
            return Array(##"!"#%&'()*,-./:;?@[\]_{}"##.utf8).contains(c) ? .punctuation : []
        }
    }
}

/// Code points with their classes: what the pre-tokenizer regexes look at.
struct ClassifiedText {
    let scalars: [UInt32]
    let classes: [ScalarClass]

    init(scalars: [UInt32]) {
        self.scalars = scalars
        self.classes = scalars.map(ScalarClass.of)
    }
}
