/// What is wrong with a recipe, naming the file, the key and its line.
public enum RecipeError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case syntax(path: String, line: Int, column: Int, reason: String)
    case unknownTable(path: String, table: String, line: Int)
    case unknownKey(path: String, key: String, line: Int, known: [String])
    case wrongType(path: String, key: String, line: Int, expected: String, found: String)
    case outOfRange(path: String, key: String, line: Int, reason: String)
    case missing(path: String, key: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot read the recipe: \(reason)"
        case .syntax(let path, let line, let column, let reason): "\(path):\(line):\(column): TOML syntax error: \(reason)"
        case .unknownTable(let path, let table, let line): "\(path):\(line): unknown table [\(table)]"
        case .unknownKey(let path, let key, let line, let known):
            "\(path):\(line): unknown key '\(key)' (known here: \(known.joined(separator: ", ")))"
        case .wrongType(let path, let key, let line, let expected, let found):
            "\(path):\(line): '\(key)' must be \(expected), found \(found)"
        case .outOfRange(let path, let key, let line, let reason): "\(path):\(line): '\(key)' \(reason)"
        case .missing(let path, let key): "\(path): required key '\(key)' is missing"
        }
    }
}
