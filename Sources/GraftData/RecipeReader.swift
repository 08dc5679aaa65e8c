import GraftTensor
import TOMLKit

/// Typed access to a parsed TOML table with errors that name the key and its line.
struct RecipeReader {
    let table: TOMLTable
    let lines: RecipeLines
    let path: String

    func checkTables(_ known: [String]) throws(RecipeError) {
        for key in table.keys where !known.contains(key) {
            guard table[key]?.table != nil else {
                throw .unknownKey(path: path, key: key, line: lines.line(key), known: known.map { "[\($0)]" })
            }
            throw .unknownTable(path: path, table: key, line: lines.line(key))
        }
        for key in table.keys where table[key]?.table == nil {
            throw .wrongType(path: path, key: key, line: lines.line(key), expected: "a table", found: describe(table[key]!))
        }
    }

    func checkKeys(_ section: String, _ known: [String]) throws(RecipeError) {
        guard let t = table[section]?.table else { return }
        for key in t.keys where !known.contains(key) {
            throw .unknownKey(path: path, key: "\(section).\(key)", line: lines.line("\(section).\(key)"), known: known)
        }
    }

    func value(_ key: String) -> TOMLValueConvertible? {
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        return table[parts[0]]?.table?[parts[1]]
    }

    func optional<T>(_ key: String, _ read: (String, TOMLValueConvertible) throws(RecipeError) -> T) throws(RecipeError) -> T? {
        guard let v = value(key) else { return nil }
        return try read(key, v)
    }

    func required<T>(_ key: String, _ read: (String, TOMLValueConvertible) throws(RecipeError) -> T) throws(RecipeError) -> T {
        guard let v = value(key) else { throw .missing(path: path, key: key) }
        return try read(key, v)
    }

    func string(_ key: String, _ v: TOMLValueConvertible) throws(RecipeError) -> String {
        guard let s = v.string else { throw wrong(key, "a string", v) }
        return s
    }

    func int(_ key: String, _ v: TOMLValueConvertible) throws(RecipeError) -> Int {
        guard v.type == .int, let i = v.int else { throw wrong(key, "an integer", v) }
        return i
    }

    /// A float; integers are accepted (`alpha = 16`).
    func number(_ key: String, _ v: TOMLValueConvertible) throws(RecipeError) -> Double {
        if v.type == .double, let d = v.double { return d }
        if v.type == .int, let i = v.int { return Double(i) }
        throw wrong(key, "a number", v)
    }

    func bool(_ key: String, _ v: TOMLValueConvertible) throws(RecipeError) -> Bool {
        guard let b = v.bool, v.type == .bool else { throw wrong(key, "true or false", v) }
        return b
    }

    /// `train.recompute`: true (full), false (none), or one of the names of `Recomputation`.
    func recomputation(_ key: String, _ v: TOMLValueConvertible) throws(RecipeError) -> Recomputation {
        if v.type == .bool, let b = v.bool { return b ? .full : .none }
        guard v.type == .string, let s = v.string else { throw wrong(key, "true, false, \"selective\" or \"full\"", v) }
        return try choice(key, s, Recomputation.self)
    }

    func stringOrStrings(_ key: String, _ v: TOMLValueConvertible) throws(RecipeError) -> [String] {
        if let s = v.string, v.type == .string { return [s] }
        guard let array = v.array else { throw wrong(key, "a string or an array of strings", v) }
        var out: [String] = []
        for element in array {
            guard let s = element.string else { throw wrong(key, "an array of strings", element) }
            out.append(s)
        }
        return out
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ s: String, _: E.Type) throws(RecipeError) -> E
    where E.RawValue == String {
        guard let e = E(rawValue: s) else {
            throw range(key, "must be one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), found \"\(s)\"")
        }
        return e
    }

    func range(_ key: String, _ reason: String) -> RecipeError {
        .outOfRange(path: path, key: key, line: lines.line(key), reason: reason)
    }

    private func wrong(_ key: String, _ expected: String, _ v: TOMLValueConvertible) -> RecipeError {
        .wrongType(path: path, key: key, line: lines.line(key), expected: expected, found: describe(v))
    }

    private func describe(_ v: TOMLValueConvertible) -> String {
        switch v.type {
        case .string: "a string (\"\(v.string ?? "")\")"
        case .int: "an integer (\(v.int ?? 0))"
        case .double: "a number (\(v.double ?? 0))"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        default: "a \(v.type)"
        }
    }
}
