/// A problem with a file Graft reads or writes. Every case names the file, and where it can the
/// field or tensor at fault, so the message alone says what to fix.
public enum FormatError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case invalid(path: String, field: String?, reason: String)
    case missing(path: String, name: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .invalid(path, field?, reason): return "\(path): \(field): \(reason)"
        case let .invalid(path, nil, reason): return "\(path): \(reason)"
        case let .missing(path, name): return "\(path): no tensor named '\(name)'"
        }
    }
}
