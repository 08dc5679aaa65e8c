import Foundation
import GraftFormats

/// The fields of a JSON request body, read one at a time with the checks OpenAI's API states:
/// a missing required field, a wrong type or a value out of range is an `APIError` naming the
/// field (`param`), never a crash or a silently ignored value.
struct RequestFields {
    let object: [String: JSONValue]
    /// Where this object sits in the body (`adapters[0]`), so errors name the full path.
    let prefix: String

    func name(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    init(_ body: Data) throws(APIError) {
        guard !body.isEmpty else { throw .invalid(nil, "The request has no body; send a JSON object") }
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: body) } catch {
            throw .invalid(nil, "The body is not valid JSON: \(Self.describe(error))", code: "invalid_json")
        }
        guard case .object(let object) = value else { throw .invalid(nil, "The body must be a JSON object, found \(value.kind)") }
        self.object = object
        prefix = ""
    }

    static func describe(_ error: Error) -> String {
        if case let DecodingError.dataCorrupted(context) = error {
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        }
        return "\(error)"
    }

    /// The value of `key`, nil when absent or null.
    subscript(key: String) -> JSONValue? {
        if case .null? = object[key] { return nil }
        return object[key]
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw .invalid(name(key), "'\(name(key))' must be a string, found \(v.kind)") }
        return s
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let s = try string(key) else { throw .invalid(name(key), "'\(name(key))' is required") }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = self[key] else { return nil }
        guard case .bool(let b) = v else { throw .invalid(name(key), "'\(name(key))' must be a boolean, found \(v.kind)") }
        return b
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let v = self[key] else { return nil }
        let i: Int
        switch v {
        case .int(let n): i = n
        case .number(let d) where d.rounded() == d && abs(d) < 9e15: i = Int(d)
        default: throw .invalid(name(key), "'\(name(key))' must be an integer, found \(v.kind)")
        }
        guard range.contains(i) else { throw .invalid(name(key), "'\(name(key))' must be in \(range.lowerBound)...\(range.upperBound), found \(i)") }
        return i
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.double, d.isFinite else { throw .invalid(name(key), "'\(name(key))' must be a number, found \(v.kind)") }
        guard range.contains(d) else { throw .invalid(name(key), "'\(name(key))' must be in \(range.lowerBound)...\(range.upperBound), found \(d)") }
        return d
    }

    /// A string or an array of strings (OpenAI's `stop`).
    func strings(_ key: String, maxCount: Int) throws(APIError) -> [String] {
        guard let v = self[key] else { return [] }
        switch v {
        case .string(let s): return s.isEmpty ? [] : [s]
        case .array(let items):
            guard items.count <= maxCount else { throw .invalid(name(key), "'\(name(key))' takes at most \(maxCount) strings, found \(items.count)") }
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else { throw .invalid(name(key), "'\(name(key))[\(i)]' must be a string, found \(item.kind)") }
                if !s.isEmpty { out.append(s) }
            }
            return out
        default: throw .invalid(name(key), "'\(name(key))' must be a string or an array of strings, found \(v.kind)")
        }
    }

    /// An object's fields (`stream_options`), checked for type.
    func object(_ key: String) throws(APIError) -> RequestFields? {
        guard let v = self[key] else { return nil }
        guard case .object(let o) = v else { throw .invalid(name(key), "'\(name(key))' must be an object, found \(v.kind)") }
        return RequestFields(object: o, prefix: name(key))
    }

    init(object: [String: JSONValue], prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }
}
