import Foundation

/// Reference fixtures live in Tests/Fixtures, beside the script in Scripts/ that made them.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// The real base model, fetched by `make model` (which `make test` runs first), and the
/// package's built command-line tool.
public enum Models {
    public static let root = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
    public static let smolLM2 = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    /// `graft`, built beside the test runner (in the same build folder as the test binary).
    public static let graftBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("graft").path
}
