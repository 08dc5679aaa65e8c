/// Where an adapter comes from, as a user writes it: `NAME` (the newest version), `NAME@VERSION`,
/// `NAME@TAG`, each optionally followed by `:SCALE` (`sql`, `sql@3`, `sql@prod:0.5`), or a folder
/// path (anything with a `/`, or starting with `.` or `~`), also with an optional `:SCALE`.
public struct AdapterReference: Equatable, Sendable, CustomStringConvertible {
    public enum Selector: Equatable, Sendable {
        case newest
        case version(Int)
        case tag(String)
    }

    public enum Source: Equatable, Sendable {
        case registry(name: String, selector: Selector)
        case folder(String)
    }

    public var source: Source
    /// The multiplier of the adapter's update (1 when not given).
    public var scale: Float

    public init(source: Source, scale: Float = 1) {
        self.source = source
        self.scale = scale
    }

    public init(parsing text: String) throws(RegistryError) {
        var body = Substring(text)
        scale = 1
        if let colon = body.lastIndex(of: ":") {
            let suffix = body[body.index(after: colon)...]
            guard let value = Float(suffix), value.isFinite else {
                throw .badReference(text, reason: "the scale after ':' must be a finite number, found '\(suffix)'")
            }
            scale = value
            body = body[..<colon]
        }
        guard !body.isEmpty else { throw .badReference(text, reason: "no name or folder before the scale") }
        if body.contains("/") || body.hasPrefix(".") || body.hasPrefix("~") {
            source = .folder(String(body))
            return
        }
        let parts = body.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        try Self.checkName(name)
        guard parts.count == 2 else {
            source = .registry(name: name, selector: .newest)
            return
        }
        let selector = String(parts[1])
        guard !selector.isEmpty else { throw .badReference(text, reason: "nothing after '@' (a version number or a tag)") }
        if selector.allSatisfy(\.isASCIIDigit) {
            guard let version = Int(selector), version >= 1 else {
                throw .badReference(text, reason: "versions are numbered from 1, found '\(selector)'")
            }
            source = .registry(name: name, selector: .version(version))
        } else {
            try Self.checkName(selector)
            source = .registry(name: name, selector: .tag(selector))
        }
    }

    public var description: String {
        let scaled = scale == 1 ? "" : ":\(scale)"
        switch source {
        case let .folder(path): return path + scaled
        case let .registry(name, .newest): return name + scaled
        case let .registry(name, .version(v)): return "\(name)@\(v)" + scaled
        case let .registry(name, .tag(t)): return "\(name)@\(t)" + scaled
        }
    }

    /// Names and tags: 1–64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit (they
    /// become file names in the registry). A tag may not be all digits: that is a version.
    public static func checkName(_ name: String) throws(RegistryError) {
        guard !name.isEmpty, name.count <= 64 else { throw .badName(name, reason: "must be 1 to 64 characters") }
        guard let first = name.unicodeScalars.first, first.isASCIIAlphanumeric else {
            throw .badName(name, reason: "must start with a letter or digit")
        }
        guard name.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "." || $0 == "_" || $0 == "-" }) else {
            throw .badName(name, reason: "may hold only letters, digits, '.', '_' and '-'")
        }
    }

    static func checkTag(_ tag: String) throws(RegistryError) {
        try checkName(tag)
        guard !tag.allSatisfy(\.isASCIIDigit) else { throw .badName(tag, reason: "a tag may not be a number (that is a version)") }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}
