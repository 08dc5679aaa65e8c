import Foundation

/// Reference fixtures live in Tests/Fixtures, beside the script in Scripts/ that made them.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// The real base model, fetched by `make model` (which `make test` runs first).
enum Models {
    static let smolLM2 = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
}
