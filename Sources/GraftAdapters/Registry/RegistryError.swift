/// A problem with the adapter registry or a reference into it. Every case names what it is
/// about: the reference, the registry file, or the blob.
public enum RegistryError: Error, Equatable, CustomStringConvertible {
    /// A reference that does not parse (`NAME[@VERSION|@TAG][:SCALE]`).
    case badReference(String, reason: String)
    /// A name or tag with characters outside `A-Z a-z 0-9 . _ -`, or too long.
    case badName(String, reason: String)
    case notFound(String)
    /// A file of the registry that cannot be read, written or decoded.
    case io(path: String, reason: String)
    /// A blob whose bytes no longer hash to its name (truncated, altered).
    case corrupt(path: String, expected: String, found: String)
    /// `rm` of a version a tag points at, without force.
    case tagged(String, tags: [String])

    public var description: String {
        switch self {
        case let .badReference(ref, reason): "adapter reference '\(ref)': \(reason)"
        case let .badName(name, reason): "'\(name)': \(reason)"
        case let .notFound(ref): "no adapter '\(ref)' in the registry"
        case let .io(path, reason): "\(path): \(reason)"
        case let .corrupt(path, expected, found):
            "\(path): the blob is damaged: its bytes hash to \(found.prefix(12))…, not \(expected.prefix(12))… (truncated or altered)"
        case let .tagged(ref, tags): "\(ref) is tagged \(tags.joined(separator: ", ")); remove the tags first or force it"
        }
    }
}
