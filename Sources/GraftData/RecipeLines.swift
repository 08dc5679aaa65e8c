/// Where each table and key of a TOML document is written, so that recipe errors can name a
/// line (TOMLKit reports positions for syntax errors only). Handles what recipes use: `[table]`
/// headers and `key = value` lines, comments and blank lines.
struct RecipeLines {
    private(set) var lines: [String: Int] = [:]

    init(source: String) {
        var table = ""
        for (index, raw) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && !line.hasPrefix("[[") {
                guard let close = line.firstIndex(of: "]") else { continue }
                table = String(line[line.index(after: line.startIndex)..<close]).trimmingCharacters(in: .whitespaces)
                if lines[table] == nil { lines[table] = index + 1 }
            } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = line[..<eq].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                let full = table.isEmpty ? key : "\(table).\(key)"
                if lines[full] == nil { lines[full] = index + 1 }
            }
        }
    }

    /// The line of `table.key` (or of the table, or 1 when neither is found).
    func line(_ key: String) -> Int {
        if let l = lines[key] { return l }
        if let dot = key.firstIndex(of: "."), let l = lines[String(key[..<dot])] { return l }
        return 1
    }
}

import Foundation
