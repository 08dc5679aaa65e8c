/// Stop strings over streamed text: text is passed on as it comes, except a tail that could be
/// the start of a stop string, which is held back until it either completes one (then the
/// generation ends there, the stop string itself not included, as OpenAI's `stop` does) or can
/// no longer become one.
public struct StopStrings: Sendable {
    public let stops: [String]
    private var held = ""
    public private(set) var stopped = false

    public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The text that is safe to pass on after `piece`; `stopped` turns true when a stop string
    /// appeared (what follows it is dropped).
    public mutating func feed(_ piece: String) -> String {
        guard !stopped else { return "" }
        guard !stops.isEmpty else { return piece }
        let text = held + piece
        var cut: String.Index?
        for stop in stops {
            if let range = text.range(of: stop), cut.map({ range.lowerBound < $0 }) ?? true { cut = range.lowerBound }
        }
        if let cut {
            stopped = true
            held = ""
            return String(text[..<cut])
        }
        // Hold back the longest tail that is a proper prefix of a stop string.
        var keep = 0
        for stop in stops {
            var n = min(stop.count - 1, text.count)
            while n > keep {
                if text.hasSuffix(stop.prefix(n)) { keep = n; break }
                n -= 1
            }
        }
        let split = text.index(text.endIndex, offsetBy: -keep)
        held = String(text[split...])
        return String(text[..<split])
    }

    /// What is still held back, at the end of the generation.
    public mutating func finish() -> String {
        defer { held = "" }
        return stopped ? "" : held
    }
}
